import type { Logger } from 'pino';
import { SIRO_OBJECT_NAMES, type SiroObject } from '../siro/objects.js';
import { Batcher, itemsOf, type Batch, type Entry } from './batcher.js';
import { BatchSender, type SenderHost } from './batch-sender.js';
import { dependentBatchers } from './dependencies.js';
import { RequestSlots } from './request-slots.js';
import type { RequestInfo } from './request-stats.js';
import { emptyStats, type DeliveryStats, type OutboundItem, type Outcome, type OutcomeHandler, type Sink } from './sink.js';

export type { RequestInfo } from './request-stats.js';

/**
 * Real delivery to Siro: mapped payloads become batched, rate-limited, retried sync requests, and each
 * pushed item gets exactly one outcome (acked or rejected) unless the run stops first.
 *
 * This module is the Sink: backpressure on push(), drain(), close() and the fatal stop. The work is done by
 * Batcher (per object type; per-externalId ordering), dependencies.ts (an engagement waits for the
 * opportunity it references), RequestSlots (requests in flight, client-side rate limit, retry budgets) and
 * BatchSender (one batch's requests, applying siro/answers.ts to each answer).
 *
 * After a fatal error nothing more is sent and no more outcomes are reported; push() and drain() reject.
 */

export interface SiroSinkOptions {
  baseUrl: string;
  apiToken: string;
  userAgent: string;
  /** Items per request; 1 uses the single-item endpoints. */
  batchSize: number;
  /** Requests in flight at once. */
  maxConcurrency: number;
  /** Client-side request rate (Siro documents 1000 per token per minute). */
  rateLimitPerMinute: number;
  maxRetries: number;
  maxRetryTimeMs: number;
  requestTimeoutMs: number;
  /** push() waits while this many items are unfinished (default max(64, batchSize × maxConcurrency × 2)). */
  maxQueuedItems?: number;
  /** How long a partial batch may wait for more items (default 50 ms); drain() sends at once. */
  batchLingerMs?: number;
  /** Backoff: ceiling of the first retry's wait (default 250 ms) and of any wait (default 30 s). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  onOutcome: OutcomeHandler;
  /** Called after every HTTP exchange (for METRIC logs). */
  onRequest?: (info: RequestInfo) => void;
  log?: Logger;
}

/** push() or drain() after close(). */
export class SinkClosedError extends Error {
  constructor() {
    super('delivery stopped: the Siro sink is closed');
    this.name = 'SinkClosedError';
  }
}

