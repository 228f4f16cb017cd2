import type { KnownRow } from './store.js';

/**
 * The change decision: what delivery does with one mapped payload, given what the ledger knows of its
 * externalId. Pure, so the ledger sink (which acts on it) and `preview` (which only shows it) cannot drift.
 *
 * | ledger | same payload as held¹, skip_unchanged, no open write | deletedAt set | row soft-deleted | held¹   | action     |
 * | ------ | ---------------------------------------------------- | ------------- | ---------------- | ------- | ---------- |
 * | no     | –                                                    | yes           | –                | –       | delete     |
 * | no     | –                                                    | no            | –                | –       | upsert     |
 * | yes    | yes                                                  | –             | –                | –       | unchanged  |
 * | yes    | no                                                   | yes           | –                | –       | delete     |
 * | yes    | no                                                   | no            | yes²             | –       | resurrect  |
 * | yes    | no                                                   | no            | no               | none    | create     |
 * | yes    | no                                                   | no            | no               | some    | update     |
 *
 * ¹ held: the fingerprint of an earlier payload of this id in this run when one is given (preview: nothing is
 *   written, so the ledger does not know it yet), else the one the ledger says Siro acknowledged.
 * ² and no earlier payload of this id in this run (that one already brought it back).
 */

export type ChangeAction = 'unchanged' | 'create' | 'update' | 'delete' | 'resurrect' | 'upsert';

export interface ChangeInput {
  payload: Record<string, unknown>;
  /** The payload's fingerprint (ledger/fingerprint.ts). */
  fingerprint: string;
  /** The ledger's row for this object and externalId; undefined when it has none. */
  known: KnownRow | undefined;
  /**
   * A write of this id sent earlier in this run has no answer in the ledger yet: what Siro will hold is not
   * known, so the payload is sent even when it matches the ledger.
   */
  openWrite: boolean;
  /** Fingerprint of an earlier payload of this id in this run that the ledger does not know of (preview). */
  earlierFingerprint?: string;
  skipUnchanged: boolean;
  /** False when the run keeps no ledger: nothing tells a create from an update. */
  ledger: boolean;
}

export type ChangeDecision =
  | {
      action: 'unchanged';
      note: string;
      /** The ledger lists a refusal of another payload; Siro holds this one, so the refusal no longer matters. */
      clearsRejection: boolean;
    }
  | {
      action: Exclude<ChangeAction, 'unchanged'>;
      /** What to send: the payload itself, or for `resurrect` one that says `deletedAt: null` explicitly. */
      payload: Record<string, unknown>;
      note?: string;
    };

export function decideChange(input: ChangeInput): ChangeDecision {
  const { payload, fingerprint, known, earlierFingerprint } = input;
  const isDelete = typeof payload.deletedAt === 'string' && payload.deletedAt !== '';
  if (!input.ledger) return { action: isDelete ? 'delete' : 'upsert', payload };

  // A row the target soft-deleted holds the fingerprint of its delete payload, so it never matches a mapped
  // payload; one the mapping itself marked deleted (deletedAt) does, and is not sent again.
  const held = earlierFingerprint ?? known?.fingerprint ?? null;
  if (held === fingerprint && input.skipUnchanged && !input.openWrite) {
    return {
      action: 'unchanged',
      note: earlierFingerprint !== undefined ? 'same payload as an earlier record of this preview' : 'Siro already holds this payload: it is not sent',
      clearsRejection: known?.rejected ?? false,
    };
  }
  if (isDelete) return { action: 'delete', payload, note: 'deletedAt is set: Siro soft-deletes the object' };
  if (known?.deleted && earlierFingerprint === undefined) {
    // Say so explicitly: an upsert without deletedAt may keep the object deleted. The ledger keeps the mapped
    // payload's fingerprint, so the next run finds the row unchanged.
    return {
      action: 'resurrect',
      payload: 'deletedAt' in payload ? payload : { ...payload, deletedAt: null },
      note: 'the target soft-deleted this row earlier: this brings it back',
    };
  }
  if (held === null) return { action: 'create', payload, note: known?.rejected ? 'Siro refused an earlier payload of this row' : undefined };
  if (held !== fingerprint) return { action: 'update', payload };
  return {
    action: 'update',
    payload,
    note: input.skipUnchanged ? 'a write of this row earlier in this run is not answered yet: sent again' : 'unchanged, but skip_unchanged is off: sent again',
  };
}
