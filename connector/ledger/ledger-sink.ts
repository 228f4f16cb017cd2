import type { Settings } from '../config/settings.js';
import type { Logger } from '../core/log.js';
import type { DeliveryStats, OutboundItem, Outcome, OutcomeHandler, Sink } from '../delivery/sink.js';
import type { SiroObject } from '../siro/spec.js';
import { fingerprint, fingerprintOfJson } from './fingerprint.js';
import { itemJson, payloadJson } from '../delivery/payload-json.js';
import { LedgerError, type KnownRow, type LedgerStore, type LedgerWrite, type RowKey } from './store.js';

/**
 * A Sink between the pipeline and the real sink (Siro, or the dry run) that keeps the ledger:
 *
 * - change detection: pushed items are looked up in chunks; an item whose payload Siro already holds is
 *   reported `unchanged` and never sent;
 * - acknowledgements and refusals from the inner sink are written to the ledger in one transaction per
 *   flush, and only then forwarded to the pipeline, so no state is printed before the ledger knows, and
 *   the ledger never claims a row Siro did not acknowledge;
 * - at the end of input, rows Siro refused in earlier runs (and not read again in this one) are retried;
 * - when an ACTIVATE_VERSION closes a full-table pass, rows of the stream the pass did not read are
 *   soft-deleted (delete_mode soft), unless that would delete more than max_delete_fraction of them.
 *
 * In a dry run the ledger is read, never written: what would be skipped, deleted or retried goes to the
 * dry-run sink, so it is shown.
 */

export interface LedgerSinkOptions {
  store: LedgerStore;
  runId: string;
  dryRun: boolean;
  /** Setting skip_unchanged (default true); --full-resync turns it off for a run. */
  skipUnchanged: boolean;
  /** Setting delete_mode. */
  deleteMode: 'none' | 'soft';
  /** Setting max_delete_fraction: the delete guard. */
  maxDeleteFraction: number;
  /** Retry, at the end of input, rows Siro refused in earlier runs. */
  retryRejected: boolean;
  /** Retry only rows of this stream (`rejects retry --stream`). */
  retryStream?: string;
  /** The pipeline's handler. */
  onOutcome: OutcomeHandler;
  log: Logger;
  /** Items looked up per ledger query (default 500). */
  chunkSize?: number;
  /** Longest wait before outcomes are written and forwarded (default 50 ms). */
  flushIntervalMs?: number;
  /** Outcomes written per transaction at most; reaching it flushes at once (default 1000). */
  maxOutcomesPerFlush?: number;
}

/** What the ledger did in this run, beyond the inner sink's own statistics. */
export interface LedgerCounts {
  /** Items not sent because Siro already holds their payload. */
  unchanged: number;
  /** Soft deletes handed to the inner sink. */
  deletesQueued: number;
  /** Rows the delete guard kept from being deleted. */
  deletesBlocked: number;
  /** Earlier refusals handed to the inner sink again. */
  retriesQueued: number;
}

/** A full-table pass of one stream within this run: the records between two ACTIVATE_VERSIONs. */
interface Pass {
  marker: string;
  hasRecords: boolean;
  /** A record of the pass was refused without a known externalId: which rows it stands for is unknown. */
  poisoned: boolean;
}

interface Pending {
  item: OutboundItem;
  pass: string;
}

interface PendingNote {
  stream: string;
  externalId: string;
  reasons: string[];
  pass: string;
}

/** What the ledger needs to know of a sent record item when its outcome comes back. */
interface SentMeta {
  fingerprint: string;
  pass: string;
}

const DELETE_PAGE = 500;

/** The options the settings give (skip_unchanged, delete_mode, max_delete_fraction); `fullResync` is --full-resync. */
export function ledgerSinkOptions(
  settings: Settings,
  run: { store: LedgerStore; runId: string; onOutcome: OutcomeHandler; log: Logger; fullResync?: boolean },
): LedgerSinkOptions {
  return {
    store: run.store,
    runId: run.runId,
    dryRun: settings.dry_run,
    skipUnchanged: settings.skip_unchanged && !run.fullResync,
    deleteMode: settings.delete_mode,
    maxDeleteFraction: settings.max_delete_fraction,
    retryRejected: true,
    onOutcome: run.onOutcome,
    log: run.log,
  };
}

