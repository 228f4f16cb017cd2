import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redact } from '../core/secrets.js';
import { stringify as losslessStringify } from 'lossless-json';
import type { Settings } from '../config/settings.js';
import { packageJson } from '../core/paths.js';
import { parseExact } from '../singer/exact-json.js';
import type { StreamCounts } from './counters.js';
import type { TargetRunResult } from './target-run.js';

/**
 * The JSON report of one run, written to `<reports_dir>/<started_at>-<run_id>.json` at the end (see
 * reportFileName: `ls` lists the reports in the order the runs started): what a person or a monitoring
 * job needs to tell a good run from a bad one without reading logs. It holds counts, reasons and timings,
 * never a setting's value that could be secret (no token, no ledger URL).
 */

export type ReportStatus = 'ok' | 'failed' | 'interrupted';

export interface LatencySummary {
  count: number;
  /** The mean: what throughput follows from (concurrency × batch / mean round trip), unlike a percentile. */
  mean_ms: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

export interface RunReport {
  report_version: 1;
  run_id: string;
  target: { name: string; version: string };
  status: ReportStatus;
  exit_code: number;
  /** The error that ended the run (its one-line message), or null. */
  error: { name: string; message: string } | null;
  dry_run: boolean;
  /** Where the run read from: a file name, or "stdin". */
  input: string;
  /** The Siro origin the run talked to (no credentials, no path); null in a dry run. */
  siro_origin: string | null;
  started_at: string;
  ended_at: string;
  elapsed_s: number;
  /** Items Siro acknowledged (or the dry run wrote) per second of the run. */
  items_per_s: number;
  totals: StreamCounts;
  streams: Record<string, StreamCounts>;
  /** Streams skipped on purpose (setting skip_streams): read, never sent. */
  skipped_streams: string[];
  /** Schema violations in columns the mapping does not read: counted and warned about, the rows went on. */
  schema_warnings: { stream: string; column: string; count: number; example: string }[];
  rejects: {
    total: number;
    file: string;
    /** Reasons grouped by shape (values blanked out), most frequent first, with one example each. */
    reasons: { reason: string; count: number; example: string }[];
  };
  requests: {
    count: number;
    retries: number;
    throttled_429: number;
    batch_splits: number;
    latency: LatencySummary;
  };
  states_printed: number;
  /** The last state printed to stdout, as JSON (what a rerun should start from), or null. */
  last_state: unknown;
}

export interface ReportContext {
  status: ReportStatus;
  exitCode: number;
  error?: Error;
  startedAt: Date;
  endedAt?: Date;
  input: string;
}

export function buildRunReport(result: TargetRunResult, settings: Settings, ctx: ReportContext): RunReport {
  const totals = result.counters.totals();
  const stats = result.sink.stats();
  const seconds = result.elapsedMs / 1000;
  const reasons = [...result.counters.rejectReasons]
    .map(([reason, g]) => ({ reason, count: g.count, example: g.example }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  return {
    report_version: 1,
    run_id: result.runId,
    target: { name: packageJson.name, version: packageJson.version },
    status: ctx.status,
    exit_code: ctx.exitCode,
    error: ctx.error ? { name: ctx.error.name, message: ctx.error.message } : null,
    dry_run: settings.dry_run,
    input: ctx.input,
    siro_origin: settings.dry_run ? null : new URL(settings.base_url).origin,
    started_at: ctx.startedAt.toISOString(),
    ended_at: (ctx.endedAt ?? new Date()).toISOString(),
    elapsed_s: round(seconds, 3),
    items_per_s: seconds > 0 ? round(totals.delivered / seconds, 1) : totals.delivered,
    totals,
    streams: Object.fromEntries(result.counters.streams),
    skipped_streams: result.counters.skippedStreams(),
    schema_warnings: [...result.counters.schemaWarnings.values()],
    rejects: { total: totals.rejected, file: settings.rejects_file, reasons },
    requests: {
      count: stats.requests,
      retries: stats.retries,
      throttled_429: stats.throttled,
      batch_splits: stats.splits,
      latency: latencySummary(stats.latenciesMs),
    },
    states_printed: result.statesPrinted,
    last_state: result.lastState === undefined ? null : parseState(result.lastState),
  };
}

/**
 * The report's file name: the run's start time in UTC to the second, then its run id
 * (`2026-12-02T16-30-05Z-<run_id>.json`). The names sort as the runs started, so `ls` lists them in time
 * order; no colons, which some file systems and tools refuse; the run id keeps them unique.
 */
export function reportFileName(report: Pick<RunReport, 'run_id' | 'started_at'>): string {
  const stamp = new Date(report.started_at).toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  return `${stamp}-${report.run_id}.json`;
}

/** Writes the report atomically (a reader never sees half a file); returns its path. */
export function writeRunReport(report: RunReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, reportFileName(report));
  const partial = `${path}.partial`;
  // lossless-json: a state holding integers beyond 2^53 (bigint after parseExact) is written exactly.
  writeFileSync(partial, redact(losslessStringify(report, undefined, 2) ?? 'null') + '\n');
  renameSync(partial, path);
  return path;
}

/** The mean and nearest-rank percentiles of request durations. */
export function latencySummary(latenciesMs: readonly number[]): LatencySummary {
  if (latenciesMs.length === 0) return { count: 0, mean_ms: null, p50_ms: null, p95_ms: null, p99_ms: null, max_ms: null };
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const at = (p: number) => round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!, 1);
  const mean = round(sorted.reduce((sum, ms) => sum + ms, 0) / sorted.length, 1);
  return { count: sorted.length, mean_ms: mean, p50_ms: at(50), p95_ms: at(95), p99_ms: at(99), max_ms: round(sorted[sorted.length - 1]!, 1) };
}

function parseState(line: string): unknown {
  try {
    return parseExact(line);
  } catch {
    return line;
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
