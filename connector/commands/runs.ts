import { Option, type Command } from 'commander';
import { loadSettings, type Settings } from '../config/settings.js';
import { CONFIG_FLAGS, commandAction, configFileOf, parseLimit } from './command-support.js';
import { openLedgerToRead, type RunRow } from '../ledger/store.js';
import { textTable } from '../core/text-table.js';

/**
 * `target-siro runs`: the recent runs as the ledger's `runs` table records them (status, counts, duration),
 * newest first. Reads the ledger only; a SQLite ledger that does not exist yet is not created.
 */

export interface RunsOptions {
  format: 'text' | 'json';
  /** At most this many runs (default 20). */
  limit?: number;
}

export async function listRuns(settings: Settings, opts: RunsOptions): Promise<string> {
  const limit = opts.limit ?? 20;
  const { store, location } = await openLedgerToRead(settings);
  let runs: RunRow[] = [];
  try {
    if (store) runs = await store.recentRuns(limit);
  } finally {
    await store?.close();
  }
  if (opts.format === 'json') {
    const rows = runs.map((r) => ({
      runId: r.runId,
      kind: r.kind,
      status: r.status,
      dryRun: r.dryRun,
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      durationS: durationS(r),
      read: r.read,
      sent: r.sent,
      unchanged: r.unchanged,
      rejected: r.rejected,
      deleted: r.deleted,
    }));
    return JSON.stringify({ ledger: location, runs: rows }, null, 2) + '\n';
  }
  if (runs.length === 0) return `no runs recorded in the ledger (${location})\n`;
  const header = ['started (UTC)', 'run id', 'kind', 'status', 'duration', 'read', 'sent', 'unchanged', 'rejected', 'deleted'];
  const body = runs.map((r) => [
    r.startedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''),
    r.runId,
    r.dryRun ? `${r.kind} (dry run)` : r.kind,
    r.status,
    duration(r),
    String(r.read),
    String(r.sent),
    String(r.unchanged),
    String(r.rejected),
    String(r.deleted),
  ]);
  const lines = [`${runs.length === limit ? `the ${limit} newest runs` : `${runs.length} run(s)`} in the ledger (${location}), newest first:`];
  lines.push(...textTable(header, body, 5));
  return lines.join('\n') + '\n';
}

function durationS(r: RunRow): number | null {
  if (!r.endedAt) return null;
  return Math.max(0, Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000;
}

function duration(r: RunRow): string {
  const s = durationS(r);
  if (s === null) return r.status === 'running' ? 'running' : '–';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** `target-siro runs`. */
export function addRunsCommand(program: Command): void {
  program
    .command('runs')
    .description('list recent runs from the ledger: status, counts, duration')
    .option(CONFIG_FLAGS, 'JSON config file')
    .option('--limit <n>', 'at most this many runs', (v) => parseLimit(v), 20)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(
      commandAction(async (flags: { limit: number; format: 'text' | 'json' }, command: Command) => {
        // Reading the ledger needs no API token.
        const settings = loadSettings({ configFile: configFileOf(command), overrides: { dry_run: true } });
        process.stdout.write(await listRuns(settings, { format: flags.format, limit: flags.limit }));
      }),
    );
}
