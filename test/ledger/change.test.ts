import { describe, expect, it } from 'vitest';
import { decideChange, type ChangeInput } from '../../connector/ledger/change.js';

/** The change decision's table (connector/ledger/change.ts), row by row. */

const payload = { externalId: 'e1', subject: 'Call' };
const base: ChangeInput = { payload, fingerprint: 'fp-new', known: undefined, openWrite: false, skipUnchanged: true, ledger: true };
const row = (fingerprint: string | null, more: { rejected?: boolean; deleted?: boolean } = {}) => ({ fingerprint, rejected: false, deleted: false, ...more });

describe('decideChange', () => {
  it('without a ledger: upsert, or delete when deletedAt is set', () => {
    expect(decideChange({ ...base, ledger: false })).toEqual({ action: 'upsert', payload });
    const deleting = { ...payload, deletedAt: '2024-01-01T00:00:00Z' };
    expect(decideChange({ ...base, ledger: false, payload: deleting })).toMatchObject({ action: 'delete', payload: deleting });
  });

  it('unchanged when Siro holds the payload, unless a write of the id is open or skip_unchanged is off', () => {
    expect(decideChange({ ...base, known: row('fp-new', { rejected: true }) })).toEqual({
      action: 'unchanged',
      note: 'Siro already holds this payload: it is not sent',
      clearsRejection: true,
    });
    expect(decideChange({ ...base, known: row('fp-new'), openWrite: true })).toMatchObject({ action: 'update' });
    expect(decideChange({ ...base, known: row('fp-new'), skipUnchanged: false })).toMatchObject({
      action: 'update',
      note: 'unchanged, but skip_unchanged is off: sent again',
    });
    // An earlier payload of this run (preview) stands for what the ledger will hold.
    expect(decideChange({ ...base, known: row('fp-old'), earlierFingerprint: 'fp-new' })).toMatchObject({
      action: 'unchanged',
      note: 'same payload as an earlier record of this preview',
    });
  });

  it('create, update, delete', () => {
    expect(decideChange(base)).toEqual({ action: 'create', payload, note: undefined });
    expect(decideChange({ ...base, known: row(null, { rejected: true }) })).toMatchObject({ action: 'create', note: 'Siro refused an earlier payload of this row' });
    expect(decideChange({ ...base, known: row('fp-old') })).toEqual({ action: 'update', payload });
    const deleting = { ...payload, deletedAt: '2024-01-01T00:00:00Z' };
    expect(decideChange({ ...base, payload: deleting, known: row('fp-old') })).toMatchObject({ action: 'delete', payload: deleting });
  });

  it('resurrects a row the target soft-deleted, saying deletedAt: null when the payload does not', () => {
    const decision = decideChange({ ...base, known: row('fp-delete', { deleted: true }) });
    expect(decision).toMatchObject({ action: 'resurrect', payload: { ...payload, deletedAt: null } });
    const explicit = { ...payload, deletedAt: null };
    expect(decideChange({ ...base, payload: explicit, known: row('fp-delete', { deleted: true }) })).toMatchObject({ action: 'resurrect', payload: explicit });
    // Once an earlier record of the run brought it back, a later one is a plain update.
    expect(decideChange({ ...base, known: row('fp-delete', { deleted: true }), earlierFingerprint: 'fp-other' })).toEqual({ action: 'update', payload });
  });
});
