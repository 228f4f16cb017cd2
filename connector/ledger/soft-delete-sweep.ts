import type { SiroObject } from '../siro/spec.js';
import type { Pass, PassTracker } from './passes.js';
import type { RowKey } from './store.js';
import type { SweepHost } from './sweep-host.js';

/**
 * The soft-delete sweep (delete_mode soft): when an ACTIVATE_VERSION closes a full-table pass, the stream's
 * live rows the pass did not read are soft-deleted, unless that would delete more than max_delete_fraction of
 * them (an empty or truncated extract).
 */

const DELETE_PAGE = 500;

/** The sink's counts this sweep adds to. */
export interface SoftDeleteCounts {
  /** Soft deletes handed to the sink behind the ledger. */
  deletesQueued: number;
  /** Rows the delete guard kept from being deleted. */
  deletesBlocked: number;
}

export async function sweepGoneRows(
  host: SweepHost,
  passes: PassTracker,
  opts: { maxDeleteFraction: number; counts: SoftDeleteCounts },
  closed: { stream: string; version: number; pass: Pass },
): Promise<void> {
  const { maxDeleteFraction, counts } = opts;
  const { stream, version, pass } = closed;
  const { log } = host;
  if (pass.poisoned) {
    log.warn(
      { stream, version },
      `stream "${stream}": some records of this full-table pass were rejected before their externalId was known, so rows missing from the pass cannot be told apart from them; no soft deletes for this stream in this run`,
    );
    return;
  }
  const { live, gone } = await countGone(host, passes, stream, pass);
  if (gone === 0) return;
  const limit = maxDeleteFraction * live;
  if (gone > limit) {
    counts.deletesBlocked += gone;
    log.warn(
      { stream, version, gone, live, max_delete_fraction: maxDeleteFraction },
      `stream "${stream}": ${gone} of ${live} rows in the ledger (${percent(gone, live)}) are missing from this full-table pass, more than max_delete_fraction (${maxDeleteFraction}) allows; nothing is deleted. If the rows really are gone, raise max_delete_fraction for one run.`,
    );
    return;
  }
  const deletedAt = new Date().toISOString();
  log.info({ stream, version, gone, live, dry_run: host.dryRun }, `stream "${stream}": soft-deleting ${gone} row(s) gone from the full table`);
  let pushed = 0;
  for await (const key of goneRows(host, passes, stream, pass)) {
    if (host.closing()) break;
    host.throwIfFailed();
    await host.push({
      seq: 0,
      line: 0,
      key: '',
      stream,
      object: key.object as SiroObject,
      externalId: key.externalId,
      payload: { externalId: key.externalId, deletedAt },
      origin: 'delete',
    });
    pushed++;
  }
  counts.deletesQueued += pushed;
  // A later pass of the same stream in this run must see these rows as deleted, not as unchanged.
  if (pushed > 0 && !host.closing()) await host.settle();
  host.throwIfFailed();
}

async function countGone(host: SweepHost, passes: PassTracker, stream: string, pass: Pass): Promise<{ live: number; gone: number }> {
  if (!host.dryRun) {
    return { live: await host.store.countLive(stream), gone: await host.store.countUnseen(stream, pass.marker) };
  }
  let live = 0;
  let gone = 0;
  for await (const key of livePages(host, stream)) {
    live++;
    if (!passes.seenInDryRunPass(stream, key.externalId, pass.marker)) gone++;
  }
  return { live, gone };
}

/** The live rows of the stream the pass did not read, page by page (memory stays flat). */
async function* goneRows(host: SweepHost, passes: PassTracker, stream: string, pass: Pass): AsyncGenerator<RowKey> {
  if (host.dryRun) {
    for await (const key of livePages(host, stream)) {
      if (!passes.seenInDryRunPass(stream, key.externalId, pass.marker)) yield key;
    }
    return;
  }
  let after: RowKey | undefined;
  for (;;) {
    const rows = await host.store.unseenPage(stream, pass.marker, after, DELETE_PAGE);
    yield* rows;
    if (rows.length < DELETE_PAGE) return;
    after = rows[rows.length - 1];
  }
}

async function* livePages(host: SweepHost, stream: string): AsyncGenerator<RowKey> {
  let after: RowKey | undefined;
  for (;;) {
    const rows = await host.store.livePage(stream, after, DELETE_PAGE);
    yield* rows;
    if (rows.length < DELETE_PAGE) return;
    after = rows[rows.length - 1];
  }
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '100%' : `${((part / whole) * 100).toFixed(1)}%`;
}
