import { randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import pino from 'pino';
import { loadSettings } from '../../connector/config/settings.js';
import { DryRunSink } from '../../connector/delivery/dry-run-sink.js';
import type { Outcome, OutcomeHandler, Sink } from '../../connector/delivery/sink.js';
import { createSiroSink } from '../../connector/delivery/siro-sink.js';
import { createLedgerSink, type LedgerSink, type LedgerSinkOptions } from '../../connector/ledger/ledger-sink.js';
import type { LedgerStore } from '../../connector/ledger/store.js';
import type { MappingSet, StreamMapping } from '../../connector/mapping/index.js';
import type { RunCounters } from '../../connector/run/counters.js';
import { runTarget } from '../../connector/run/target-run.js';
import type { Sandbox } from '../../connector/sandbox/server.js';
import type { Logger } from '../../connector/core/log.js';
import { jsonLines } from '../support/json-lines.js';

/**
 * Runs the target itself (runTarget: reader, record step, checkpointer) over Singer messages made from
 * steps, with a LedgerSink in front of the real Siro sink against the sandbox (or the dry-run sink). The
 * test mapping turns a row into `payloadOf(row)` as it is, without Siro's payload schema, so Siro itself
 * can be made to refuse a payload.
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
  /** The run's counters (read, delivered, unchanged, rejected, skipped, deleted per stream). */
  counters: RunCounters;
  /** The lines of the rejects file. */
  rejects: Record<string, unknown>[];
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

/** The mapping of every stream in these tests: a row's record becomes `payloadOf(row)`; `fail` makes it refuse. */
const testMapping: StreamMapping = {
  object: 'engagement',
  pattern: '*',
  source: 'test/ledger/harness.ts',
  reads: [],
  map(record) {
    const { id, subject, fail, ...extra } = record as { id: string; subject?: string; fail?: string[] } & Record<string, unknown>;
    const payload = payloadOf({ id, subject, extra });
    return fail ? { ok: false, reasons: fail, payload: { externalId: id } } : { ok: true, externalId: id, payload };
  },
  mapDelete(record) {
    return this.map(record);
  },
};
const testMappings: MappingSet = { files: ['test/ledger/harness.ts'], patterns: ['*'], forStream: () => testMapping };

/** The steps as Singer messages: a SCHEMA before a stream's first message, a STATE per `state` step. */
export function singerLines(steps: Step[]): string {
  const lines: unknown[] = [];
  const announced = new Set<string>();
  const announce = (stream: string) => {
    if (announced.has(stream)) return;
    announced.add(stream);
    lines.push({ type: 'SCHEMA', stream, key_properties: ['id'], schema: { type: 'object' } });
  };
  let states = 0;
  for (const step of steps) {
    if ('row' in step) {
      const { id, subject, extra, stream = 'calls' } = step.row;
      announce(stream);
      lines.push({ type: 'RECORD', stream, record: { id, ...(subject === undefined ? {} : { subject }), ...extra } });
    } else if ('activate' in step) {
      const stream = step.stream ?? 'calls';
      announce(stream);
      lines.push({ type: 'ACTIVATE_VERSION', stream, version: step.activate });
    } else if ('unsent' in step) {
      // Refused before delivery: by the mapping when the externalId is known, else for its missing key.
      const { externalId, reasons = ['mapping: bad date'], stream = 'calls' } = step.unsent;
      announce(stream);
      lines.push({ type: 'RECORD', stream, record: externalId === undefined ? {} : { id: externalId, fail: reasons } });
    } else {
      lines.push({ type: 'STATE', value: { step: ++states } });
    }
  }
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

export async function run(steps: Step[], opts: RunOptions): Promise<RunResult> {
  const { log, logs } = captureLogger();
  const runId = opts.runId ?? randomUUID();
  const outcomes: Outcome[] = [];
  const dryRun = opts.dryRun ?? false;
  const dir = mkdtempSync(join(tmpdir(), 'ledger-run-'));
  const rejectsFile = join(dir, 'rejects.jsonl');
  const settings = loadSettings({
    env: {},
    overrides: { api_token: 'sandbox-token', base_url: opts.sandbox?.url ?? 'http://127.0.0.1:9', rejects_file: rejectsFile, dry_run: dryRun },
  });
  const createInner = dryRun ? (o: OutcomeHandler) => new DryRunSink(o, opts.dryRunOutput) : siroInner(opts.sandbox!);
  let sink: LedgerSink | undefined;
  const statesFd = openSync(join(dir, 'states.jsonl'), 'w');
  try {
    const result = await runTarget({
      settings,
      input: Readable.from([singerLines(steps)]),
      mappings: testMappings,
      log,
      runId,
      stdoutFd: statesFd,
      createSink: (onOutcome) =>
        (sink = createLedgerSink(createInner, {
          store: opts.store,
          runId,
          dryRun,
          skipUnchanged: opts.skipUnchanged ?? true,
          deleteMode: opts.deleteMode ?? 'soft',
          maxDeleteFraction: opts.maxDeleteFraction ?? 0.2,
          retryRejected: opts.retryRejected ?? true,
          retryStream: opts.retryStream,
          chunkSize: opts.chunkSize,
          flushIntervalMs: opts.flushIntervalMs,
          onOutcome: (o) => {
            outcomes.push(o);
            opts.onOutcome?.(o);
            onOutcome(o);
          },
          log,
        })),
    });
    // runTarget closes the sink itself when the run fails.
    if (!result.error) await sink!.close(1_000);
    const tally: Record<string, number> = {};
    for (const o of outcomes) {
      const k = `${o.kind}:${o.item.origin ?? 'record'}`;
      tally[k] = (tally[k] ?? 0) + 1;
    }
    return { runId, outcomes, sink: sink!, logs, tally, counters: result.counters, rejects: jsonLines(rejectsFile), error: result.error };
  } finally {
    closeSync(statesFd);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A full-table pass as a tap sends it: ACTIVATE_VERSION, the rows, ACTIVATE_VERSION again. */
export function fullTable(rows: Row[], version = Date.now()): Step[] {
  return [{ activate: version }, ...rows.map((row) => ({ row })), { activate: version }];
}

export function rows(n: number, prefix = 'c'): Row[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${String(i + 1).padStart(3, '0')}` }));
}
