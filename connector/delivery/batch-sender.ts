import type { Logger } from 'pino';
import { FatalApiError, SiroUnreachableError } from '../core/errors.js';
import { answerAction, statusMeaning, type AnswerAction } from '../siro/answers.js';
import { SiroClient, SiroTransportError, type SiroResponse } from '../siro/client.js';
import { SIRO_OBJECTS, type SiroObject } from '../siro/objects.js';
import type { Batch, Batcher, Entry } from './batcher.js';
import { itemJson } from './payload-json.js';
import type { RequestSlots } from './request-slots.js';
import { RequestStats, type RequestInfo } from './request-stats.js';
import type { RetryBudget } from './retry.js';
import type { DeliveryStats, OutboundItem, Outcome } from './sink.js';

/**
 * One batch from its first try to its outcomes: wait for a request slot, send, and do what Siro's answer
 * means (siro/answers.ts): acknowledge, retry with backoff, wait out a 429, reject items, split the batch.
 *
 * Beyond the answer table, this module decides when retrying has gone on long enough. When the budget is
 * spent and the last answer was a 5xx, a batch of several items is bisected (one item that makes Siro fail
 * must not sink the others) and each half gets a new budget. A single item that still gets 5xx after all
 * retries ends the run (FatalApiError): by then Siro is failing for a lone record, which means Siro is down
 * or broken, and rejecting records one after the other for it would throw away good data. Connection
 * errors and timeouts are never split (the server did not even answer: nothing points at an item) and so
 * are fatal when exhausted; so is a 5xx when no request at all has succeeded for max_retry_time_ms.
 *
 * Which fatal error: Siro refusing the token (401/403) is a FatalApiError (exit 4); everything else that
 * ends the run (no connection, no answer in time, no Siro API at base_url, 5xx, 429 or answers that are not
 * Siro's until the budget is spent) is a SiroUnreachableError (exit 6), the code `check` gives the same
 * problem. Retries are logged at debug; the first retry of an outage that points at the connection or at
 * Siro's availability is also logged once at warn, naming base_url's host (never the token), and its end
 * at info, so a run does not retry silently for half a minute.
 */

/** A batch may wait out 429s for at most this long (or max_retry_time_ms if longer) before the run fails. */
const MAX_THROTTLED_MS = 600_000;

/** What the sender needs from the sink that owns it. */
export interface SenderHost {
  /** close() was called: no retries, the items simply get no outcome. */
  readonly closing: boolean;
  /** Closing or failed: send nothing more. */
  readonly halted: boolean;
  /** Failed, or requests in flight were given up: their answers no longer count. */
  readonly ignoringAnswers: boolean;
  batcher(object: SiroObject): Batcher;
  schedule(batch: Batch): void;
  /** The entry's outcome, for its item and the items it superseded. */
  settle(batch: Batch, entry: Entry, outcome: (item: OutboundItem) => Outcome): void;
  failRun(error: Error): void;
}

export interface BatchSenderOptions {
  baseUrl: string;
  apiToken: string;
  userAgent: string;
  /** Items per request; 1 uses the single-item endpoints. */
  batchSize: number;
  maxConcurrency: number;
  /** Retries per request (only named in the log line of a connection problem). */
  maxRetries?: number;
  maxRetryTimeMs: number;
  requestTimeoutMs: number;
  counters: DeliveryStats;
  slots: RequestSlots;
  onRequest?: (info: RequestInfo) => void;
  log?: Logger;
}

type Answer = SiroResponse | SiroTransportError;

export class BatchSender {
  private readonly client: SiroClient;
  private readonly single: boolean;
  private readonly stats: RequestStats;
  private readonly inFlight = new Set<AbortController>();
  /** Last time Siro answered in a way that shows it works (2xx, 4xx): tells a down Siro from a poison item. */
  private lastHealthyAt = performance.now();
  /** base_url's host (and port), the only part of the URL the logs name. */
  private readonly siroHost: string;
  /** A connection problem was logged and Siro has not answered properly since. */
  private outageLogged = false;

  constructor(
    private readonly opts: BatchSenderOptions,
    private readonly host: SenderHost,
  ) {
    this.client = new SiroClient({
      baseUrl: opts.baseUrl,
      apiToken: opts.apiToken,
      userAgent: opts.userAgent,
      requestTimeoutMs: opts.requestTimeoutMs,
      connections: opts.maxConcurrency,
    });
    this.single = opts.batchSize === 1;
    this.siroHost = new URL(opts.baseUrl).host;
    this.stats = new RequestStats(opts.counters, opts.onRequest);
  }

  /** Aborts the requests in flight (their items get no outcome from them). */
  abortInFlight(): void {
    for (const c of this.inFlight) c.abort();
  }

  /** Closes the connections at once. */
  destroy(): Promise<void> {
    return this.client.destroy();
  }

