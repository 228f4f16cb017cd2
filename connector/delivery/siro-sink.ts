import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from 'pino';
import { FatalApiError } from '../core/errors.js';
import { SiroClient, SiroTransportError, type SiroResponse } from '../siro/client.js';
import { SIRO_PATHS, type SiroObject } from '../siro/spec.js';
import { Batcher, itemsOf, type Batch, type BatcherOptions, type Entry } from './batcher.js';
import { RateLimiter, parseRetryAfter } from './limiter.js';
import { RetryBudget, sleep } from './retry.js';
import { itemJson } from './payload-json.js';
import { emptyStats, type DeliveryStats, type OutboundItem, type Outcome, type OutcomeHandler, type Sink } from './sink.js';
import { bisect, describeAnswer, reasonsByItem, reasonsForItem } from './splitter.js';

/**
 * Real delivery to Siro: mapped payloads become batched, rate-limited, retried sync requests, and each
 * pushed item gets exactly one outcome (acked or rejected) unless the run stops first.
 *
 * Pieces: Batcher (per object type; per-externalId ordering), RateLimiter (client-side limit, AIMD on 429),
 * RetryBudget (backoff with full jitter), splitter (which items of a refused batch are bad), SiroClient
 * (HTTP), p-limit (requests in flight). This module decides what each answer means:
 *
 * - 2xx: every item acked, with Siro's id.
 * - 429: wait for Retry-After (everyone pauses), retry; not counted against the retry budget.
 * - 5xx, 408, timeouts, connection errors: retry with backoff. When the budget is spent and the last answer
 *   was a 5xx, a batch of several items is bisected (one item that makes Siro fail must not sink the others)
 *   and each half gets a new budget. A single item that still gets 5xx after all retries ends the run
 *   (FatalApiError): by then Siro is failing for a lone record, which means Siro is down or broken, and
 *   rejecting records one after the other for it would throw away good data. Connection errors and
 *   timeouts are never split (the server did not even answer: nothing points at an item) and so are fatal
 *   when exhausted; so is a 5xx when no request at all has succeeded for max_retry_time_ms.
 * - 400/422: items named by the issues are rejected with Siro's message, the others re-sent; when Siro does
 *   not say which items, the batch is bisected down to single items, which are rejected.
 * - 413: the batch is bisected (no retry used) and later batches are made smaller.
 * - 401/403/404 and other 4xx: the run ends at once (FatalApiError) with a message saying what to check.
 *
 * After a fatal error nothing more is sent and no more outcomes are reported; push() and drain() reject.
 *
 * Opportunities before the engagements that reference them. Siro links an engagement's nested
 * `opportunity` that carries only its externalId to an opportunity it already has, so when one run syncs
 * both, an engagement whose payload has `opportunity.externalId = X` is not sent while an opportunity item
 * X of this run is still without an outcome:
 *
 * - "Of this run" means pushed before the engagement's request starts: earlier in the input, or later but
 *   while the engagement still waits in an unsent batch (checked when the engagement would join a batch and
 *   again when its request starts). An opportunity pushed after the engagement's request started cannot
 *   hold it back; order the streams so opportunities come first (or let the engagement carry the nested
 *   opportunity in full).
 * - The engagement waits parked in its batcher (see batcher.ts): still replaceable by newer items of its
 *   externalId, so writes of one externalId keep their order; it holds no request slot; it counts as a
 *   pending item, so push()'s backpressure bounds how many can wait. Opportunities never wait for anything,
 *   so this cannot deadlock: every parked engagement is released once its opportunity's writes (including
 *   newer ones of X pushed meanwhile) have their outcomes.
 * - It waits whether the nested opportunity is full or only an externalId: either way Siro's copy of X is
 *   then written in input order (the opportunity's own sync first, the engagement's nested fields after).
 * - When Siro refuses opportunity X (or it is rejected after splitting), the engagement is sent anyway, as
 *   mapped: its own data should not be lost over its deal. If it carries the opportunity in full, Siro
 *   upserts the opportunity from it; if only the externalId, the link may dangle, which is Siro's to
 *   accept or refuse, and the engagement gets Siro's answer as its outcome. The opportunity's refusal is
 *   in the rejects file either way, and the ledger retries it in a later run.
 * - Opportunities the ledger finds unchanged (or from earlier runs) are never pushed: Siro has them, so
 *   nothing waits for them.
 */