export function createLedgerSink(createInner: (onOutcome: OutcomeHandler) => Sink, opts: LedgerSinkOptions): LedgerSink {
  return new LedgerSink(createInner, opts);
}

export class LedgerSink implements Sink {
  private readonly inner: Sink;
  private readonly store: LedgerStore;
  private readonly log: Logger;
  private readonly chunkSize: number;
  private readonly flushIntervalMs: number;
  private readonly maxOutcomesPerFlush: number;

  private pending: Pending[] = [];
  private pendingNotes: PendingNote[] = [];
  /** Chunks are processed one after the other; errors end up in `failure`. */
  private chunkChain: Promise<void> = Promise.resolve();
  private chunksQueued = 0;
  /** A STATE asked for a flush while a chunk was being processed. */
  private flushWanted = false;

  private outcomes: Outcome[] = [];
  private outcomeChain: Promise<void> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | undefined;

  private readonly passes = new Map<string, Pass>();
  private passCount = 0;
  private readonly streamObjects = new Map<string, string | null>();
  private readonly sentMeta = new WeakMap<OutboundItem, SentMeta>();
  /**
   * Writes of this run that Siro has not answered yet (or whose answer is not in the ledger yet), per
   * `object \0 externalId`: the newest item sent and how many are open. While one is open, the ledger's
   * fingerprint says nothing about what Siro will hold, so a later record of that id is always sent.
   */
  private readonly openWrites = new Map<string, { newest: OutboundItem; open: number }>();
  private readonly countedWrites = new WeakSet<OutboundItem>();
  /** Dry run only (nothing may be written): `stream \0 externalId` → pass marker of the rows read. */
  private readonly seenInDryRun = new Map<string, string>();

  /** The error that ends the run (the ledger's, or the inner sink's fatal one): push and drain throw it. */
  private failure: Error | undefined;
  /** The ledger itself failed: outcomes can no longer be recorded, so none is forwarded any more. */
  private ledgerFailed = false;
  private closing = false;
  private retriesDone = false;
  private readonly counts: LedgerCounts = { unchanged: 0, deletesQueued: 0, deletesBlocked: 0, retriesQueued: 0 };

  constructor(
    createInner: (onOutcome: OutcomeHandler) => Sink,
    private readonly opts: LedgerSinkOptions,
  ) {
    this.store = opts.store;
    this.log = opts.log;
    this.chunkSize = opts.chunkSize ?? 500;
    this.flushIntervalMs = opts.flushIntervalMs ?? 50;
    this.maxOutcomesPerFlush = opts.maxOutcomesPerFlush ?? 1000;
    this.inner = createInner((o) => this.onInnerOutcome(o));
  }

  async push(item: OutboundItem): Promise<void> {
    this.throwIfFailed();
    const pass = this.passOf(item.stream);
    pass.hasRecords = true;
    if (!this.streamObjects.get(item.stream)) this.streamObjects.set(item.stream, item.object);
    // A dry run remembers every row only when it must show soft deletes; otherwise memory stays flat
    // (rows the ledger lists as rejected are remembered in processChunk, for the retry preview).
    if (this.opts.dryRun && this.opts.deleteMode === 'soft') this.seenInDryRun.set(seenKey(item.stream, item.externalId), pass.marker);
    this.pending.push({ item, pass: pass.marker });
    // Wait for the chunk (lookups, then sending the changed items: the inner sink's backpressure).
    if (this.pending.length >= this.chunkSize || this.chunksQueued > 1) await this.flushChunk();
    this.throwIfFailed();
  }

  noteUnsent(info: { stream: string; externalId?: string; reasons: string[] }): void {
    this.inner.noteUnsent?.(info);
    const pass = this.passOf(info.stream);
    pass.hasRecords = true;
    if (info.externalId === undefined) {
      // This row is still in the table, but which ledger row it is cannot be told: no deletes for the stream.
      pass.poisoned = true;
      return;
    }
    if (this.opts.dryRun) {
      this.seenInDryRun.set(seenKey(info.stream, info.externalId), pass.marker);
      return;
    }
    this.pendingNotes.push({ stream: info.stream, externalId: info.externalId, reasons: info.reasons, pass: pass.marker });
    if (this.pendingNotes.length >= this.chunkSize) void this.flushChunk();
  }

