import { isLosslessNumber } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { isoTimestamp, parseArrayLiteral, postgresBookmarkValue, postgresEncoder } from '../../connector/warehouse/postgres-text.js';
import { columnSchema } from '../../connector/warehouse/type-mapping.js';

describe('postgres text → JSON text', () => {
  it('reformats timestamps to ISO-8601 with six fractional digits and an offset', () => {
    expect(isoTimestamp('2026-03-04 14:00:00.123456+00')).toBe('2026-03-04T14:00:00.123456+00:00');
    expect(isoTimestamp('2026-03-04 14:00:00.1+00')).toBe('2026-03-04T14:00:00.100000+00:00');
    expect(isoTimestamp('2026-03-04 14:00:00+05:30')).toBe('2026-03-04T14:00:00.000000+05:30');
    expect(isoTimestamp('2026-03-04 14:00:00-08')).toBe('2026-03-04T14:00:00.000000-08:00');
    // timestamp without time zone: taken as UTC, like tap-postgres
    expect(isoTimestamp('2026-03-04 14:00:00.000001')).toBe('2026-03-04T14:00:00.000001+00:00');
    expect(isoTimestamp('infinity')).toBe('9999-12-31T23:59:59.999999+00:00');
    expect(isoTimestamp('0044-03-15 12:00:00+00 BC')).toBe('0001-01-01T00:00:00.000000+00:00');
    expect(() => isoTimestamp('yesterday')).toThrow(/unexpected timestamp/);
  });

  it('parses array literals, quoted elements, NULLs and nested dimensions', () => {
    expect(parseArrayLiteral('{}')).toEqual([]);
    expect(parseArrayLiteral('{1,NULL,3}')).toEqual(['1', null, '3']);
    expect(parseArrayLiteral('{"a b","c\\"d","NULL",null,"x\\\\y"}')).toEqual(['a b', 'c"d', 'NULL', null, 'x\\y']);
    expect(parseArrayLiteral('{{1,2},{3,4}}')).toEqual([['1', '2'], ['3', '4']]);
    expect(parseArrayLiteral('[0:1]={7,8}')).toEqual(['7', '8']);
    expect(parseArrayLiteral('{(1,2);(3,4)}', ';')).toEqual(['(1,2)', '(3,4)']);
    expect(() => parseArrayLiteral('{1,2')).toThrow(/unexpected array text/);
    expect(() => parseArrayLiteral('{1}x')).toThrow(/unexpected array text/);
  });

  it('keeps big integers and decimals as their exact digits', () => {
    expect(postgresEncoder({ type: 'bigint' })('9223372036854775807')).toBe('9223372036854775807');
    expect(postgresEncoder({ type: 'decimal' })('12345678901234567.123456789')).toBe('12345678901234567.123456789');
    expect(postgresEncoder({ type: 'decimal' })('NaN')).toBe('null');
    expect(postgresEncoder({ type: 'float' })('-Infinity')).toBe('null');
    expect(postgresEncoder({ type: 'float' })('1e+30')).toBe('1e+30');
  });

  it('encodes booleans, strings, json and arrays of any kind', () => {
    expect(postgresEncoder({ type: 'boolean' })('t')).toBe('true');
    expect(postgresEncoder({ type: 'boolean' })('f')).toBe('false');
    expect(postgresEncoder({ type: 'string' })('say "hi"\n')).toBe('"say \\"hi\\"\\n"');
    // json (not jsonb) keeps its input layout: line breaks between tokens must not split the output line
    expect(postgresEncoder({ type: 'json' })('{"a":\n  [1, 123456789012345678901]\r\n}')).toBe('{"a":   [1, 123456789012345678901] }');
    const tsArray = postgresEncoder({ type: 'array', items: { type: 'timestamptz' } });
    expect(tsArray('{"2026-03-04 14:00:00.5+00",NULL}')).toBe('["2026-03-04T14:00:00.500000+00:00",null]');
    const jsonArray = postgresEncoder({ type: 'array', items: { type: 'json' } });
    expect(JSON.parse(jsonArray('{"{\\"a\\": 1}","[2]"}'))).toEqual([{ a: 1 }, [2]]);
    const bigints = postgresEncoder({ type: 'array', items: { type: 'bigint' } });
    expect(bigints('{{9223372036854775807,1},{NULL,2}}')).toBe('[[9223372036854775807,1],[null,2]]');
  });

  it('gives exact bookmark values', () => {
    const n = postgresBookmarkValue({ type: 'decimal' }, '12345678901234567.123456789');
    expect(isLosslessNumber(n) && n.toString()).toBe('12345678901234567.123456789');
    expect(postgresBookmarkValue({ type: 'timestamp' }, '2026-03-04 14:00:00')).toBe('2026-03-04T14:00:00.000000+00:00');
    expect(postgresBookmarkValue({ type: 'date' }, '2026-03-04')).toBe('2026-03-04');
    // What ISO-8601 would clamp keeps the server's text, so the bookmark compares as the very value.
    expect(postgresBookmarkValue({ type: 'timestamptz' }, '0100-01-01 00:00:00+00 BC')).toBe('0100-01-01 00:00:00+00 BC');
    expect(postgresBookmarkValue({ type: 'timestamp' }, '12000-01-01 00:00:00')).toBe('12000-01-01 00:00:00');
    expect(postgresBookmarkValue({ type: 'date' }, 'infinity')).toBe('infinity');
    expect(postgresBookmarkValue({ type: 'string' }, 'abc')).toBe('abc');
  });
});

describe('JSON Schema of column kinds', () => {
  it('adds null for nullable columns and keeps array items nullable', () => {
    expect(columnSchema({ type: 'bigint' }, false)).toEqual({ type: ['integer'] });
    expect(columnSchema({ type: 'decimal' }, true)).toEqual({ type: ['number', 'null'] });
    expect(columnSchema({ type: 'timestamptz' }, true)).toEqual({ type: ['string', 'null'], format: 'date-time' });
    // NaN and ±Infinity are written as null: numbers may be null even in a NOT NULL column.
    expect(columnSchema({ type: 'float' }, false)).toEqual({ type: ['number', 'null'] });
    // Any Postgres array may have up to 6 dimensions, whatever its declared type.
    const array = columnSchema({ type: 'array', items: { type: 'string' } }, false);
    expect(array.type).toEqual(['array']);
    let items = array.items as Record<string, unknown>;
    for (let depth = 1; depth < 6; depth++) {
      expect(items.type).toEqual(['string', 'null', 'array']);
      items = items.items as Record<string, unknown>;
    }
    expect(items).toEqual({ type: ['string', 'null'] });
    expect(columnSchema({ type: 'json' }, false).type).toContain('null');
  });
});