export interface RequestInfo {
  object: SiroObject;
  items: number;
  status: number | 'network-error' | 'timeout';
  durationMs: number;
  /** 1 for the first try of a batch, 2 for its first retry, ... */
  attempt: number;
}

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
  /** push() waits while this many items are unfinished (default max(64, batchSize × maxConcurrency × 4)). */
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

/** Request durations kept for percentiles: a uniform sample, so memory stays flat on long runs. */
const LATENCY_SAMPLE_SIZE = 10_000;
/** A batch may wait out 429s for at most this long (or max_retry_time_ms if longer) before the run fails. */
const MAX_THROTTLED_MS = 600_000;

const ENDPOINTS: Record<SiroObject, { single: string; batch: string }> = {
  engagement: { single: SIRO_PATHS.engagement, batch: SIRO_PATHS.engagementBatch },
  opportunity: { single: SIRO_PATHS.opportunity, batch: SIRO_PATHS.opportunityBatch },
};

export function createSiroSink(opts: SiroSinkOptions): Sink {
  return new SiroSink(opts);
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

type Answer = SiroResponse | SiroTransportError;

class SiroSink implements Sink {
  private readonly client: SiroClient;
  private readonly limiter: RateLimiter;
  private readonly limit: LimitFunction;
  private readonly batchers: Record<SiroObject, Batcher>;
  private readonly counters: DeliveryStats = emptyStats();
  private readonly maxQueued: number;
  private readonly lingerMs: number;
  private readonly single: boolean;
  private readonly log: Logger | undefined;

  /** Pushed items without an outcome yet (superseded ones included). */
  private pending = 0;
  /** Batches waiting for a request slot or holding one (not those backing off): a slot is free below concurrency. */
  private wantingSlot = 0;
  private flushWanted = false;
  private draining = false;
  private fatal: Error | undefined;
  private closed = false;
  /** Requests in flight were aborted at the end of close(): their answers no longer count. */
  private abandoned = false;
  private closing: Promise<void> | undefined;
  /** Aborts waits (rate limiter, backoff) on close or fatal error; requests in flight have their own. */
  private readonly stopper = new AbortController();
  private readonly inFlight = new Set<AbortController>();
  private readonly running = new Set<Promise<void>>();
  private roomWaiters: Waiter[] = [];
  private drainWaiters: Waiter[] = [];
  /** Last time Siro answered in a way that shows it works (2xx, 4xx): tells a down Siro from a poison item. */
  private lastHealthyAt = performance.now();
  private latencySeen = 0;

  constructor(private readonly opts: SiroSinkOptions) {
    this.client = new SiroClient({
      baseUrl: opts.baseUrl,
      apiToken: opts.apiToken,
      userAgent: opts.userAgent,
      requestTimeoutMs: opts.requestTimeoutMs,
      connections: opts.maxConcurrency,
    });
    this.limiter = new RateLimiter({ ratePerMinute: opts.rateLimitPerMinute });
    this.limit = pLimit({ concurrency: opts.maxConcurrency, rejectOnClear: true });
    this.single = opts.batchSize === 1;
    this.maxQueued = Math.max(1, opts.maxQueuedItems ?? Math.max(64, opts.batchSize * opts.maxConcurrency * 4));
    this.lingerMs = opts.batchLingerMs ?? 50;
    this.log = opts.log;
    const batcher = (object: SiroObject, extra: Pick<BatcherOptions, 'mustWaitFor' | 'onFreed'>) =>
      new Batcher({
        object,
        batchSize: opts.batchSize,
        lingerMs: this.lingerMs,
        onReady: (batch) => this.schedule(batch),
        onLinger: () => this.requestFlush(),
        ...extra,
      });
    this.batchers = {
      // An engagement waits while the opportunity it references has a write of this run without outcome.
      engagement: batcher('engagement', {
        mustWaitFor: (item) => {
          const x = referencedOpportunity(item.payload);
          return x !== undefined && this.batchers.opportunity.tracks(x) ? x : undefined;
        },
      }),
      // ... and goes once that opportunity's last write has its outcome (acked or rejected).
      opportunity: batcher('opportunity', { onFreed: (x) => this.batchers.engagement.release(x) }),
    };
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
    this.closing ??= this.shutDown(graceMs);
    return this.closing;
  }

  stats(): DeliveryStats {
    return this.counters;
  }

  // ---- scheduling ---------------------------------------------------------------------------------------

  private get halted(): boolean {
    return this.closed || this.fatal !== undefined;
  }

  /** Partial batches go out when a request slot is free; until then they keep filling. */
  private requestFlush(): void {
    this.flushWanted = true;
    this.flushIfSlotFree();
  }

  private flushIfSlotFree(): void {
    if (!this.flushWanted || this.halted || this.wantingSlot >= this.opts.maxConcurrency) return;
    this.flushWanted = false;
    this.batchers.engagement.flush();
    this.batchers.opportunity.flush();
  }

  private setDraining(on: boolean): void {
    if (this.draining === on) return;
    this.draining = on;
    // While draining no more items come, so a partial batch has nothing to wait for.
    this.batchers.engagement.setLinger(on ? 0 : this.lingerMs);
    this.batchers.opportunity.setLinger(on ? 0 : this.lingerMs);
    if (on) this.requestFlush();
  }

  private schedule(batch: Batch): void {
    if (this.halted) return;
    void this.run(batch);
  }

  private async run(batch: Batch): Promise<void> {
    const task = this.send(batch).catch((e: unknown) => this.failRun(e instanceof Error ? e : new Error(String(e))));
    this.running.add(task);
    try {
      await task;
    } finally {
      this.running.delete(task);
    }
  }

  // ---- one batch: send, retry, decide -------------------------------------------------------------------

  private async send(batch: Batch): Promise<void> {
    // Entries that must wait for an opportunity leave the batch before it queues for a request slot.
    const ready = this.batchers[batch.object].deferBlocked(batch.entries);
    if (ready.length === 0) return;
    batch = { object: batch.object, entries: ready };
    const endpoint = ENDPOINTS[batch.object];
    const path = this.single ? endpoint.single : endpoint.batch;
    let body: string | undefined;
    const budget = new RetryBudget({
      maxRetries: this.opts.maxRetries,
      maxRetryTimeMs: this.opts.maxRetryTimeMs,
      baseDelayMs: this.opts.retryBaseDelayMs,
      maxDelayMs: this.opts.retryMaxDelayMs,
    });
    let throttledSince: number | undefined;
    let throttledMs = 0;
    for (let attempt = 1; ; attempt++) {
      // A request slot (max_concurrency) is held for the rate-limit wait and the exchange only: backoff
      // waits hold none, and the answer is read after the slot is free, so the next request goes out first.
      let answer: Answer | undefined;
      this.wantingSlot++;
      try {
        answer = await this.limit(async () => {
          await this.limiter.acquire(this.stopper.signal);
          if (this.halted) return undefined;
          if (body === undefined) {
            const sending = this.takeForSending(batch);
            if (!sending) return undefined; // every entry now waits for an opportunity pushed meanwhile
            batch = sending;
            body = this.single ? itemJson(batch.entries[0]!.item) : `[${batch.entries.map((e) => itemJson(e.item)).join(',')}]`;
          }
          if (throttledSince !== undefined) {
            const waited = performance.now() - throttledSince;
            budget.excludeWait(waited);
            throttledMs += waited;
            throttledSince = undefined;
          }
          const reply = await this.exchange(batch, path, body, attempt);
          // Pause everyone before this slot goes to the next request.
          if (reply !== undefined && !(reply instanceof SiroTransportError) && reply.status === 429) {
            this.limiter.onThrottled(parseRetryAfter(reply.headers['retry-after']));
          }
          return reply;
        });
      } catch (e) {
        if (this.halted) return; // stopped while waiting for a slot or the rate limiter
        throw e; // a bug: run() turns it into a failed run rather than a drain() that never ends
      } finally {
        this.wantingSlot--;
        this.flushIfSlotFree();
      }
      if (answer === undefined || this.abandoned || this.fatal) return;

      let failure: string;
      let serverError = false;
      if (answer instanceof SiroTransportError) {
        failure = answer.message;
      } else {
        const { status } = answer;
        if (status >= 200 && status < 300) {
          this.lastHealthyAt = performance.now();
          return this.acknowledge(batch, answer.body);
        }
        if (status === 429) {
          this.counters.throttled++;
          this.log?.debug({ object: batch.object, items: batch.entries.length, retryAfter: answer.headers['retry-after'] }, 'Siro answered 429: pausing');
          if (throttledMs > Math.max(MAX_THROTTLED_MS, this.opts.maxRetryTimeMs)) {
            return this.failRun(
              new FatalApiError(`Siro kept answering 429 (rate limited) for ${Math.round(throttledMs / 1000)} s; lower rate_limit_per_minute or check other users of the API token`, 429),
            );
          }
          if (this.closed) return;
          throttledSince = performance.now();
          continue;
        }
        if (status === 400 || status === 422) {
          this.lastHealthyAt = performance.now();
          return this.refuse(batch, status, answer.body);
        }
        if (status === 413) {
          this.lastHealthyAt = performance.now();
          return this.tooLarge(batch, answer.body);
        }
        if (status !== 408 && status < 500) return this.failRun(this.refusedRun(status, path, answer.body));
        failure = this.client.redact(describeAnswer(status, answer.body));
        serverError = status >= 500;
      }

      if (this.closed) return; // no retries once stopping: the items simply get no outcome
      const delay = budget.nextDelay();
      if (delay === undefined) return this.exhausted(batch, budget, failure, serverError);
      this.counters.retries++;
      this.log?.debug({ object: batch.object, items: batch.entries.length, attempt, delayMs: delay, error: failure }, 'retrying Siro request');
      try {
        await sleep(delay, this.stopper.signal);
      } catch {
        return; // stopped
      }
    }
  }

  /**
   * The batch as it goes out: from here on its entries are no longer replaceable (newer items of their
   * externalIds are held back). Entries that must wait for an opportunity pushed since the batch was made
   * are parked instead; undefined when none is left. A 413 may have lowered the batch size since it was
   * made: the rest is sent as further batches.
   */
  private takeForSending(batch: Batch): Batch | undefined {
    const batcher = this.batchers[batch.object];
    const ready = batcher.deferBlocked(batch.entries);
    if (ready.length === 0) return undefined;
    batch = { object: batch.object, entries: ready };
    const size = batcher.batchSize;
    if (batch.entries.length > size) {
      for (let i = size; i < batch.entries.length; i += size) {
        this.schedule({ object: batch.object, entries: batch.entries.slice(i, i + size) });
      }
      batch = { object: batch.object, entries: batch.entries.slice(0, size) };
    }
    for (const entry of batch.entries) entry.sent = true;
    return batch;
  }

  /** One HTTP exchange, counted and reported; undefined when it was aborted by close() or a fatal error. */
  private async exchange(batch: Batch, path: string, body: string, attempt: number): Promise<Answer | undefined> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    this.counters.requests++;
    try {
      const res = await this.client.request({ method: 'PUT', path, body, signal: controller.signal });
      this.observe(batch, res.status, res.durationMs, attempt);
      return res;
    } catch (e) {
      if (!(e instanceof SiroTransportError)) throw e;
      if (e.kind === 'aborted') return undefined;
      this.observe(batch, e.kind === 'timeout' ? 'timeout' : 'network-error', e.durationMs, attempt);
      return e;
    } finally {
      this.inFlight.delete(controller);
    }
  }

  private observe(batch: Batch, status: RequestInfo['status'], durationMs: number, attempt: number): void {
    const samples = this.counters.latenciesMs;
    this.latencySeen++;
    if (samples.length < LATENCY_SAMPLE_SIZE) samples.push(durationMs);
    else {
      const j = Math.floor(Math.random() * this.latencySeen);
      if (j < LATENCY_SAMPLE_SIZE) samples[j] = durationMs;
    }
    this.opts.onRequest?.({ object: batch.object, items: batch.entries.length, status, durationMs, attempt });
  }

  private acknowledge(batch: Batch, body: unknown): void {
    const ids = siroIdsOf(body, batch.entries, this.single);
    batch.entries.forEach((entry, i) => {
      const siroId = ids[i];
      this.settle(batch, entry, (item) => (siroId === undefined ? { kind: 'acked', item } : { kind: 'acked', item, siroId }));
    });
  }

  /** 400/422: reject the items Siro names, re-send the rest; bisect when it names none. */
  private refuse(batch: Batch, status: number, body: unknown): void {
    const { entries } = batch;
    if (entries.length === 1) return this.reject(batch, entries[0]!, reasonsForItem(status, body, !this.single), status);
    const named = reasonsByItem(status, body, entries.length);
    if (!named) return this.split(batch, `Siro refused the batch (${status}) without naming items`);
    const rest = entries.filter((_, i) => !named.has(i));
    for (const [i, reasons] of named) this.reject(batch, entries[i]!, reasons, status);
    if (rest.length > 0) {
      this.counters.splits++;
      this.schedule({ object: batch.object, entries: rest });
    }
  }

  /** 413: halve the batch (no retry used) and keep later batches at most that large. */
  private tooLarge(batch: Batch, body: unknown): void {
    const { entries } = batch;
    if (entries.length === 1) return this.reject(batch, entries[0]!, reasonsForItem(413, body, false), 413);
    const smaller = Math.floor(entries.length / 2);
    if (smaller < this.batchers[batch.object].batchSize) {
      this.log?.info({ object: batch.object, batchSize: smaller }, 'Siro found a batch too large (413): sending smaller batches');
      this.batchers[batch.object].lowerBatchSize(smaller);
    }
    this.split(batch, 'payload too large (413)');
  }

  private exhausted(batch: Batch, budget: RetryBudget, failure: string, serverError: boolean): void {
    const siroWorks = performance.now() - this.lastHealthyAt < this.opts.maxRetryTimeMs;
    if (serverError && batch.entries.length > 1 && siroWorks) {
      return this.split(batch, `still failing after ${budget.retries} retries: ${failure}`);
    }
    this.failRun(
      new FatalApiError(
        `Siro did not accept requests after ${budget.retries} retries over ${(budget.elapsedMs() / 1000).toFixed(1)} s: ${failure}`,
      ),
    );
  }

  private split(batch: Batch, why: string): void {
    this.counters.splits++;
    this.log?.info({ object: batch.object, items: batch.entries.length }, `splitting a batch: ${why}`);
    for (const half of bisect(batch.entries)) if (half.length > 0) this.schedule({ object: batch.object, entries: half });
  }

  private refusedRun(status: number, path: string, body: unknown): FatalApiError {
    const said = this.client.redact(describeAnswer(status, body));
    switch (status) {
      case 401:
        return new FatalApiError(`Siro refused the API token (401): check api_token (Siro said: ${said})`, 401);
      case 403:
        return new FatalApiError(
          `the API token lacks rights for PUT ${path} (403), or Siro's edge refused the User-Agent "${this.opts.userAgent}": check the token's organization and rights, or set user_agent (Siro said: ${said})`,
          403,
        );
      case 404:
        return new FatalApiError(`Siro has no endpoint PUT ${this.client.urlOf(path)} (404): check base_url (Siro said: ${said})`, 404);
      default:
        return new FatalApiError(`Siro refused PUT ${path} with ${status}: ${said}`, status);
    }
  }

  // ---- outcomes and waiters -----------------------------------------------------------------------------

  private reject(batch: Batch, entry: Entry, reasons: string[], status: number): void {
    const safe = reasons.map(this.client.redact);
    this.settle(batch, entry, (item) => ({ kind: 'rejected', item, reasons: safe, status }));
  }

  /** The entry's outcome, for its item and the items it superseded; frees its externalId. */
  private settle(batch: Batch, entry: Entry, outcome: (item: OutboundItem) => Outcome): void {
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
    this.batchers.engagement.stop();
    this.batchers.opportunity.stop();
    this.limit.clearQueue();
    if (!this.stopper.signal.aborted) this.stopper.abort(new SinkClosedError());
    this.limiter.cancelAll(new SinkClosedError());
    if (abortInFlight) for (const c of this.inFlight) c.abort();
  }

  private failRun(error: Error): void {
    if (this.fatal || this.abandoned) return;
    this.fatal = error;
    this.log?.debug({ error: error.message }, 'delivery stopped by a fatal error');
    this.stopWork(true);
    this.rejectWaiters(error);
    void this.client.destroy().catch(() => undefined);
  }

  private async shutDown(graceMs: number): Promise<void> {
    this.closed = true;
    this.stopWork(false);
    this.rejectWaiters(this.fatal ?? new SinkClosedError());
    if (this.running.size > 0) await settledWithin([...this.running], graceMs);
    // Whatever is still in flight is given up: its items get no outcome, so their state is never printed.
    this.abandoned = true;
    for (const c of this.inFlight) c.abort();
    await Promise.allSettled([...this.running]);
    await this.client.destroy().catch(() => undefined);
  }
}