  flushPending(): void {
    if (this.failure) return;
    // Taps may send a STATE after every record: while a lookup runs, later items gather for the next one.
    if (this.chunksQueued > 0) this.flushWanted = true;
    else this.startFlush();
  }

  private startFlush(): void {
    this.flushWanted = false;
    void this.flushChunk().then(() => {
      this.inner.flushPending?.();
      return this.flushOutcomes();
    });
  }

  async activateVersion(stream: string, version: number): Promise<void> {
    this.throwIfFailed();
    const pass = this.passes.get(stream);
    // Records of the stream after this message belong to a new pass.
    this.passes.set(stream, this.newPass());
    if (pass?.hasRecords) {
      await this.flushChunk();
      this.throwIfFailed();
      if (this.opts.deleteMode === 'soft') await this.deleteGone(stream, version, pass);
    }
    // An activation with no records of the stream before it opens a pass (taps send one at the start of
    // every stream, incremental ones too): it never deletes anything.
    await this.inner.activateVersion?.(stream, version);
    this.throwIfFailed();
  }

  async drain(): Promise<void> {
    this.throwIfFailed();
    await this.flushChunk();
    this.throwIfFailed();
    try {
      if (this.opts.retryRejected && !this.retriesDone) {
        this.retriesDone = true;
        await this.pushRetries();
      }
      await this.inner.drain();
    } finally {
      // Whatever Siro acknowledged goes into the ledger, even when the run ends in error.
      await this.flushOutcomes();
    }
    this.throwIfFailed();
  }

  async close(graceMs: number): Promise<void> {
    this.closing = true;
    // Buffered items are looked up still, so unchanged ones count as finished; changed ones are not sent.
    const looked = this.flushChunk();
    try {
      await this.inner.close(graceMs);
    } finally {
      await looked;
      await this.flushOutcomes();
      if (this.flushTimer) clearTimeout(this.flushTimer);
    }
  }

  stats(): DeliveryStats {
    return this.inner.stats();
  }

  ledgerCounts(): LedgerCounts {
    return { ...this.counts };
  }

  // ---- change detection -------------------------------------------------------------------------------

  private flushChunk(): Promise<void> {
    if (this.pending.length === 0 && this.pendingNotes.length === 0) return this.chunkChain;
    const items = this.pending;
    const notes = this.pendingNotes;
    this.pending = [];
    this.pendingNotes = [];
    this.chunksQueued++;
    this.chunkChain = this.chunkChain
      .then(() => (this.failure ? undefined : this.processChunk(items, notes)))
      .catch((e: unknown) => this.failLedger(e as Error, 'ledger lookup failed'))
      .finally(() => {
        this.chunksQueued--;
        if (this.flushWanted && this.chunksQueued === 0 && !this.failure) this.startFlush();
      });
    return this.chunkChain;
  }

  private async processChunk(items: Pending[], notes: PendingNote[]): Promise<void> {
    const known = await this.lookup(items);
    const unchanged: OutboundItem[] = [];
    const toSend: { item: OutboundItem; meta: SentMeta }[] = [];
    const writes: LedgerWrite[] = [];
    for (const { item, pass } of items) {
      // The JSON text is made once: it is fingerprinted here and written as is by the sink behind.
      const json = itemJson(item);
      const fp = fingerprintOfJson(json);
      const row = known.get(item.object)?.get(item.externalId);
      if (this.opts.dryRun && row?.rejected) this.seenInDryRun.set(seenKey(item.stream, item.externalId), pass);
      // (A row the target soft-deleted has the fingerprint of its delete payload, so it never matches here;
      // one the mapping itself marked deleted, via deletedAt, does, and is not re-sent.)
      const openWrite = this.openWrites.get(writeKey(item));
      if (this.opts.skipUnchanged && !openWrite && row && row.fingerprint === fp) {
        unchanged.push(item);
        // Siro holds this payload: an earlier refusal of another payload no longer matters.
        if (row.rejected && !this.opts.dryRun) writes.push({ kind: 'clear-rejection', object: item.object, externalId: item.externalId });
      } else if (row?.deleted && !('deletedAt' in item.payload)) {
        // The row is back after a soft delete: say so explicitly (an upsert may otherwise keep deletedAt).
        // The ledger keeps the mapped payload's fingerprint, so the next run finds it unchanged.
        toSend.push({ item: { ...item, json: undefined, payload: { ...item.payload, deletedAt: null } }, meta: { fingerprint: fp, pass } });
      } else {
        toSend.push({ item, meta: { fingerprint: fp, pass } });
      }
      const decided = toSend.at(-1);
      if (decided && decided.meta.pass === pass && writeKey(decided.item) === writeKey(item) && !this.countedWrites.has(decided.item)) {
        this.noteWriteOpened(decided.item);
      }
    }
    if (notes.length > 0) writes.push(...(await this.noteWrites(notes)));
    if (writes.length > 0) await this.store.write(writes);

    this.counts.unchanged += unchanged.length;
    for (const item of unchanged) this.forward({ kind: 'unchanged', item });

    for (const { item, meta } of toSend) {
      if (this.closing || this.failure) return;
      this.sentMeta.set(item, meta);
      try {
        await this.inner.push(item);
      } catch (e) {
        // The inner sink's own fatal error (or it was closed): the pipeline reports it, not as a ledger fault.
        this.failure ??= e as Error;
        return;
      }
    }
  }