  async send(batch: Batch): Promise<void> {
    const { host, opts } = this;
    // Entries that must wait for an object they depend on leave the batch before it queues for a slot.
    const ready = host.batcher(batch.object).deferBlocked(batch.entries);
    if (ready.length === 0) return;
    batch = { object: batch.object, entries: ready };
    const endpoint = SIRO_OBJECTS[batch.object].paths;
    const path = this.single ? endpoint.single : endpoint.batch;
    let body: Buffer | undefined;
    const budget = opts.slots.newBudget();
    let throttledSince: number | undefined;
    let throttledMs = 0;
    for (let attempt = 1; ; attempt++) {
      let answer: Answer | undefined;
      try {
        answer = await opts.slots.withSlot(async () => {
          if (host.halted) return undefined;
          if (body === undefined) {
            const sending = this.takeForSending(batch);
            if (!sending) return undefined; // every entry now waits for an object pushed meanwhile
            batch = sending;
            // Bytes once, reused by every attempt: a string body is copied into a new Buffer per request
            // and both copies live as long as it (the largest share of what a run promotes to the old heap).
            body = Buffer.from(this.single ? itemJson(batch.entries[0]!.item) : `[${batch.entries.map((e) => itemJson(e.item)).join(',')}]`);
          }
          if (throttledSince !== undefined) {
            const waited = performance.now() - throttledSince;
            budget.excludeWait(waited);
            throttledMs += waited;
            throttledSince = undefined;
          }
          const reply = await this.exchange(batch, path, body, attempt);
          // Pause everyone before this slot goes to the next request.
          if (reply !== undefined && !(reply instanceof SiroTransportError) && statusMeaning(reply.status) === 'rate-limited') {
            opts.slots.throttled(reply.headers['retry-after']);
          }
          return reply;
        });
      } catch (e) {
        if (host.halted) return; // stopped while waiting for a slot or the rate limiter
        throw e; // a bug: the sink turns it into a failed run rather than a drain() that never ends
      }
      if (answer === undefined || host.ignoringAnswers) return;

      const action = answerAction(answer, {
        method: 'PUT',
        path,
        url: this.client.urlOf(path),
        userAgent: opts.userAgent,
        externalIds: batch.entries.map((e) => e.item.externalId),
        batchEndpoint: !this.single,
      });
      if (showsSiroWorks(action)) {
        this.lastHealthyAt = performance.now();
        if (this.outageLogged) {
          this.outageLogged = false;
          opts.log?.info({ host: this.siroHost }, `Siro at ${this.siroHost} answers again`);
        }
      }
      switch (action.action) {
        case 'acknowledged':
          return this.acknowledge(batch, action.siroIds);
        case 'reject-items':
          return this.reject(batch, batch.entries[0]!, action.reasons, action.status);
        case 'split-by-paths':
          return this.rejectNamed(batch, action.reasonsByItem, action.status);
        case 'bisect':
          return this.split(batch, action.why);
        case 'too-large':
          return this.tooLarge(batch);
        case 'fatal': {
          const message = this.client.redact(action.message);
          const refusedToken = action.status === 401 || action.status === 403;
          return host.failRun(refusedToken ? new FatalApiError(message, action.status) : new SiroUnreachableError(message, action.status));
        }
        case 'retry-after':
          opts.counters.throttled++;
          opts.log?.debug({ object: batch.object, items: batch.entries.length, retryAfter: action.retryAfter }, 'Siro answered 429: pausing');
          if (throttledMs > Math.max(MAX_THROTTLED_MS, opts.maxRetryTimeMs)) {
            return host.failRun(
              new SiroUnreachableError(`Siro kept answering 429 (rate limited) for ${Math.round(throttledMs / 1000)} s; lower rate_limit_per_minute or check other users of the API token`, 429),
            );
          }
          if (host.closing) return;
          throttledSince = performance.now();
          continue;
        case 'retry': {
          if (host.closing) return; // no retries once stopping: the items simply get no outcome
          const failure = this.client.redact(action.failure);
          const delay = budget.nextDelay();
          if (delay === undefined) return this.exhausted(batch, budget, failure, action.serverError, answer instanceof SiroTransportError);
          opts.counters.retries++;
          if (!this.outageLogged && (answer instanceof SiroTransportError || action.serverError)) {
            this.outageLogged = true;
            const problem = answer instanceof SiroTransportError ? `cannot reach Siro at ${this.siroHost}` : `Siro at ${this.siroHost} is failing`;
            opts.log?.warn(
              { host: this.siroHost, error: failure },
              `${problem} (${failure}): retrying, up to ${opts.maxRetries ?? 'max_retries'} times or ` +
                `${Math.round(opts.maxRetryTimeMs / 1000)} s per request; log_level debug shows each retry, \`target-siro check\` explains connection problems`,
            );
          }
          opts.log?.debug({ object: batch.object, items: batch.entries.length, attempt, delayMs: delay, error: failure }, 'retrying Siro request');
          try {
            await opts.slots.backoff(delay);
          } catch {
            return; // stopped
          }
        }
      }
    }
  }