export function createSiroSink(opts: SiroSinkOptions): Sink {
  return new SiroSink(opts);
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

class SiroSink implements Sink, SenderHost {
  private readonly slots: RequestSlots;
  private readonly sender: BatchSender;
  private readonly batchers: Record<SiroObject, Batcher>;
  private readonly counters: DeliveryStats = emptyStats();
  private readonly maxQueued: number;
  private readonly lingerMs: number;
  private readonly log: Logger | undefined;

  /** Pushed items without an outcome yet (superseded ones included). */
  private pending = 0;
  private flushWanted = false;
  private draining = false;
  private fatal: Error | undefined;
  private closed = false;
  /** Requests in flight were aborted at the end of close(): their answers no longer count. */
  private abandoned = false;
  private shutdown: Promise<void> | undefined;
  private readonly running = new Set<Promise<void>>();
  private roomWaiters: Waiter[] = [];
  private drainWaiters: Waiter[] = [];

  constructor(private readonly opts: SiroSinkOptions) {
    this.slots = new RequestSlots({
      maxConcurrency: opts.maxConcurrency,
      rateLimitPerMinute: opts.rateLimitPerMinute,
      retry: {
        maxRetries: opts.maxRetries,
        maxRetryTimeMs: opts.maxRetryTimeMs,
        baseDelayMs: opts.retryBaseDelayMs,
        maxDelayMs: opts.retryMaxDelayMs,
      },
      onSlotFreed: () => this.flushIfSlotFree(),
    });
    this.sender = new BatchSender({ ...opts, counters: this.counters, slots: this.slots }, this);
    // Two rounds of requests: one in flight, one ready to refill freed slots. More only holds payloads longer
    // (each queued item outlives collections and is promoted: peak memory, not throughput).
    this.maxQueued = Math.max(1, opts.maxQueuedItems ?? Math.max(64, opts.batchSize * opts.maxConcurrency * 2));
    this.lingerMs = opts.batchLingerMs ?? 50;
    this.log = opts.log;
    this.batchers = dependentBatchers(
      (object, wiring) =>
        new Batcher({
          object,
          batchSize: opts.batchSize,
          lingerMs: this.lingerMs,
          onReady: (batch) => this.schedule(batch),
          onLinger: () => this.requestFlush(),
          ...wiring,
        }),
    );
  }

  // ---- the Sink interface -------------------------------------------------------------------------------

  push(item: OutboundItem): Promise<void> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.closed) return Promise.reject(new SinkClosedError());
    this.pending++;
    this.batchers[item.object].add(item);
    if (this.pending < this.maxQueued) return Promise.resolve();
    return new Promise((resolve, reject) => this.roomWaiters.push({ resolve, reject }));
  }

  drain(): Promise<void> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.closed) return Promise.reject(new SinkClosedError());
    if (this.pending === 0) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
    this.setDraining(true);
    return done;
  }

  flushPending(): void {
    this.requestFlush();
  }

  close(graceMs: number): Promise<void> {
    this.shutdown ??= this.shutDown(graceMs);
    return this.shutdown;
  }

  stats(): DeliveryStats {
    return this.counters;
  }

  // ---- scheduling ---------------------------------------------------------------------------------------

  // ---- what the BatchSender asks ------------------------------------------------------------------------

  get closing(): boolean {
    return this.closed;
  }

  get halted(): boolean {
    return this.closed || this.fatal !== undefined;
  }

  get ignoringAnswers(): boolean {
    return this.abandoned || this.fatal !== undefined;
  }

  batcher(object: SiroObject): Batcher {
    return this.batchers[object];
  }

  /** Partial batches go out when a request slot is free; until then they keep filling. */
  private requestFlush(): void {
    this.flushWanted = true;
    this.flushIfSlotFree();
  }

  private flushIfSlotFree(): void {
    if (!this.flushWanted || this.halted || !this.slots.free) return;
    this.flushWanted = false;
    for (const object of SIRO_OBJECT_NAMES) this.batchers[object].flush();
  }

  private setDraining(on: boolean): void {
    if (this.draining === on) return;
    this.draining = on;
    // While draining no more items come, so a partial batch has nothing to wait for.
    for (const object of SIRO_OBJECT_NAMES) this.batchers[object].setLinger(on ? 0 : this.lingerMs);
    if (on) this.requestFlush();
  }

  schedule(batch: Batch): void {
    if (this.halted) return;
    void this.run(batch);
  }

  private async run(batch: Batch): Promise<void> {
    const task = this.sender.send(batch).catch((e: unknown) => this.failRun(e instanceof Error ? e : new Error(String(e))));
    this.running.add(task);
    try {
      await task;
    } finally {
      this.running.delete(task);
    }
  }

  // ---- outcomes and waiters -----------------------------------------------------------------------------

  /** The entry's outcome, for its item and the items it superseded; frees its externalId. */
  settle(batch: Batch, entry: Entry, outcome: (item: OutboundItem) => Outcome): void {
    if (this.fatal || this.abandoned) return;
    const items = itemsOf(entry);
    for (const item of items) {
      const o = outcome(item);
      if (o.kind === 'acked') this.counters.acked++;
      else this.counters.rejected++;
      this.opts.onOutcome(o);
    }
    this.pending -= items.length;
    this.batchers[batch.object].finish(entry);
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    while (this.roomWaiters.length > 0 && this.pending < this.maxQueued) this.roomWaiters.shift()!.resolve();
    if (this.pending === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      this.setDraining(false);
      for (const w of waiters) w.resolve();
    }
  }

  private rejectWaiters(error: Error): void {
    const waiters = [...this.roomWaiters, ...this.drainWaiters];
    this.roomWaiters = [];
    this.drainWaiters = [];
    for (const w of waiters) w.reject(error);
  }

  /** Stops sending new requests and waiting; requests in flight continue unless `abortInFlight`. */
  private stopWork(abortInFlight: boolean): void {
    for (const object of SIRO_OBJECT_NAMES) this.batchers[object].stop();
    this.slots.stop(new SinkClosedError());
    if (abortInFlight) this.sender.abortInFlight();
  }

  failRun(error: Error): void {
    if (this.fatal || this.abandoned) return;
    this.fatal = error;
    this.log?.debug({ error: error.message }, 'delivery stopped by a fatal error');
    this.stopWork(true);
    this.rejectWaiters(error);
    void this.sender.destroy().catch(() => undefined);
  }

  private async shutDown(graceMs: number): Promise<void> {
    this.closed = true;
    this.stopWork(false);
    this.rejectWaiters(this.fatal ?? new SinkClosedError());
    if (this.running.size > 0) await settledWithin([...this.running], graceMs);
    // Whatever is still in flight is given up: its items get no outcome, so their state is never printed.
    this.abandoned = true;
    this.sender.abortInFlight();
    await Promise.allSettled([...this.running]);
    await this.sender.destroy().catch(() => undefined);
  }
}

/** Waits for the promises to settle, but no longer than `ms`. */
async function settledWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(promises), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
