/**
 * The demo's printing: what a person reads. The CLIs' stderr holds JSON log lines (for orchestrators) and
 * the target's summary table (`target-siro: ...` lines); the demo shows the table, warnings and errors,
 * and leaves routine info lines out.
 */

import type { StreamCounts } from '../connector/run/counters.js';

const LEVEL_NAMES: Record<number, string> = { 40: 'warn', 50: 'error', 60: 'fatal' };
const MAX_LOG_LINES = 6;

export function out(text = ''): void {
  process.stdout.write(text + '\n');
}

export function step(n: number, total: number, text: string): void {
  out();
  out(`[${n}/${total}] ${text}`);
}

/** Indented detail under a step. */
export function detail(text: string): void {
  for (const line of text.split('\n')) out(`      ${line}`);
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

interface LogLine {
  level?: number;
  msg?: string;
  [field: string]: unknown;
}

function parseLogLine(line: string): LogLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return undefined;
  }
}

/** A warning or error log line in one readable line: level, message, and the fields that say where. */
function tidy(program: string, log: LogLine): string {
  const level = LEVEL_NAMES[log.level ?? 0] ?? String(log.level);
  const fields = Object.entries(log)
    .filter(([k]) => !['level', 'time', 'msg', 'pid', 'hostname'].includes(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${program} ${level}: ${log.msg ?? ''}${fields.length ? `  (${fields.join(', ')})` : ''}`;
}

/**
 * The lines of a CLI's stderr worth showing: the target's summary table, warnings and errors (the first
 * few, then a count), and any plain-text line (an error message). Info log lines are left out.
 */
export function readableStderr(program: string, stderr: string): string[] {
  const shown: string[] = [];
  let hidden = 0;
  for (const line of stderr.split('\n')) {
    if (line.trim() === '') continue;
    const log = parseLogLine(line);
    if (!log) {
      shown.push(line);
      continue;
    }
    if ((log.level ?? 0) < 40) continue;
    if (shown.filter((l) => !l.startsWith(`${program}:`)).length < MAX_LOG_LINES) shown.push(tidy(program, log));
    else hidden++;
  }
  if (hidden > 0) shown.push(`${program}: ... and ${hidden} more warnings (the demo keeps only the first ${MAX_LOG_LINES})`);
  return shown;
}

/** The target's run totals, as its "run summary" log line carries them. */
export type RunTotals = StreamCounts;

/** The totals of the target's structured "run summary" log line, if it printed one. */
export function runTotals(stderr: string): RunTotals | undefined {
  for (const line of stderr.split('\n')) {
    const log = parseLogLine(line);
    if (log?.msg === 'run summary' && log.totals && typeof log.totals === 'object') return log.totals as RunTotals;
  }
  return undefined;
}

/** Rows the tap read per stream, from its "sync finished" log line. */
export function tapRows(stderr: string): Record<string, number> | undefined {
  for (const line of stderr.split('\n')) {
    const log = parseLogLine(line);
    if (log?.msg === 'sync finished' && log.rows && typeof log.rows === 'object') return log.rows as Record<string, number>;
  }
  return undefined;
}

/** A payload as Siro holds it, indented under a caption. */
export function showPayload(caption: string, body: unknown): void {
  detail(caption);
  detail(JSON.stringify(body, null, 2).replace(/^/gm, '  '));
}

/** A list of ids, wrapped to a readable width. */
export function idList(ids: readonly string[]): string {
  const lines: string[] = [];
  let line = '';
  for (const id of ids) {
    if (line.length + id.length > 84) {
      lines.push(line);
      line = '';
    }
    line += (line ? ', ' : '') + id;
  }
  if (line) lines.push(line);
  return lines.join(',\n');
}
