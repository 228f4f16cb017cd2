import type { MapResult } from '../mapping/index.js';
import { stringifyExact } from '../singer/exact-json.js';
import type { SiroObject } from '../siro/objects.js';
import type { PassTracker } from './passes.js';
import { SyncLogBatch, type LedgerRow, type LedgerWrite } from './store.js';
import type { SweepHost } from './sweep-host.js';

/** Maps a kept source record with the current mappings; undefined when no mapping names the stream now. */
export type Remap = (stream: string, record: Record<string, unknown>) => MapResult | undefined;

/**
 * The retry sweep: at the end of input, rows refused in earlier runs (and not read again in this one) are
 * sent again: rows Siro refused with their last refused payload, rows the mapping refused mapped afresh from
 * their kept source record (so a mapping fix reaches them). Rows the stream's schema refused wait for the
 * tap to send them again: the fix is at the source. Returns how many were handed to the sink.
 */
export async function pushRetries(host: SweepHost, passes: PassTracker, opts: { runId: string; stream?: string; remap?: Remap }): Promise<number> {
  let pushed = 0;
  let stillRefused = 0;
  const rows = host.store.rejectedRows({
    withPayload: true,
    stream: opts.stream,
    notSeenInRun: host.dryRun ? undefined : opts.runId,
  });
  for await (const row of rows) {
    if (host.closing()) break;
    host.throwIfFailed();
    // A row read again in this run was mapped afresh: its new payload wins over the refused one.
    if (host.dryRun && passes.seenInDryRunAtAll(row.stream, row.externalId)) continue;
    const payload = row.rejectedPayload ?? (await remapped(host, row, opts));
    if (!payload) {
      if (row.rejectedStage === 'mapping') stillRefused++;
      continue;
    }
    const deletes = typeof payload.deletedAt === 'string' && payload.deletedAt !== '';
    await host.push(
      {
        seq: 0,
        line: 0,
        key: '',
        stream: row.stream,
        object: row.object as SiroObject,
        externalId: row.externalId,
        payload,
        origin: 'retry',
      },
      // What Siro holds decides it: an update of an acknowledged row, else a create.
      deletes ? 'delete' : row.ackedAt !== null ? 'update' : 'create',
    );
    pushed++;
  }
  if (pushed > 0) host.log.info({ retried: pushed, dry_run: host.dryRun }, `retrying ${pushed} row(s) refused in earlier runs`);
  if (stillRefused > 0) {
    host.log.warn({ still_refused: stillRefused }, `${stillRefused} row(s) the mapping refused are still refused by the current mappings: see target-siro rejects list`);
  }
  return pushed;
}

/**
 * The payload a row the mapping refused maps to now, or undefined when it is still refused (the new reason
 * is recorded, outside a dry run) or cannot be mapped (schema refusals, no mapping for the stream).
 */
async function remapped(host: SweepHost, row: LedgerRow, opts: { runId: string; remap?: Remap }): Promise<Record<string, unknown> | undefined> {
  if (row.rejectedStage !== 'mapping' || !row.rejectedRecord || !opts.remap) return undefined;
  const result = opts.remap(row.stream, row.rejectedRecord);
  if (result?.ok && result.externalId === row.externalId) return result.payload;
  if (host.dryRun) return undefined;
  const reason = !result
    ? `no mapping names stream "${row.stream}" any more`
    : result.ok
      ? `the current mapping gives it another externalId ("${result.externalId}"): it is sent when the tap sends the row again`
      : result.reasons.join('; ');
  const at = new Date().toISOString();
  const log = new SyncLogBatch(opts.runId, at);
  log.add(row, 'reject', 'rejected', { stage: 'mapping', message: reason });
  const write: LedgerWrite = {
    kind: 'reject',
    object: row.object,
    externalId: row.externalId,
    stream: row.stream,
    reason,
    payload: null,
    stage: 'mapping',
    record: stringifyExact(row.rejectedRecord),
    runId: opts.runId,
    at,
  };
  await host.store.write([write], log);
  return undefined;
}
