import { Option, type Command } from 'commander';
import { loadSettings, type Settings } from '../config/settings.js';
import { CONFIG_FLAGS, commandAction, configFileOf, parseLimit } from './command-support.js';
import { textTable } from '../core/text-table.js';
import { openLedgerToRead, type LedgerRow, type SyncLogRow } from '../ledger/store.js';

/**
 * `target-siro history <externalId>`: one row's story across runs, from the ledger's sync log (what the
 * target did with it in each run and what came of it), newest first, and what the ledger holds for it now.
 * Reads the ledger only; a SQLite ledger that does not exist yet is not created.
 */

export interface HistoryOptions {
  format: 'text' | 'json';
  /** Only rows of this Siro object (an externalId may name an engagement and an opportunity). */
  object?: string;
  stream?: string;
  /** At most this many sync log rows (default 50), the newest. */
  limit?: number;
}

export async function rowHistory(settings: Settings, externalId: string, opts: HistoryOptions): Promise<string> {
  const limit = opts.limit ?? 50;
  const { store, location } = await openLedgerToRead(settings);
  let rows: SyncLogRow[] = [];
  let total = 0;
  const current: LedgerRow[] = [];
  try {
    if (store) {
      const query = { externalId, object: opts.object, stream: opts.stream };
      rows = await store.syncLog({ ...query, limit });
      total = rows.length < limit ? rows.length : await store.countSyncLog(query);
      const objects = opts.object !== undefined ? [opts.object] : [...new Set(rows.map((r) => r.object))].sort();
      for (const object of objects) {
        const row = await store.get(object, externalId);
        if (row && (opts.stream === undefined || row.stream === opts.stream)) current.push(row);
      }
    }
  } finally {
    await store?.close();
  }

  if (opts.format === 'json') {
    return (
      JSON.stringify(
        {
          ledger: location,
          externalId,
          object: opts.object ?? null,
          stream: opts.stream ?? null,
          total,
          rows: rows.map((r) => ({
            at: r.at,
            runId: r.runId,
            stream: r.stream,
            object: r.object,
            operation: r.operation,
            status: r.status,
            httpStatus: r.httpStatus,
            stage: r.stage,
            message: r.message,
          })),
          current: current.map((c) => ({
            object: c.object,
            stream: c.stream,
            ackedAt: c.ackedAt,
            runId: c.runId,
            siroId: c.siroId,
            deletedAt: c.deletedAt,
            lastRejectedAt: c.lastRejectedAt,
            lastRejectionReason: c.lastRejectionReason,
          })),
        },
        null,
        2,
      ) + '\n'
    );
  }

  const narrowed = [opts.object && `object ${opts.object}`, opts.stream && `stream ${opts.stream}`].filter(Boolean).join(', ');
  const what = `externalId "${externalId}"${narrowed ? ` (${narrowed})` : ''}`;
  if (rows.length === 0) return `no sync log rows for ${what} in the ledger (${location})\n`;
  const lines = [`${what}: ${total} sync log row(s) in the ledger (${location}), newest first:`];
  const objects = new Set(rows.map((r) => r.object));
  if (objects.size > 1) lines.push(`(found as ${[...objects].sort().join(' and ')}: --object picks one)`);
  lines.push(
    ...textTable(
      ['at (UTC)', 'run id', 'stream', 'object', 'operation', 'status', 'message'],
      rows.map((r) => [
        r.at.replace('T', ' ').replace(/Z$/, ''),
        r.runId,
        r.stream,
        r.object,
        r.operation,
        r.httpStatus === null ? r.status : `${r.status} ${r.httpStatus}`,
        r.message ?? (r.stage ? `(${r.stage})` : ''),
      ]),
    ),
  );
  if (total > rows.length) lines.push(`… and ${total - rows.length} older (--limit, or --format json)`);
  for (const c of current) lines.push(nowLine(c));
  return lines.join('\n') + '\n';
}

/** What the ledger holds for the row now, in one line. */
function nowLine(c: LedgerRow): string {
  const parts: string[] = [];
  if (c.ackedAt === null) parts.push('Siro has acknowledged no payload of it');
  else if (c.deletedAt !== null) parts.push(`soft-deleted in Siro (acknowledged ${c.ackedAt}, run ${c.runId ?? '?'})`);
  else parts.push(`Siro holds the payload acknowledged ${c.ackedAt} (run ${c.runId ?? '?'})`);
  if (c.lastRejectedAt !== null) parts.push(`refused ${c.lastRejectedAt}: ${c.lastRejectionReason ?? ''} (see target-siro rejects list)`);
  return `now (${c.object}, stream ${c.stream}): ${parts.join('; ')}`;
}

/** `target-siro history <externalId>`. */
export function addHistoryCommand(program: Command): void {
  program
    .command('history')
    .description("one row's story across runs, from the ledger's sync log: what was sent, what Siro answered, why it was refused")
    .argument('<externalId>', "the row's externalId in Siro")
    .option(CONFIG_FLAGS, 'JSON config file')
    .option('--object <object>', 'only this Siro object (engagement, opportunity) when the externalId names several')
    .option('--stream <name>', 'only rows of this stream')
    .option('--limit <n>', 'at most this many rows, the newest', (v) => parseLimit(v), 50)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(
      commandAction(
        async (externalId: string, flags: { object?: string; stream?: string; limit: number; format: 'text' | 'json' }, command: Command) => {
          // Reading the ledger needs no API token.
          const settings = loadSettings({ configFile: configFileOf(command), overrides: { dry_run: true } });
          process.stdout.write(await rowHistory(settings, externalId, { format: flags.format, object: flags.object, stream: flags.stream, limit: flags.limit }));
        },
      ),
    );
}
