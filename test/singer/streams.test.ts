import { describe, expect, it } from 'vitest';
import { InputError } from '../../connector/core/errors.js';
import type { SchemaMessage } from '../../connector/singer/messages.js';
import { StreamRegistry } from '../../connector/singer/streams.js';

const schemaMsg = (schema: Record<string, unknown>, key_properties = ['id']): SchemaMessage => ({
  type: 'SCHEMA',
  stream: 's',
  schema,
  key_properties,
});

describe('stream registry', () => {
  it('validates records and names every violation', () => {
    const reg = new StreamRegistry(true);
    const s = reg.register(schemaMsg({ type: 'object', required: ['id', 'name'], properties: { id: { type: 'integer' }, n: { type: 'number' } } }), 1);
    expect(s.validate({ id: 1, name: 'x', n: 2.5 })).toEqual([]);
    const v = s.validate({ id: 'x', n: 'y' });
    expect(v).toHaveLength(3);
    expect(v.join('\n')).toMatch(/field "name" is required/);
    expect(v.join('\n')).toMatch(/field "id" must be integer/);
  });

  it('accepts what tap-postgres sends: draft-04 booleans, $ref into definitions, multipleOf 0.01', () => {
    const reg = new StreamRegistry(true);
    const s = reg.register(
      schemaMsg({
        $schema: 'http://json-schema.org/draft-04/schema#',
        type: 'object',
        definitions: { sdc_recursive_integer_array: { type: ['null', 'integer', 'array'], items: { $ref: '#/definitions/sdc_recursive_integer_array' } } },
        properties: {
          id: { type: ['integer'], minimum: -9223372036854775808n, maximum: 9223372036854775807n },
          amount: { type: ['null', 'number'], exclusiveMaximum: true, maximum: 100000000000000, multipleOf: 0.01, exclusiveMinimum: true, minimum: -100000000000000 },
          ints: { $ref: '#/definitions/sdc_recursive_integer_array' },
          started_at: { type: ['null', 'string'], format: 'date-time' },
          meta: { type: ['null', 'string'] },
        },
      } as Record<string, unknown>),
      1,
    );
    expect(s.validate({ id: 9223372036854775807n, amount: 1234.57, ints: [1, [2, 3]], started_at: '2026-03-04T14:00:00.123456+00:00', meta: '{"a":1}' })).toEqual([]);
    expect(s.validate({ id: 1, amount: 19.99 })).toEqual([]);
    expect(s.validate({ id: 1, amount: 100000000000000 })).not.toEqual([]);
  });

  it('checks patterns in linear time, and never misreads a Unicode pattern (unchecked, and said so, instead)', () => {
    const unchecked: string[] = [];
    const reg = new StreamRegistry(true, (_stream, patterns) => unchecked.push(...patterns));
    const s = reg.register(schemaMsg({ type: 'object', properties: { a: { type: 'string', pattern: '(a+)+$' }, n: { type: 'string', pattern: '^\\p{L}+$' } } }), 1);
    const started = performance.now();
    // The backtracking engine took minutes on this one; it does not match (no a's at the end).
    expect(s.validate({ a: `${'a'.repeat(41)}b` })).not.toEqual([]);
    expect(s.validate({ a: 'xaa' })).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1000);
    // Accepted: the Unicode pattern is either checked with its meaning, or not checked at all (with a warning).
    expect(s.validate({ n: 'José' })).toEqual([]);
    if (s.validate({ n: '123' }).length === 0) expect(unchecked).toContain('^\\p{L}+$');
  });

  it('a later SCHEMA replaces the earlier one', () => {
    const reg = new StreamRegistry(true);
    reg.register(schemaMsg({ type: 'object', properties: { a: { type: 'string' } } }), 1);
    expect(reg.get('s')!.validate({ a: 1 })).not.toEqual([]);
    reg.register(schemaMsg({ type: 'object', properties: { a: { type: 'integer' } } }, ['a']), 5);
    expect(reg.get('s')!.validate({ a: 1 })).toEqual([]);
    expect(reg.get('s')!.keyProperties).toEqual(['a']);
  });

  it('does nothing when record validation is off', () => {
    const reg = new StreamRegistry(false);
    const s = reg.register(schemaMsg({ type: 'object', required: ['id'] }), 1);
    expect(s.validate({})).toEqual([]);
  });

  it('reports an unusable schema as an input error naming line and stream', () => {
    const reg = new StreamRegistry(true);
    expect(() => reg.register(schemaMsg({ type: 'object', properties: { a: { $ref: '#/definitions/missing' } } }), 7)).toThrow(InputError);
    expect(() => reg.register(schemaMsg({ type: 'object', properties: { a: { $ref: '#/definitions/missing' } } }), 7)).toThrow(/input line 7 \(stream "s"\)/);
  });
});
