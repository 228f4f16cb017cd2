import { randomUUID } from 'node:crypto';
import { Option, type Command } from 'commander';
import { loadSettings, resolveMappingsPath, type Settings } from '../config/settings.js';
import { loadMappings } from '../mapping/index.js';
import { remapWith } from '../run/remap.js';
import type { Outcome, OutcomeHandler, Sink } from '../delivery/sink.js';
import { sinkFactory } from '../run/create-sink.js';
import { ConfigError } from '../core/errors.js';
import { CONFIG_FLAGS, commandAction, configFileOf, parseLimit } from './command-support.js';
import { createLogger, type Logger } from '../core/log.js';
import { createLedgerSink } from '../ledger/ledger-sink.js';
import { LedgerStore, ledgerOpenOptions, type LedgerRow } from '../ledger/store.js';

/**
 * `target-siro rejects list|retry`: the rows Siro (or the target, before sending) refused, as the ledger
 * records them, and a way to send the refused payloads again without a sync run. A row leaves the list
 * once Siro acknowledges a payload for it.
 */

export interface RejectsListOptions {
  format: 'text' | 'json';
  stream?: string;
  /** At most this many rows (default 1000); the text says how many more there are. */
  limit?: number;
}

export async function rejectsList(settings: Settings, opts: RejectsListOptions): Promise<string> {
  const store = await openStore(settings);
  try {
    const limit = opts.limit ?? 1000;
    const total = await store.countRejected(opts.stream);
    const rows: LedgerRow[] = [];
    for await (const row of store.rejectedRows({ stream: opts.stream })) {
      if (rows.length >= limit) break;
      rows.push(row);
    }
    if (opts.format === 'json') {
      return (
        JSON.stringify(
          {
            total,
            rows: rows.map((r) => ({
              object: r.object,
              externalId: r.externalId,
              stream: r.stream,
              rejectedAt: r.lastRejectedAt,
              status: r.rejectedStatus,
              reason: r.lastRejectionReason,
              runId: r.rejectedRunId,
              stage: r.rejectedStage,
              retriable: r.rejectedPayload !== null || (r.rejectedStage === 'mapping' && r.rejectedRecord !== null),
              hint: rejectionHint(r),
              acknowledgedBefore: r.ackedAt !== null,
              payload: r.rejectedPayload,
            })),
          },
          null,
          2,
        ) + '\n'
      );
    }
    const where = opts.stream === undefined ? '' : ` of stream "${opts.stream}"`;
    if (total === 0) return `no rejected rows${where} in the ledger (${store.location})\n`;
    const lines = [`${total} rejected row(s)${where} in the ledger (${store.location}):`];
    for (const r of rows) {
      const status = r.rejectedStatus === null ? '' : ` ${r.rejectedStatus}`;
      const retry = rejectionHint(r);
      lines.push(`  ${r.object} ${r.externalId} (stream ${r.stream}) ${r.lastRejectedAt ?? ''}${status} [${retry}]: ${r.lastRejectionReason ?? ''}`);
    }
    if (total > rows.length) lines.push(`  … and ${total - rows.length} more (--limit, or --format json)`);
    return lines.join('\n') + '\n';
  } finally {
    await store.close();
  }
}

/** What the user can do about a refused row, by where it was refused. */
export function rejectionHint(r: LedgerRow): string {
  if (r.rejectedPayload !== null) return 'Siro refused it: resent at the next run or by rejects retry; fix the source row or the mapping if Siro keeps refusing';
  if (r.rejectedStage === 'mapping' && r.rejectedRecord !== null) return 'the mapping refused it: fix the mapping, then rejects retry (or the next run) maps it again';
  if (r.rejectedStage === 'schema') return "the row breaks its stream's schema: fix the source row; the next run that reads it sends it";
  return 'fix the source row or the mapping; the next run that reads it sends it';
}

export interface RejectsRetryOptions {
  log: Logger;
  stream?: string;
  /** The sink the payloads go to; default: Siro (or the dry run) as the settings say. */
  createSink?: (onOutcome: OutcomeHandler) => Sink;
  /** With dry_run: where the dry-run sink writes payload lines (default stderr). */
  dryRunOutput?: string;
}

export interface RejectsRetryResult {
  runId: string;
  retried: number;
  accepted: number;
  stillRejected: number;
  /** Rejected rows with no payload to send (refused before delivery): only a fixed source row helps. */
  withoutPayload: number;
  text: string;
}