/** Waits for the promises to settle, but no longer than `ms`. */
async function settledWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(promises), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** The externalId of the opportunity an engagement payload nests (`opportunity.externalId`), if any. */
export function referencedOpportunity(payload: Record<string, unknown>): string | undefined {
  const nested = payload.opportunity;
  if (nested === null || typeof nested !== 'object' || Array.isArray(nested)) return undefined;
  const externalId = (nested as { externalId?: unknown }).externalId;
  return typeof externalId === 'string' && externalId !== '' ? externalId : undefined;
}

function idOf(data: unknown): string | undefined {
  const id = (data as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : typeof id === 'number' ? String(id) : undefined;
}

/** Siro's id of each entry: data[i] answers entries[i], matched by externalId when the order differs. */
function siroIdsOf(body: unknown, entries: Entry[], single: boolean): (string | undefined)[] {
  const data = (body as { data?: unknown } | null | undefined)?.data;
  if (single) return [idOf(data)];
  if (!Array.isArray(data)) return [];
  const inOrder =
    data.length === entries.length &&
    entries.every((e, i) => {
      const ext = (data[i] as { externalId?: unknown } | null | undefined)?.externalId;
      return ext === undefined || ext === e.item.externalId;
    });
  if (inOrder) return data.map(idOf);
  const byExternalId = new Map<string, string | undefined>();
  for (const d of data) {
    const ext = (d as { externalId?: unknown } | null | undefined)?.externalId;
    if (typeof ext === 'string') byExternalId.set(ext, idOf(d));
  }
  return entries.map((e) => byExternalId.get(e.item.externalId));
}