  /** Ledger rows of the chunk's items per object; outside a dry run they are marked as read in their pass. */
  private async lookup(items: Pending[]): Promise<Map<string, Map<string, KnownRow>>> {
    // A pass belongs to one stream, so each group is one object of one stream.
    const groups = new Map<string, { object: string; pass: string; stream: string; ids: string[] }>();
    for (const { item, pass } of items) {
      const key = `${item.object}\u0000${pass}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { object: item.object, pass, stream: item.stream, ids: [] }));
      g.ids.push(item.externalId);
    }
    const out = new Map<string, Map<string, KnownRow>>();
    for (const g of groups.values()) {
      const found = await this.store.lookup(g.object, g.ids, this.opts.dryRun ? undefined : { pass: g.pass, stream: g.stream });
      const into = out.get(g.object);
      if (into) for (const [k, v] of found) into.set(k, v);
      else out.set(g.object, found);
    }
    return out;
  }

  /** Records the target refused before delivery: still in the table (mark them read), refusal recorded. */
  private async noteWrites(notes: PendingNote[]): Promise<LedgerWrite[]> {
    const byPass = new Map<string, { stream: string; pass: string; ids: string[] }>();
    for (const n of notes) {
      const key = `${n.stream}\u0000${n.pass}`;
      let g = byPass.get(key);
      if (!g) byPass.set(key, (g = { stream: n.stream, pass: n.pass, ids: [] }));
      g.ids.push(n.externalId);
    }
    for (const g of byPass.values()) await this.store.markSeen(g.stream, g.ids, g.pass);

    const at = new Date().toISOString();
    const writes: LedgerWrite[] = [];
    for (const n of notes) {
      const object = await this.objectOfStream(n.stream);
      // A stream the ledger has never seen delivered: no row to attach the refusal to (the rejects file has it).
      if (!object) continue;
      writes.push({
        kind: 'reject',
        object,
        externalId: n.externalId,
        stream: n.stream,
        reason: n.reasons.join('; '),
        // The refused record never became a sendable payload; a stale earlier one must not be retried.
        payload: null,
        runId: this.opts.runId,
        pass: n.pass,
        at,
      });
    }
    return writes;
  }

  private async objectOfStream(stream: string): Promise<string | undefined> {
    if (!this.streamObjects.has(stream)) this.streamObjects.set(stream, (await this.store.objectOfStream(stream)) ?? null);
    return this.streamObjects.get(stream) ?? undefined;
  }

  // ---- outcomes ---------------------------------------------------------------------------------------

  private onInnerOutcome(o: Outcome): void {
    if (this.opts.dryRun) {
      this.forward(o);
      return;
    }
    if (this.ledgerFailed) return; // the ledger cannot record it: the pipeline must not count it as done
    this.outcomes.push(o);
    if (this.outcomes.length >= this.maxOutcomesPerFlush) void this.flushOutcomes();
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => void this.flushOutcomes(), this.flushIntervalMs);
      this.flushTimer.unref();
    }
  }

  /** Writes queued outcomes to the ledger, then (only then) hands them to the pipeline. */
  private flushOutcomes(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    this.outcomeChain = this.outcomeChain.then(async () => {
      while (this.outcomes.length > 0 && !this.ledgerFailed) {
        const batch = this.outcomes.splice(0, this.maxOutcomesPerFlush);
        try {
          await this.store.write(batch.flatMap((o) => this.writeFor(o)));
        } catch (e) {
          this.failLedger(e as Error, 'ledger write failed');
          return;
        }
        for (const o of batch) this.forward(o);
      }
    });
    return this.outcomeChain;
  }

  private isSuperseded(item: OutboundItem): boolean {
    const w = this.openWrites.get(writeKey(item));
    return w !== undefined && w.newest !== item;
  }

  private writeFor(o: Outcome): LedgerWrite[] {
    const { item } = o;
    const meta = this.sentMeta.get(item);
    const at = new Date().toISOString();
    if (o.kind === 'acked') {
      const deletedAt = item.payload.deletedAt;
      return [
        {
          kind: 'ack',
          object: item.object,
          externalId: item.externalId,
          stream: item.stream,
          // An older write answered while a newer one of the id is open (or superseded by it in a batch):
          // which of the two Siro ends up holding is not known yet, so record no fingerprint to match.
          fingerprint: this.isSuperseded(item) ? '' : (meta?.fingerprint ?? fingerprint(item.payload)),
          siroId: o.siroId,
          payload: payloadJson(item.payload),
          runId: this.opts.runId,
          pass: meta?.pass,
          // Siro now holds this payload: deleted exactly when it carries a deletedAt.
          deletedAt: typeof deletedAt === 'string' ? isoOr(deletedAt, at) : null,
          at,
        },
      ];
    }
    if (o.kind === 'rejected') {
      return [
        {
          kind: 'reject',
          object: item.object,
          externalId: item.externalId,
          stream: item.stream,
          reason: o.reasons.join('; ') || (o.status ? `HTTP ${o.status}` : 'refused'),
          status: o.status,
          payload: payloadJson(item.payload),
          runId: this.opts.runId,
          pass: meta?.pass,
          at,
        },
      ];
    }
    return [];
  }

  private noteWriteOpened(item: OutboundItem): void {
    const key = writeKey(item);
    const w = this.openWrites.get(key);
    if (w) {
      w.newest = item;
      w.open++;
    } else this.openWrites.set(key, { newest: item, open: 1 });
    this.countedWrites.add(item);
  }

  private noteWriteClosed(item: OutboundItem): void {
    if (!this.countedWrites.has(item)) return;
    this.countedWrites.delete(item);
    const key = writeKey(item);
    const w = this.openWrites.get(key);
    if (w && --w.open <= 0) this.openWrites.delete(key);
  }

  private forward(o: Outcome): void {
    this.noteWriteClosed(o.item);
    try {
      this.opts.onOutcome(o);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'outcome handler failed');
    }
  }

  // ---- soft deletes -----------------------------------------------------------------------------------

  private async deleteGone(stream: string, version: number, pass: Pass): Promise<void> {
    if (pass.poisoned) {
      this.log.warn(
        { stream, version },
        `stream "${stream}": some records of this full-table pass were rejected before their externalId was known, so rows missing from the pass cannot be told apart from them; no soft deletes for this stream in this run`,
      );
      return;
    }
    const { live, gone } = await this.countGone(stream, pass);
    if (gone === 0) return;
    const limit = this.opts.maxDeleteFraction * live;
    if (gone > limit) {
      this.counts.deletesBlocked += gone;
      this.log.warn(
        { stream, version, gone, live, max_delete_fraction: this.opts.maxDeleteFraction },
        `stream "${stream}": ${gone} of ${live} rows in the ledger (${percent(gone, live)}) are missing from this full-table pass, more than max_delete_fraction (${this.opts.maxDeleteFraction}) allows; nothing is deleted. If the rows really are gone, raise max_delete_fraction for one run.`,
      );
      return;
    }
    const deletedAt = new Date().toISOString();
    this.log.info({ stream, version, gone, live, dry_run: this.opts.dryRun }, `stream "${stream}": soft-deleting ${gone} row(s) gone from the full table`);
    let pushed = 0;
    for await (const key of this.goneRows(stream, pass)) {
      if (this.closing) break;
      this.throwIfFailed();
      await this.inner.push({
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
    this.counts.deletesQueued += pushed;
    if (pushed > 0 && !this.closing) {
      // A later pass of the same stream in this run must see these rows as deleted, not as unchanged.
      await this.inner.drain();
      await this.flushOutcomes();
    }
    this.throwIfFailed();
  }

  private async countGone(stream: string, pass: Pass): Promise<{ live: number; gone: number }> {
    if (!this.opts.dryRun) {
      return { live: await this.store.countLive(stream), gone: await this.store.countUnseen(stream, pass.marker) };
    }
    let live = 0;
    let gone = 0;
    for await (const key of this.livePages(stream)) {
      live++;
      if (this.seenInDryRun.get(seenKey(stream, key.externalId)) !== pass.marker) gone++;
    }
    return { live, gone };
  }

  private async *goneRows(stream: string, pass: Pass): AsyncGenerator<RowKey> {
    if (this.opts.dryRun) {
      for await (const key of this.livePages(stream)) {
        if (this.seenInDryRun.get(seenKey(stream, key.externalId)) !== pass.marker) yield key;
      }
      return;
    }
    let after: RowKey | undefined;
    for (;;) {
      const rows = await this.store.unseenPage(stream, pass.marker, after, DELETE_PAGE);
      yield* rows;
      if (rows.length < DELETE_PAGE) return;
      after = rows[rows.length - 1];
    }
  }

  private async *livePages(stream: string): AsyncGenerator<RowKey> {
    let after: RowKey | undefined;
    for (;;) {
      const rows = await this.store.livePage(stream, after, DELETE_PAGE);
      yield* rows;
      if (rows.length < DELETE_PAGE) return;
      after = rows[rows.length - 1];
    }
  }

  // ---- retries ----------------------------------------------------------------------------------------

  private async pushRetries(): Promise<void> {
    let pushed = 0;
    const rows = this.store.rejectedRows({
      withPayload: true,
      stream: this.opts.retryStream,
      notSeenInRun: this.opts.dryRun ? undefined : this.opts.runId,
    });
    for await (const row of rows) {
      if (this.closing) break;
      this.throwIfFailed();
      // A row read again in this run was mapped afresh: its new payload wins over the refused one.
      if (this.opts.dryRun && this.seenInDryRun.has(seenKey(row.stream, row.externalId))) continue;
      await this.inner.push({
        seq: 0,
        line: 0,
        key: '',
        stream: row.stream,
        object: row.object as SiroObject,
        externalId: row.externalId,
        payload: row.rejectedPayload!,
        origin: 'retry',
      });
      pushed++;
    }
    this.counts.retriesQueued += pushed;
    if (pushed > 0) this.log.info({ retried: pushed, dry_run: this.opts.dryRun }, `retrying ${pushed} row(s) refused in earlier runs`);
  }

  // ---- helpers ----------------------------------------------------------------------------------------

  private passOf(stream: string): Pass {
    let pass = this.passes.get(stream);
    if (!pass) this.passes.set(stream, (pass = this.newPass()));
    return pass;
  }

  private newPass(): Pass {
    return { marker: `${this.opts.runId}:${++this.passCount}`, hasRecords: false, poisoned: false };
  }

  private failLedger(e: Error, what: string): void {
    if (this.ledgerFailed) return;
    this.ledgerFailed = true;
    this.failure ??= new LedgerError(`${what} (${this.store.location}): ${e.message}`, { cause: e });
    this.outcomes = [];
    this.log.error({ err: e.message }, `${what} (${this.store.location}): no further outcome is reported, so no further state is printed`);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

function writeKey(item: OutboundItem): string {
  return `${item.object}\0${item.externalId}`;
}

function seenKey(stream: string, externalId: string): string {
  return `${stream}\u0000${externalId}`;
}

/** The time as ISO text (what both ledger backends store the same way), or `fallback` if it is no time. */
function isoOr(text: string, fallback: string): string {
  const t = Date.parse(text);
  return Number.isNaN(t) ? fallback : new Date(t).toISOString();
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '100%' : `${((part / whole) * 100).toFixed(1)}%`;
}