  /**
   * The batch as it goes out: from here on its entries are no longer replaceable (newer items of their
   * externalIds are held back). Entries that must wait for an object pushed since the batch was made are
   * parked instead; undefined when none is left. A 413 may have lowered the batch size since it was made:
   * the rest is sent as further batches.
   */
  private takeForSending(batch: Batch): Batch | undefined {
    const batcher = this.host.batcher(batch.object);
    const ready = batcher.deferBlocked(batch.entries);
    if (ready.length === 0) return undefined;
    batch = { object: batch.object, entries: ready };
    const size = batcher.batchSize;
    if (batch.entries.length > size) {
      for (let i = size; i < batch.entries.length; i += size) {
        this.host.schedule({ object: batch.object, entries: batch.entries.slice(i, i + size) });
      }
      batch = { object: batch.object, entries: batch.entries.slice(0, size) };
    }
    for (const entry of batch.entries) entry.sent = true;
    return batch;
  }

  /** One HTTP exchange, counted and reported; undefined when it was aborted by close() or a fatal error. */
  private async exchange(batch: Batch, path: string, body: Buffer, attempt: number): Promise<Answer | undefined> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    this.stats.started();
    const report = (status: RequestInfo['status'], durationMs: number) =>
      this.stats.answered({ object: batch.object, items: batch.entries.length, status, durationMs, attempt });
    try {
      const res = await this.client.request({ method: 'PUT', path, body, signal: controller.signal });
      report(res.status, res.durationMs);
      return res;
    } catch (e) {
      if (!(e instanceof SiroTransportError)) throw e;
      if (e.kind === 'aborted') return undefined;
      report(e.kind === 'timeout' ? 'timeout' : 'network-error', e.durationMs);
      return e;
    } finally {
      this.inFlight.delete(controller);
    }
  }

  private acknowledge(batch: Batch, siroIds: (string | undefined)[]): void {
    batch.entries.forEach((entry, i) => {
      const siroId = siroIds[i];
      this.host.settle(batch, entry, (item) => (siroId === undefined ? { kind: 'acked', item } : { kind: 'acked', item, siroId }));
    });
  }

  /** Rejects the items Siro named, and re-sends the rest. */
  private rejectNamed(batch: Batch, reasonsByItem: Map<number, string[]>, status: number): void {
    const { entries } = batch;
    const rest = entries.filter((_, i) => !reasonsByItem.has(i));
    for (const [i, reasons] of reasonsByItem) this.reject(batch, entries[i]!, reasons, status);
    if (rest.length > 0) {
      this.opts.counters.splits++;
      this.host.schedule({ object: batch.object, entries: rest });
    }
  }

  /** 413: halve the batch (no retry used) and keep later batches at most that large. */
  private tooLarge(batch: Batch): void {
    const batcher = this.host.batcher(batch.object);
    const smaller = Math.floor(batch.entries.length / 2);
    if (smaller < batcher.batchSize) {
      this.opts.log?.info({ object: batch.object, batchSize: smaller }, 'Siro found a batch too large (413): sending smaller batches');
      batcher.lowerBatchSize(smaller);
    }
    this.split(batch, 'payload too large (413)');
  }

  private exhausted(batch: Batch, budget: RetryBudget, failure: string, serverError: boolean, noAnswer: boolean): void {
    const siroWorks = performance.now() - this.lastHealthyAt < this.opts.maxRetryTimeMs;
    if (serverError && batch.entries.length > 1 && siroWorks) {
      return this.split(batch, `still failing after ${budget.retries} retries: ${failure}`);
    }
    const tried = `after ${budget.retries} retries over ${(budget.elapsedMs() / 1000).toFixed(1)} s`;
    this.host.failRun(
      new SiroUnreachableError(
        noAnswer
          ? `cannot reach Siro at ${this.siroHost} ${tried}: ${failure}; \`target-siro check\` explains connection problems`
          : `Siro at ${this.siroHost} did not accept requests ${tried}: ${failure}`,
      ),
    );
  }

  private split(batch: Batch, why: string): void {
    this.opts.counters.splits++;
    this.opts.log?.info({ object: batch.object, items: batch.entries.length }, `splitting a batch: ${why}`);
    for (const half of bisect(batch.entries)) if (half.length > 0) this.host.schedule({ object: batch.object, entries: half });
  }

  private reject(batch: Batch, entry: Entry, reasons: string[], status: number): void {
    const safe = reasons.map(this.client.redact);
    this.host.settle(batch, entry, (item) => ({ kind: 'rejected', item, reasons: safe, status }));
  }
}

/** Answers in which Siro judged the request itself (2xx, 400/413/422), unlike 429s, failures and refusals of the caller. */
function showsSiroWorks(action: AnswerAction): boolean {
  return action.action !== 'retry' && action.action !== 'retry-after' && action.action !== 'fatal';
}

/** Two halves (the first one the larger), for a batch whose bad items are unknown. */
export function bisect<T>(items: readonly T[]): [T[], T[]] {
  const mid = Math.ceil(items.length / 2);
  return [items.slice(0, mid), items.slice(mid)];
}
