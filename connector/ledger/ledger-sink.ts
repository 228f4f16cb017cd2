import type { Settings } from '../config/settings.js';
import type { Logger } from '../core/log.js';
import type { DeliveryStats, OutboundItem, Outcome, OutcomeHandler, Sink, UnsentRecord } from '../delivery/sink.js';
import { decideChange } from './change.js';
import { fingerprintOfJson } from './fingerprint.js';
import { itemJson } from '../delivery/payload-json.js';
import { stringifyExact } from '../singer/exact-json.js';
import { PassTracker } from './passes.js';
import { pushRetries, type Remap } from './retry-sweep.js';
import { sweepGoneRows } from './soft-delete-sweep.js';
import { LedgerError, SyncLogBatch, type KnownRow, type LedgerStore, type LedgerWrite, type SyncOperation } from './store.js';
import type { SweepHost } from './sweep-host.js';

/**
 * A Sink between the pipeline and the real sink (Siro, or the dry run) that keeps the ledger:
 *
 * - change detection: pushed items are looked up in chunks and each gets the change decision (change.ts);
 *   an item whose payload Siro already holds is reported `unchanged` and never sent;
 * - acknowledgements and refusals from the inner sink are written to the ledger in one transaction per
 *   flush, and only then forwarded to the pipeline, so no state is printed before the ledger knows, and
 *   the ledger never claims a row Siro did not acknowledge;
 * - at the end of input it runs the retry sweep (retry-sweep.ts), and when an ACTIVATE_VERSION closes a
 *   full-table pass (passes.ts), the soft-delete sweep (soft-delete-sweep.ts).
 *
 * Every outcome it records also gets a sync log row (operation and status, Siro's message or the reason)
 * in the same transaction, and so does every unchanged item and every refusal before delivery.
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
  /**
   * Maps a kept source record again with the current mappings (rows the mapping refused): a fixed mapping
   * sends them in the retry sweep. Without it such rows wait.
   */
  remap?: Remap;
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

interface Pending {
  item: OutboundItem;
  pass: string;
}

/** The ledger's note on an item it sends (OutboundItem.sent), with the change decision for the sync log. */
interface SentMeta {
  fingerprint: string;
  pass: string;
  open: boolean;
  operation: SyncOperation;
}

interface PendingNote {
  stream: string;
  externalId: string;
  object?: string;
  reasons: string[];
  stage: 'input' | 'schema' | 'mapping';
  record?: Record<string, unknown>;
  pass: string;
}