/** Sends every still-rejected row's last payload again, recording the outcome in the ledger. */
export async function rejectsRetry(settings: Settings, opts: RejectsRetryOptions): Promise<RejectsRetryResult> {
  const store = await openStore(settings);
  const runId = randomUUID();
  let accepted = 0;
  let stillRejected = 0;
  const onOutcome = (o: Outcome): void => {
    if (o.kind === 'acked') accepted++;
    else if (o.kind === 'rejected') {
      stillRejected++;
      opts.log.warn({ object: o.item.object, externalId: o.item.externalId, status: o.status, reasons: o.reasons }, 'still rejected');
    }
  };
  try {
    await store.startRun({ runId, dryRun: settings.dry_run, kind: 'rejects-retry' });
    const sink = createLedgerSink(opts.createSink ?? (await sinkFactory(settings, opts.log, opts.dryRunOutput)), {
      store,
      runId,
      dryRun: settings.dry_run,
      skipUnchanged: true,
      deleteMode: 'none',
      maxDeleteFraction: settings.max_delete_fraction,
      retryRejected: true,
      retryStream: opts.stream,
      // Rows the mapping refused are mapped again with the mappings as they are now.
      remap: remapWith(loadMappings(resolveMappingsPath(settings))),
      onOutcome,
      log: opts.log,
    });
    let error: Error | undefined;
    try {
      await sink.drain();
    } catch (e) {
      error = e as Error;
    }
    await sink.close(error ? 0 : settings.shutdown_grace_ms);
    const retried = sink.ledgerCounts().retriesQueued;
    await store.finishRun(runId, { status: error ? 'failed' : 'ok', counts: { sent: accepted, rejected: stillRejected } });
    if (error) throw error;
    const total = await store.countRejected(opts.stream);
    const withoutPayload = settings.dry_run ? total - retried : total - stillRejected;
    const parts = [`retried ${retried} rejected row(s): ${accepted} accepted, ${stillRejected} still rejected`];
    if (settings.dry_run) parts.push('(dry run: nothing sent, ledger unchanged)');
    if (withoutPayload > 0) {
      parts.push(`; ${withoutPayload} row(s) cannot be retried from the ledger (refused by the stream's schema, or still by the mapping): see target-siro rejects list for each one's cause`);
    }
    return { runId, retried, accepted, stillRejected, withoutPayload, text: parts.join(' ') + '\n' };
  } finally {
    await store.close();
  }
}

/** The ledger the settings name; refused when the ledger is turned off (it is the only record of rejected rows). */
async function openStore(settings: Settings): Promise<LedgerStore> {
  if (!settings.ledger) throw new ConfigError('the ledger is turned off (setting "ledger" is false): there is no record of rejected rows');
  return LedgerStore.open(ledgerOpenOptions(settings));
}

/** `target-siro rejects list|retry`. */
export function addRejectsCommand(program: Command): void {
  const rejects = program.command('rejects').description('rows Siro (or the target) refused, as the ledger records them');

  rejects
    .command('list')
    .description('list the rows whose last payload was refused')
    .option(CONFIG_FLAGS, 'JSON config file')
    .option('--stream <name>', 'only rows of this stream')
    .option('--limit <n>', 'at most this many rows', (v) => parseLimit(v), 1000)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(
      commandAction(async (flags: { stream?: string; limit: number; format: 'text' | 'json' }, command: Command) => {
        // Listing needs no API token.
        const settings = loadSettings({ configFile: configFileOf(command), overrides: { dry_run: true } });
        process.stdout.write(await rejectsList(settings, { format: flags.format, stream: flags.stream, limit: flags.limit }));
      }),
    );

  rejects
    .command('retry')
    .description("send every still-rejected row's last payload to Siro again and record the outcome")
    .option(CONFIG_FLAGS, 'JSON config file')
    .option('--stream <name>', 'only rows of this stream')
    .option('--dry-run', 'show the payloads instead of sending them')
    .option('--dry-run-output <file>', 'with --dry-run: write payload lines to this file instead of stderr')
    .action(
      commandAction(async (flags: { stream?: string; dryRun?: boolean; dryRunOutput?: string }, command: Command) => {
        const settings = loadSettings({ configFile: configFileOf(command), overrides: flags.dryRun ? { dry_run: true } : {} });
        const log = createLogger(settings.log_level);
        const result = await rejectsRetry(settings, { log, stream: flags.stream, dryRunOutput: flags.dryRunOutput });
        process.stdout.write(result.text);
      }),
    );
}
