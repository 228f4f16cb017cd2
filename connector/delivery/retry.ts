/**
 * When to try a failed request again: exponential backoff with full jitter (a random wait between 0 and
 * base × 2^(n-1), capped), so clients that failed together do not retry together; bounded both by a count
 * (max_retries) and by total time (max_retry_time_ms). Waiting out a 429 is not a failure of the request
 * and is excluded from both bounds (see RetryBudget.excludeWait).
 */

export interface RetryPolicy {
  maxRetries: number;
  maxRetryTimeMs: number;
  /** Ceiling of the first retry's wait (default 250 ms). */
  baseDelayMs?: number;
  /** No single wait is longer than this (default 30 s). */
  maxDelayMs?: number;
}

export const DEFAULT_BASE_DELAY_MS = 250;
export const DEFAULT_MAX_DELAY_MS = 30_000;

/** The wait before retry number `retry` (1-based): uniform in [0, min(max, base × 2^(retry-1))]. */
export function backoffDelayMs(retry: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(Math.max(0, retry - 1), 40));
  return Math.floor(random() * (ceiling + 1));
}

/** The retry allowance of one request (one batch); a split batch's halves each get a new one. */
export class RetryBudget {
  private retriesDone = 0;
  private readonly startedAt: number;
  private excludedMs = 0;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly now: () => number = () => performance.now(),
    private readonly random: () => number = Math.random,
  ) {
    this.startedAt = now();
  }

  get retries(): number {
    return this.retriesDone;
  }

  /** Time spent on this request so far, not counting excluded (429) waits. */
  elapsedMs(): number {
    return this.now() - this.startedAt - this.excludedMs;
  }

  /** Time spent waiting because of 429s does not use up the budget. */
  excludeWait(ms: number): void {
    if (ms > 0) this.excludedMs += ms;
  }

  /**
   * The wait before the next retry, counting it as used; undefined when the budget is spent (count reached,
   * or the time bound already passed). The last wait is shortened so no retry starts after the time bound.
   */
  nextDelay(): number | undefined {
    if (this.retriesDone >= this.policy.maxRetries) return undefined;
    const remaining = this.policy.maxRetryTimeMs - this.elapsedMs();
    if (remaining <= 0) return undefined;
    const delay = backoffDelayMs(
      this.retriesDone + 1,
      this.policy.baseDelayMs ?? DEFAULT_BASE_DELAY_MS,
      this.policy.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
      this.random,
    );
    this.retriesDone++;
    return Math.min(delay, remaining);
  }
}

/** setTimeout as a promise that rejects with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
