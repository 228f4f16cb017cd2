import { describe, expect, it } from 'vitest';
import { bisect, describeAnswer, reasonsByItem, reasonsForItem } from '../../connector/delivery/splitter.js';

const zod = (issues: unknown[]) => ({ name: 'ZodError', issues });

describe('reasonsByItem', () => {
  it('names exactly the items whose index starts an issue path, with the path inside the item', () => {
    const body = zod([
      { code: 'invalid_type', path: [3, 'account', 'addresses', 0, 'zip'], message: 'Required' },
      { code: 'invalid_type', path: [3, 'subject'], message: 'Expected string' },
      { code: 'invalid_enum_value', path: [7, 'direction'], message: "Invalid enum value. Expected 'INBOUND' | 'OUTBOUND'" },
    ]);
    const named = reasonsByItem(422, body, 10)!;
    expect([...named.keys()].sort()).toEqual([3, 7]);
    expect(named.get(3)).toEqual(['account.addresses.0.zip: Required (422)', 'subject: Expected string (422)']);
    expect(named.get(7)).toEqual(["direction: Invalid enum value. Expected 'INBOUND' | 'OUTBOUND' (422)"]);
  });

  it('accepts indexes written as strings and issues nested under "error"', () => {
    const named = reasonsByItem(422, { error: zod([{ code: 'x', path: ['2', 'name'], message: 'bad' }]) }, 4)!;
    expect([...named.entries()]).toEqual([[2, ['name: bad (422)']]]);
  });

  it('gives up (bisect) when the answer does not say which items', () => {
    expect(reasonsByItem(400, { error: 'Invalid JSON body' }, 4)).toBeUndefined();
    expect(reasonsByItem(422, zod([]), 4)).toBeUndefined();
    expect(reasonsByItem(422, zod([{ code: 'x', path: [], message: 'Expected array' }]), 4)).toBeUndefined();
    expect(reasonsByItem(422, zod([{ code: 'x', path: ['subject'], message: 'bad' }]), 4)).toBeUndefined();
    expect(reasonsByItem(422, zod([{ code: 'x', path: [9, 'subject'], message: 'bad' }]), 4)).toBeUndefined();
    expect(reasonsByItem(422, 'plain text', 4)).toBeUndefined();
    expect(reasonsByItem(422, undefined, 4)).toBeUndefined();
    // One unnamed issue among named ones: not every bad item is known.
    expect(reasonsByItem(422, zod([{ code: 'x', path: [1], message: 'a' }, { code: 'x', path: [], message: 'b' }]), 4)).toBeUndefined();
  });
});

describe('reasonsForItem', () => {
  it('drops the index of batch answers and keeps single-endpoint paths', () => {
    const batch = zod([{ code: 'invalid_type', path: [0, 'account', 'addresses', 0, 'zip'], message: 'Required' }]);
    expect(reasonsForItem(422, batch, true)).toEqual(['account.addresses.0.zip: Required (422)']);
    const single = zod([{ code: 'invalid_type', path: ['account', 'addresses', 0, 'zip'], message: 'Required' }]);
    expect(reasonsForItem(422, single, false)).toEqual(['account.addresses.0.zip: Required (422)']);
  });

  it("uses Siro's error text otherwise", () => {
    expect(reasonsForItem(400, { error: 'Invalid JSON body' }, true)).toEqual(['Invalid JSON body (400)']);
    expect(reasonsForItem(400, 'Bad Request', true)).toEqual(['Bad Request (400)']);
    expect(reasonsForItem(413, undefined, true)).toEqual(['HTTP 413']);
    expect(describeAnswer(500, { error: 'Internal server error' })).toBe('Internal server error (500)');
  });
});

describe('bisect', () => {
  it('splits into two halves that keep every item once, in order', () => {
    expect(bisect([1, 2, 3, 4, 5])).toEqual([[1, 2, 3], [4, 5]]);
    expect(bisect([1, 2])).toEqual([[1], [2]]);
    expect(bisect([1])).toEqual([[1], []]);
  });
});
