import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { DryRunSink } from '../../connector/delivery/dry-run-sink.js';
import type { OutboundItem, Outcome, OutcomeHandler, Sink } from '../../connector/delivery/sink.js';
import { createSiroSink } from '../../connector/delivery/siro-sink.js';
import { createLedgerSink, type LedgerSink, type LedgerSinkOptions } from '../../connector/ledger/ledger-sink.js';
import type { LedgerStore } from '../../connector/ledger/store.js';
import type { Sandbox } from '../../connector/sandbox/server.js';
import type { Logger } from '../../connector/core/log.js';

/**
 * Drives a LedgerSink the way the pipeline does (push in input order, ACTIVATE_VERSION where the tap sends
 * it, notes for records refused before delivery, drain at the end), with the real Siro sink against the
 * sandbox (or the dry-run sink) inside it.
 */

/** One input step of a run. */
export type Step =
  | { row: Row }
  | { activate: number; stream?: string }
  | { unsent: { externalId?: string; reasons?: string[]; stream?: string } }
  | { state: true };

export interface Row {
  id: string;
  subject?: string;
  /** Extra payload members (e.g. an invalid `direction`, to be refused by Siro with 422). */
  extra?: Record<string, unknown>;
  stream?: string;
}

export interface RunResult {
  runId: string;
  outcomes: Outcome[];
  sink: LedgerSink;
  logs: { level: number; msg: string; [k: string]: unknown }[];
  /** Outcomes by kind and origin, e.g. { 'acked:record': 3, 'unchanged:record': 7, 'acked:delete': 1 }. */
  tally: Record<string, number>;
  error?: Error;
}

export interface RunOptions extends Partial<Omit<LedgerSinkOptions, 'store' | 'onOutcome' | 'log'>> {
  store: LedgerStore;
  sandbox?: Sandbox;
  /** Dry run: payload lines go to this file. */
  dryRunOutput?: string;
  /** Called synchronously with each outcome the pipeline receives. */
  onOutcome?: (o: Outcome) => void;
}

export function payloadOf(row: Row): Record<string, unknown> {
  return { externalId: row.id, subject: row.subject ?? `Call ${row.id}`, content: 'notes', ...row.extra };
}

export function itemOf(row: Row, seq: number): OutboundItem {
  return {
    seq,
    line: seq + 1,
    stream: row.stream ?? 'calls',
    key: `id=${row.id}`,
    object: 'engagement',
    externalId: row.id,
    payload: payloadOf(row),
  };
}

export function captureLogger(): { log: Logger; logs: RunResult['logs'] } {
  const logs: RunResult['logs'] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, dest) as unknown as Logger, logs };
}

export function siroInner(sandbox: Sandbox): (onOutcome: OutcomeHandler) => Sink {
  return (onOutcome) =>
    createSiroSink({
      baseUrl: sandbox.url,
      apiToken: 'sandbox-token',
      userAgent: 'target-siro-test',
      batchSize: 50,
      maxConcurrency: 2,
      rateLimitPerMinute: 100_000,
      maxRetries: 2,
      maxRetryTimeMs: 5_000,
      requestTimeoutMs: 5_000,
      retryBaseDelayMs: 5,
      batchLingerMs: 5,
      onOutcome,
    });
}

export async function run(steps: Step[], opts: RunOptions): Promise<RunResult> {
  const { log, logs } = captureLogger();
  const runId = opts.runId ?? randomUUID();
  const outcomes: Outcome[] = [];
  const dryRun = opts.dryRun ?? false;
  const createInner = dryRun ? (o: OutcomeHandler) => new DryRunSink(o, opts.dryRunOutput) : siroInner(opts.sandbox!);
  const sink = createLedgerSink(createInner, {
    store: opts.store,
    runId,
    dryRun,
    skipUnchanged: opts.skipUnchanged ?? true,
    deleteMode: opts.deleteMode ?? 'soft',
    maxDeleteFraction: opts.maxDeleteFraction ?? 0.2,
    retryRejected: opts.retryRejected ?? true,
    chunkSize: opts.chunkSize,
    flushIntervalMs: opts.flushIntervalMs,
    onOutcome: (o) => {
      outcomes.push(o);
      opts.onOutcome?.(o);
    },
    log,
  });
  let seq = 0;
  let error: Error | undefined;
  try {
    for (const step of steps) {
      if ('row' in step) await sink.push(itemOf(step.row, ++seq));
      else if ('activate' in step) await sink.activateVersion(step.stream ?? 'calls', step.activate);
      else if ('unsent' in step) {
        seq++;
        sink.noteUnsent({ stream: step.unsent.stream ?? 'calls', externalId: step.unsent.externalId, reasons: step.unsent.reasons ?? ['mapping: bad date'] });
      } else sink.flushPending();
    }
    await sink.drain();
  } catch (e) {
    error = e as Error;
  }
  await sink.close(1_000);
  const tally: Record<string, number> = {};
  for (const o of outcomes) {
    const k = `${o.kind}:${o.item.origin ?? 'record'}`;
    tally[k] = (tally[k] ?? 0) + 1;
  }
  return { runId, outcomes, sink, logs, tally, error };
}

/** A full-table pass as a tap sends it: ACTIVATE_VERSION, the rows, ACTIVATE_VERSION again. */
export function fullTable(rows: Row[], version = Date.now()): Step[] {
  return [{ activate: version }, ...rows.map((row) => ({ row })), { activate: version }];
}

export function rows(n: number, prefix = 'c'): Row[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${String(i + 1).padStart(3, '0')}` }));
}
