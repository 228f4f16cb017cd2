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

  it('rejects malformed JSON like JSON.parse does', () => {
    expect(() => parseExact('{"id":12345678901234567890,')).toThrow();
    expect(() => parseExact('{"id": 1,')).toThrow();
  });
});
