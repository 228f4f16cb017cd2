import { describe, expect, it } from 'vitest';
import { payloadOf, reasonsOf, streamOf } from './helpers.js';

describe('null rules', () => {
  it('sends null for nullable fields and leaves out the others', () => {
    // engagement: content and direction are nullable. opportunity: name and amount are not, deletedAt is.
    const e = streamOf(`
      externalId: id
      content: notes
      direction: dir
    `);
    expect(payloadOf(e.map({ id: 1, notes: null, dir: null }))).toEqual({ externalId: '1', content: null, direction: null });
    // A column the record does not carry leaves the field alone (Siro keeps its value).
    expect(payloadOf(e.map({ id: 1, notes: null }))).toEqual({ externalId: '1', content: null });
    const o = streamOf(
      `
      externalId: id
      name: name
      amount: amount
      deletedAt: gone
    `,
      'opportunity',
    );
    expect(payloadOf(o.map({ id: 1, name: null, amount: null, gone: null }))).toEqual({ externalId: '1', deletedAt: null });
    expect(payloadOf(o.map({ id: 1 }))).toEqual({ externalId: '1' });
  });

  it('counts empty and whitespace-only text as null', () => {
    const o = streamOf(
      `
      externalId: id
      name: name
      deletedAt: gone
    `,
      'opportunity',
    );
    for (const blank of ['', '   ', '\t\n', '\u00a0']) {
      expect(payloadOf(o.map({ id: 1, name: blank, gone: blank }))).toEqual({ externalId: '1', deletedAt: null });
    }
    expect(payloadOf(o.map({ id: 1, name: ' x ' })).name).toBe(' x ');
  });

  it('sends { value: null } for a nullable field as null', () => {
    const e = streamOf(`
      externalId: id
      content: { value: null }
    `);
    expect(payloadOf(e.map({ id: 1 }))).toEqual({ externalId: '1', content: null });
  });

  it('leaves out a nullable nested object whose fields are all null (null would unlink it)', () => {
    const e = streamOf(`
      externalId: id
      opportunity:
        externalId: opportunity_id
        amount: amount
      account:
        externalId: account_id
        deletedAt: account_deleted_at
    `);
    expect(payloadOf(e.map({ id: 1 }))).toEqual({ externalId: '1' });
  });

  it('keeps null members of a nested object that has values', () => {
    const e = streamOf(`
      externalId: id
      account:
        externalId: account_id
        deletedAt: account_deleted_at
    `);
    expect(payloadOf(e.map({ id: 1, account_id: 'A', account_deleted_at: null })).account).toEqual({ externalId: 'A', deletedAt: null });
  });

  it('leaves out a nested object missing a required key', () => {
    const e = streamOf(`
      externalId: id
      engagementType:
        name: type_name
        activityType: { column: kind, map: { call: CALL } }
      opportunity:
        externalId: opportunity_id
        amount: amount
    `);
    expect(payloadOf(e.map({ id: 1, type_name: 'Call', amount: 5 }))).toEqual({ externalId: '1' });
    expect(payloadOf(e.map({ id: 1, kind: 'call', opportunity_id: 'o', amount: 5 }))).toEqual({
      externalId: '1',
      opportunity: { externalId: 'o', amount: 5 },
    });
  });

  it('still rejects a bad value inside an object that is left out', () => {
    const e = streamOf(`
      externalId: id
      opportunity:
        externalId: opportunity_id
        amount: amount
    `);
    expect(reasonsOf(e.map({ id: 1, amount: 'n/a' }))).toEqual(['opportunity.amount: value "n/a" of column "amount" is not a number']);
  });

  it('drops addresses missing any of the five keys, and omits lists left empty', () => {
    const e = streamOf(`
      externalId: id
      account:
        externalId: account_id
        addresses:
          - { street: street, city: city, state: state, zip: zip, country: country }
    `);
    const full = { id: 1, account_id: 'A', street: 's', city: 'c', state: 'st', zip: '1', country: 'US' };
    expect(payloadOf(e.map(full)).account).toEqual({
      externalId: 'A',
      addresses: [{ street: 's', city: 'c', state: 'st', zip: '1', country: 'US' }],
    });
    for (const key of ['street', 'city', 'state', 'zip', 'country']) {
      expect([key, payloadOf(e.map({ ...full, [key]: null })).account]).toEqual([key, { externalId: 'A' }]);
    }
  });

  it('rejects a record whose top-level externalId is null, naming the field and the column', () => {
    const e = streamOf(`
      externalId: call_id
      content: notes
    `);
    for (const id of [null, undefined, '', '  ']) {
      const result = e.map({ call_id: id, notes: 'x' });
      expect(reasonsOf(result)).toEqual(['externalId: column "call_id" is null or missing, and Siro requires externalId']);
    }
    const t = streamOf(`
      externalId: { template: "{{ a }}{{ b }}" }
    `);
    expect(reasonsOf(t.map({}))).toEqual(['externalId: template "{{ a }}{{ b }}" is null or missing, and Siro requires externalId']);
  });

  it('uses a default for a null top-level externalId', () => {
    const e = streamOf(`
      externalId: { column: id, default: fallback }
    `);
    expect(e.map({ id: null })).toEqual({ ok: true, externalId: 'fallback', payload: { externalId: 'fallback' } });
  });
});

describe('payload validation', () => {
  it("rejects payloads Siro's schema refuses, naming the path", () => {
    // deletedAt must be an RFC 3339 date-time with an offset; a local date-time has none.
    const e = streamOf(`
      externalId: id
      deletedAt: { column: gone, type: localdatetime }
      account:
        externalId: account_id
        deletedAt: { column: gone, type: date }
    `);
    const result = e.map({ id: 1, gone: '2026-03-04T20:00:00Z', account_id: 'A' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reasons).toEqual(['deletedAt: Invalid date-time', 'account.deletedAt: Invalid date-time']);
    expect(result.payload).toEqual({ externalId: '1', deletedAt: '2026-03-04T20:00:00', account: { externalId: 'A', deletedAt: '2026-03-04' } });
  });

  it('rejects a record that is not an object', () => {
    const e = streamOf(`
      externalId: id
    `);
    expect(reasonsOf(e.map(null as unknown as Record<string, unknown>))).toEqual(['the record is not a JSON object (got null)']);
  });
});
