import pLimit, { type LimitFunction } from 'p-limit';
import { RateLimiter, parseRetryAfter } from './limiter.js';
import { RetryBudget, sleep, type RetryPolicy } from './retry.js';

/**
 * What lets a request go out: a slot among max_concurrency requests in flight, the client-side rate limit
 * (paused by 429s for everyone), and per batch a retry budget whose backoff waits hold no slot. Stopping
 * fails every wait at once, so nothing goes out after a fatal error or close().
 */

export interface RequestSlotsOptions {
  maxConcurrency: number;
  rateLimitPerMinute: number;
  retry: RetryPolicy;
  /** A slot was given back (the sink sends partial batches when one is free). */
  onSlotFreed: () => void;
}

export class RequestSlots {
  private readonly limit: LimitFunction;
  private readonly limiter: RateLimiter;
  /** Aborts waits (rate limiter, backoff) on close or fatal error; requests in flight have their own. */
  private readonly stopper = new AbortController();
  /** Requests waiting for a slot or holding one (not those backing off). */
  private wanting = 0;

  constructor(private readonly opts: RequestSlotsOptions) {
    this.limit = pLimit({ concurrency: opts.maxConcurrency, rejectOnClear: true });
    this.limiter = new RateLimiter({ ratePerMinute: opts.rateLimitPerMinute });
  }

  /** Whether a request would get a slot at once. */
  get free(): boolean {
    return this.wanting < this.opts.maxConcurrency;
  }

  /**
   * Runs `use` holding a slot, once the rate limiter lets a request go. The slot is held for the rate-limit
   * wait and the exchange only, so the caller reads the answer after giving it back and the next request
   * goes out first. Rejects when stopped.
   */
  withSlot<T>(use: () => Promise<T>): Promise<T> {
    this.wanting++;
    const holding = this.limit(async () => {
      await this.limiter.acquire(this.stopper.signal);
      return use();
    });
    const release = () => {
      this.wanting--;
      this.opts.onSlotFreed();
    };
    // Registered before the caller awaits, so the slot is given back just before the caller sees the answer,
    // in the same tick (a 413 lowers the batch size before the next queued request takes its items).
    holding.then(release, release);
    return holding;
  }

  /** A 429: every request pauses for its Retry-After and the rate drops (call before the slot is given back). */
  throttled(retryAfter: string | string[] | undefined): void {
    this.limiter.onThrottled(parseRetryAfter(retryAfter));
  }

  /** The retry allowance of one batch (a split batch's halves each get a new one). */
  newBudget(): RetryBudget {
    return new RetryBudget(this.opts.retry);
  }

  /** Waits before a retry, holding no slot; rejects when stopped. */
  backoff(ms: number): Promise<void> {
    return sleep(ms, this.stopper.signal);
  }

  /** Fails every wait for a slot, the rate limiter or a backoff; requests in flight are not touched. */
  stop(reason: Error): void {
    this.limit.clearQueue();
    if (!this.stopper.signal.aborted) this.stopper.abort(reason);
    this.limiter.cancelAll(reason);
  }
}
