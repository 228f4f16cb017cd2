import type { SiroObject } from '../siro/objects.js';

/**
 * The seam between the pipeline (read, validate, map) and delivery. A dry run and real delivery to Siro
 * are two sinks behind this interface; the checkpointer only ever sees outcomes.
 */

export interface OutboundItem {
  /**
   * Sequence number of the RECORD in the input (1-based, increasing): the checkpointer's unit. Items the
   * target makes itself (soft deletes, retries of earlier rejects) carry 0: no state waits for them.
   */
  seq: number;
  /** Input line of the RECORD, for messages and the rejects file. */
  line: number;
  stream: string;
  /** The record's key_properties values, for messages (e.g. `id=42`). */
  key: string;
  object: SiroObject;
  externalId: string;
  payload: Record<string, unknown>;
  /** The payload's JSON text when a stage already made it (the ledger, for its fingerprint): sinks reuse it. */
  json?: string;
  /** Why the item exists: a RECORD (default), a soft delete the target made, or a retry of an earlier reject. */
  origin?: 'record' | 'delete' | 'retry';
  /**
   * What the ledger keeps of an item it sends, until its outcome is recorded (ledger/ledger-sink.ts). On the
   * item rather than in a WeakMap: weak tables cost a lookup per outcome and slow every garbage collection.
   */
  sent?: { fingerprint: string; pass: string; open: boolean };
}

export type Outcome =
  | { kind: 'acked'; item: OutboundItem; siroId?: string }
  | { kind: 'rejected'; item: OutboundItem; reasons: string[]; status?: number }
  /** Not sent: Siro already holds this exact payload (the ledger's change detection). */
  | { kind: 'unchanged'; item: OutboundItem };

/** Called once per pushed item, in no particular order. Must not throw. */
export type OutcomeHandler = (outcome: Outcome) => void;

/** A RECORD the target refused before delivery, as the ledger keeps it (so a mapping fix can send it). */
export interface UnsentRecord {
  stream: string;
  /** Known when the mapping got as far as the externalId. */
  externalId?: string;
  /** The Siro object the stream's mapping builds. */
  object?: SiroObject;
  reasons: string[];
  stage: 'input' | 'schema' | 'mapping';
  record?: Record<string, unknown>;
}

export interface DeliveryStats {
  requests: number;
  retries: number;
  throttled: number; // 429 answers
  acked: number;
  rejected: number;
  splits: number;
  /** Request durations in ms, for METRIC lines and latency percentiles. */
  latenciesMs: number[];
}

export interface Sink {
  /**
   * Hand over one item. Returns nothing when there is room for the next at once, else a promise that
   * resolves when there is (backpressure); a fatal API error rejects it (or throws).
   */
  push(item: OutboundItem): void | Promise<void>;
  /** Resolves once every pushed item has an outcome; rejects on a fatal API error. */
  drain(): Promise<void>;
  /**
   * Stop: send nothing new, let requests in flight finish for up to `graceMs`, then give up on them.
   * Items that got no outcome are simply never reported (their state is never printed).
   */
  close(graceMs: number): Promise<void>;
  /**
   * Optional: a STATE just arrived, so send (or write) what waits in an open batch now rather than after
   * its linger time, letting the state go out sooner.
   */
  flushPending?(): void;
  /** Optional: an ACTIVATE_VERSION message, in input order (the ledger uses it to find rows gone from a full table). */
  activateVersion?(stream: string, version: number): Promise<void>;
  /** Optional: a RECORD was read but will not be pushed, because the target rejected it before delivery. */
  noteUnsent?(info: UnsentRecord): void;
  stats(): DeliveryStats;
}

export function emptyStats(): DeliveryStats {
  return { requests: 0, retries: 0, throttled: 0, acked: 0, rejected: 0, splits: 0, latenciesMs: [] };
}
