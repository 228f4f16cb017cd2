/**
 * Client-side rate limit for Siro (documented: 1000 requests per token per minute), so that a run at the
 * configured rate never provokes a 429.
 *
 * Siro's limit (and the sandbox's) is a sliding 60 s window. A classic token bucket with a full minute of
 * burst would send up to 2 × R requests in the first minute and be throttled; so the bucket here holds a
 * single token (GCRA: requests are spaced evenly at 60 s / rate), and the rate used is a little below the
 * configured one (`headroom`), which absorbs network jitter between our clock and the server's window.
 *
 * On a 429 the limiter is AIMD: everyone pauses until the server's Retry-After, the rate is halved, then it
 * climbs back additively (a share of the configured rate per second) while no more 429s arrive.
 */

export interface RateLimiterOptions {
  ratePerMinute: number;
  /** Share of `ratePerMinute` actually used (default 0.98). */
  headroom?: number;
  /** Pause after a 429 without Retry-After (default 1000 ms). */
  defaultPauseMs?: number;
  now?: () => number;
}

/** A Retry-After longer than this is treated as this (a broken header must not stall a run for hours). */
export const MAX_PAUSE_MS = 300_000;
/** How fast the rate climbs back after a 429: this share of the full rate per second (full in ~10 s from half). */
const RECOVERY_SHARE_PER_SECOND = 0.05;
/** The rate never drops below this share of the full rate. */
const MIN_RATE_SHARE = 1 / 64;

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class RateLimiter {
  readonly fullRatePerMinute: number;
  private rate: number;
  /** Theoretical time of the next request (GCRA); requests may go once now ≥ tat. */
  private tat = -Infinity;
  private pausedUntil = -Infinity;
  private lastRecoveryAt: number;
  private lastDecreaseAt = -Infinity;
  private readonly defaultPauseMs: number;
  private readonly now: () => number;
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: RateLimiterOptions) {
    if (!(opts.ratePerMinute > 0)) throw new Error('rate limit must be positive');
    this.fullRatePerMinute = opts.ratePerMinute * (opts.headroom ?? 0.98);
    this.rate = this.fullRatePerMinute;
    this.defaultPauseMs = opts.defaultPauseMs ?? 1000;
    this.now = opts.now ?? (() => performance.now());
    this.lastRecoveryAt = this.now();
  }

  get ratePerMinute(): number {
    return this.rate;
  }

  /** The end of the current pause (after a 429), or -Infinity. */
  get pauseEndsAt(): number {
    return this.pausedUntil;
  }

  /**
   * Takes the slot if a request may go at `now` and returns 0; otherwise returns how many ms to wait
   * (nothing is taken). The synchronous core, so it can be tested against a simulated clock.
   */
  tryTake(now: number): number {
    this.recover(now);
    const earliest = Math.max(this.tat, this.pausedUntil);
    if (now < earliest) return earliest - now;
    const interval = 60_000 / this.rate;
    // A timer that fires a little late must not push every later request back (that would lose a few per
    // cent of the rate), so the schedule is kept when we are only slightly late; after an idle spell it
    // restarts from now (no burst of saved-up requests).
    const late = now - this.tat;
    this.tat = (late <= Math.min(interval / 2, 50) ? this.tat : now) + interval;
    return 0;
  }

  /** A 429 arrived: pause everyone until `retryAfterMs` from now (or a default) and lower the rate. */
  onThrottled(retryAfterMs: number | undefined, now = this.now()): void {
    const pause = Math.min(MAX_PAUSE_MS, Math.max(0, retryAfterMs ?? this.defaultPauseMs));
    const alreadyPaused = now < this.pausedUntil;
    this.pausedUntil = Math.max(this.pausedUntil, now + pause);
    // Several requests in flight are refused together; that is one signal, not several halvings.
    if (!alreadyPaused && now - this.lastDecreaseAt >= 1000) {
      this.rate = Math.max(this.fullRatePerMinute * MIN_RATE_SHARE, this.rate / 2);
      this.lastDecreaseAt = now;
    }
    this.lastRecoveryAt = Math.max(this.lastRecoveryAt, this.pausedUntil);
    this.tat = Math.max(this.tat, this.pausedUntil);
    this.reschedule();
  }

  private recover(now: number): void {
    if (this.rate >= this.fullRatePerMinute || now <= this.lastRecoveryAt) return;
    const seconds = (now - this.lastRecoveryAt) / 1000;
    this.rate = Math.min(this.fullRatePerMinute, this.rate + seconds * RECOVERY_SHARE_PER_SECOND * this.fullRatePerMinute);
    this.lastRecoveryAt = now;
  }

  /** Resolves when the caller may send one request (first come, first served); rejects when `signal` aborts. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.waiters.length === 0 && this.tryTake(this.now()) === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
          this.reschedule();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
      this.reschedule();
    });
  }

  /** Fails every waiter (shutdown). */
  cancelAll(reason: unknown): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) {
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(reason);
    }
  }

  private reschedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.waiters.length > 0) {
      const wait = this.tryTake(this.now());
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.reschedule();
        }, Math.ceil(wait));
        return;
      }
      const w = this.waiters.shift()!;
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.resolve();
    }
  }
}

/**
 * Retry-After in ms from `now`: either delay-seconds ("120", tolerating decimals) or an HTTP date
 * ("Wed, 21 Oct 2015 07:28:00 GMT"). undefined when absent or unreadable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (!/[a-z]/i.test(text)) return undefined; // "-5" and friends: not a date either
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
