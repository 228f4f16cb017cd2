import { describe, expect, it } from 'vitest';
import { parseExact, stringifyExact } from '../../connector/singer/exact-json.js';

describe('exact JSON', () => {
  it('keeps integers beyond 2^53 exact anywhere in the tree, and leaves everything else to JSON.parse', () => {
    const text =
      '{"a":12345678901234567890,"b":[-98765432109876543210,{"c":18446744073709551615}],"safe":9007199254740991,' +
      '"dec":1.2345678901234567890,"exp":12345678901234567e3,"s":"12345678901234567890","q":"x\\"y 99999999999999999999"}';
    const v = parseExact(text) as Record<string, unknown>;
    expect(v.a).toBe(12345678901234567890n);
    expect(v.b).toEqual([-98765432109876543210n, { c: 18446744073709551615n }]);
    expect(v.safe).toBe(9007199254740991);
    expect(v.dec).toBe(1.2345678901234567);
    expect(v.exp).toBe(12345678901234567e3);
    expect(v.s).toBe('12345678901234567890');
    expect(v.q).toBe('x"y 99999999999999999999');
    expect(stringifyExact(v)).toContain('"a":12345678901234567890');
  });

  it('is not fooled by strings that hold the marker character', () => {
    const v = parseExact('{"id":12345678901234567890,"s":"\\u0001123"}') as Record<string, unknown>;
    expect(v.id).toBe(12345678901234567890n);
    expect(v.s).toBe('\u0001123');
  });

  it('reads the text again exactly only for numbers at or beyond 2^53, wherever they sit', () => {
    expect(parseExact('{"x":9007199254740991,"y":1e15}')).toEqual({ x: 9007199254740991, y: 1e15 });
    expect(parseExact('{"x":-9007199254740993}')).toEqual({ x: -9007199254740993n });
    expect(parseExact('[[[{"deep":[1,2,{"id":9007199254740993}]}]]]')).toEqual([[[{ deep: [1, 2, { id: 9007199254740993n }] }]]]);
    expect(parseExact('{"big":1e400,"n":12345678901234567890.5}')).toEqual({ big: Infinity, n: 12345678901234567890.5 });
    expect(parseExact('9007199254740993')).toBe(9007199254740993n);
    const nested = '['.repeat(200) + '12345678901234567890' + ']'.repeat(200);
    let v = parseExact(nested);
    for (let i = 0; i < 200; i++) v = (v as unknown[])[0];
    expect(v).toBe(12345678901234567890n);
  });

  it('rejects malformed JSON like JSON.parse does', () => {
    expect(() => parseExact('{"id":12345678901234567890,')).toThrow();
    expect(() => parseExact('{"id": 1,')).toThrow();
  });
});