/** The options the settings give (skip_unchanged, delete_mode, max_delete_fraction); `fullResync` is --full-resync. */
export function ledgerSinkOptions(
  settings: Settings,
  run: { store: LedgerStore; runId: string; onOutcome: OutcomeHandler; log: Logger; fullResync?: boolean; remap?: Remap },
): LedgerSinkOptions {
  return {
    store: run.store,
    runId: run.runId,
    dryRun: settings.dry_run,
    skipUnchanged: settings.skip_unchanged && !run.fullResync,
    deleteMode: settings.delete_mode,
    maxDeleteFraction: settings.max_delete_fraction,
    retryRejected: true,
    remap: run.remap,
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

  private readonly passes: PassTracker;
  private readonly sweepHost: SweepHost;
  private readonly streamObjects = new Map<string, string | null>();
  /**
   * Writes of this run that Siro has not answered yet (or whose answer is not in the ledger yet), per
   * `object \0 externalId`: the newest item sent and how many are open. While one is open, the ledger's
   * fingerprint says nothing about what Siro will hold, so a later record of that id is always sent.
   */
  private readonly openWrites = new Map<string, { newest: OutboundItem; open: number }>();
  /** The sync log operation of retries the retry sweep pushed, until their outcome is recorded (few: not on the item). */
  private readonly sweepOperations = new Map<OutboundItem, SyncOperation>();

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
    this.passes = new PassTracker(opts.runId);
    this.sweepHost = {
      store: this.store,
      log: this.log,
      dryRun: opts.dryRun,
      push: (item, operation) => {
        if (operation !== undefined && !opts.dryRun) this.sweepOperations.set(item, operation);
        return this.inner.push(item);
      },
      closing: () => this.closing,
      throwIfFailed: () => this.throwIfFailed(),
      settle: async () => {
        await this.inner.drain();
        await this.flushOutcomes();
      },
    };
  }

  /** Synchronous until a chunk is full: a promise (and a microtask hop) per record was a large share of a run's time. */
  push(item: OutboundItem): void | Promise<void> {
    this.throwIfFailed();
    const pass = this.passes.current(item.stream);
    pass.hasRecords = true;
    if (!this.streamObjects.get(item.stream)) this.streamObjects.set(item.stream, item.object);
    // A dry run remembers every row only when it must show soft deletes; otherwise memory stays flat
    // (rows the ledger lists as rejected are remembered in processChunk, for the retry preview).
    if (this.opts.dryRun && this.opts.deleteMode === 'soft') this.passes.noteSeenInDryRun(item.stream, item.externalId, pass.marker);
    this.pending.push({ item, pass: pass.marker });
    // Wait for the chunk (lookups, then sending the changed items: the inner sink's backpressure).
    if (this.pending.length >= this.chunkSize || this.chunksQueued > 1) return this.flushChunk().then(() => this.throwIfFailed());
  }

  noteUnsent(info: UnsentRecord): void {
    this.inner.noteUnsent?.(info);
    const pass = this.passes.current(info.stream);
    pass.hasRecords = true;
    if (info.externalId === undefined) {
      // This row is still in the table, but which ledger row it is cannot be told: no deletes for the stream.
      pass.poisoned = true;
      return;
    }
    if (this.opts.dryRun) {
      this.passes.noteSeenInDryRun(info.stream, info.externalId, pass.marker);
      return;
    }
    this.pendingNotes.push({
      stream: info.stream,
      externalId: info.externalId,
      object: info.object,
      reasons: info.reasons,
      stage: info.stage,
      record: info.record,
      pass: pass.marker,
    });
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
    const pass = this.passes.close(stream);
    if (pass?.hasRecords) {
      await this.flushChunk();
      this.throwIfFailed();
      if (this.opts.deleteMode === 'soft') {
        await sweepGoneRows(this.sweepHost, this.passes, { maxDeleteFraction: this.opts.maxDeleteFraction, counts: this.counts }, { stream, version, pass });
      }
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
        this.counts.retriesQueued += await pushRetries(this.sweepHost, this.passes, {
          runId: this.opts.runId,
          stream: this.opts.retryStream,
          remap: this.opts.remap,
        });
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
    const toSend: OutboundItem[] = [];
    const writes: LedgerWrite[] = [];
    // A dry run writes no sync log either.
    const log = this.opts.dryRun ? undefined : new SyncLogBatch(this.opts.runId, new Date().toISOString());
    for (const { item, pass } of items) {
      // The JSON text is made once: it is fingerprinted here and written as is by the sink behind.
      const json = itemJson(item);
      const fp = fingerprintOfJson(json);
      const row = known.get(item.object)?.get(item.externalId);
      if (this.opts.dryRun && row?.rejected) this.passes.noteSeenInDryRun(item.stream, item.externalId, pass);
      const decision = decideChange({
        payload: item.payload,
        fingerprint: fp,
        known: row,
        openWrite: this.openWrites.has(writeKey(item)),
        skipUnchanged: this.opts.skipUnchanged,
        ledger: true,
      });
      if (decision.action === 'unchanged') {
        unchanged.push(item);
        log?.add(item, 'unchanged', 'unchanged');
        if (decision.clearsRejection && !this.opts.dryRun) writes.push({ kind: 'clear-rejection', object: item.object, externalId: item.externalId });
        continue;
      }
      // The ledger records the mapped payload's fingerprint, also when the payload sent differs (resurrect).
      const sent = decision.payload === item.payload ? item : { ...item, json: undefined, payload: decision.payload };
      // 'upsert' is the decision without a ledger: not made here.
      this.noteWriteOpened(sent, fp, pass, decision.action === 'upsert' ? 'update' : decision.action);
      toSend.push(sent);
    }
    if (notes.length > 0) writes.push(...(await this.noteWrites(notes, log)));
    if (writes.length > 0 || (log && log.size > 0)) await this.store.write(writes, log);

    this.counts.unchanged += unchanged.length;
    for (const item of unchanged) this.forward({ kind: 'unchanged', item });

    for (const item of toSend) {
      if (this.closing || this.failure) return;
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
      const found = await this.store.lookup(g.object, g.ids, this.opts.dryRun ? undefined : { pass: g.pass, stream: g.stream, every: this.opts.deleteMode === 'soft' });
      const into = out.get(g.object);
      if (into) for (const [k, v] of found) into.set(k, v);
      else out.set(g.object, found);
    }
    return out;
  }

  /** Records the target refused before delivery: still in the table (mark them read), refusal recorded. */
  private async noteWrites(notes: PendingNote[], log: SyncLogBatch | undefined): Promise<LedgerWrite[]> {
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
      const object = n.object ?? (await this.objectOfStream(n.stream));
      // A stream the ledger has never seen delivered: no row to attach the refusal to (the rejects file has it).
      if (!object) continue;
      const reason = n.reasons.join('; ');
      log?.add({ stream: n.stream, object, externalId: n.externalId }, 'reject', 'rejected', {
        stage: n.stage === 'input' ? undefined : n.stage,
        message: reason,
      });
      writes.push({
        kind: 'reject',
        object,
        externalId: n.externalId,
        stream: n.stream,
        reason,
        // The refused record never became a sendable payload; a stale earlier one must not be retried. Its
        // source record is kept instead: after a mapping fix, a retry maps it again.
        payload: null,
        stage: n.stage === 'input' ? undefined : n.stage,
        record: n.record ? stringifyExact(n.record) : null,
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
          const at = new Date().toISOString();
          const log = new SyncLogBatch(this.opts.runId, at);
          await this.store.write(batch.flatMap((o) => this.writeFor(o, at, log)), log);
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

  /** What the sync log says the target did with an item it sent. */
  private operationOf(item: OutboundItem): SyncOperation {
    const sent = item.sent as SentMeta | undefined;
    if (sent) return sent.operation;
    if (item.origin === 'retry') {
      const operation = this.sweepOperations.get(item);
      this.sweepOperations.delete(item);
      if (operation !== undefined) return operation;
    }
    const deletedAt = item.payload.deletedAt;
    return item.origin === 'delete' || (typeof deletedAt === 'string' && deletedAt !== '') ? 'delete' : 'update';
  }

  private writeFor(o: Outcome, at: string, log: SyncLogBatch): LedgerWrite[] {
    const { item } = o;
    const meta = item.sent;
    if (o.kind !== 'unchanged') {
      const operation = this.operationOf(item);
      if (o.kind === 'acked') log.add(item, operation, 'acked');
      else log.add(item, operation, 'rejected', { httpStatus: o.status, stage: 'siro', message: siroReason(o) });
    }
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
          fingerprint: this.isSuperseded(item) ? '' : (meta?.fingerprint ?? fingerprintOfJson(itemJson(item))),
          siroId: o.siroId,
          payload: itemJson(item),
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
          reason: siroReason(o),
          status: o.status,
          payload: itemJson(item),
          stage: 'siro',
          runId: this.opts.runId,
          pass: meta?.pass,
          at,
        },
      ];
    }
    return [];
  }

  private noteWriteOpened(item: OutboundItem, fingerprint: string, pass: string, operation: SyncOperation): void {
    const sent: SentMeta = { fingerprint, pass, open: true, operation };
    item.sent = sent;
    const key = writeKey(item);
    const w = this.openWrites.get(key);
    if (w) {
      w.newest = item;
      w.open++;
    } else this.openWrites.set(key, { newest: item, open: 1 });
  }

  private noteWriteClosed(item: OutboundItem): void {
    if (!item.sent?.open) return;
    item.sent.open = false;
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

  // ---- helpers ----------------------------------------------------------------------------------------

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

function siroReason(o: Extract<Outcome, { kind: 'rejected' }>): string {
  return o.reasons.join('; ') || (o.status ? `HTTP ${o.status}` : 'refused');
}

function writeKey(item: OutboundItem): string {
  return `${item.object}\0${item.externalId}`;
}

/** The time as ISO text (what both ledger backends store the same way), or `fallback` if it is no time. */
function isoOr(text: string, fallback: string): string {
  const t = Date.parse(text);
  return Number.isNaN(t) ? fallback : new Date(t).toISOString();
}
