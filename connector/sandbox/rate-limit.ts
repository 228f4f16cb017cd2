/**
 * Per-token sliding-window rate limit, like Siro's 1000 requests per token per minute. Each token keeps
 * the times of its accepted requests in the window (a queue with a moving head, so pruning is O(1) amortized
 * even at bench rates). Refused requests do not take a slot, so Retry-After is exact.
 */

const WINDOW_MS = 60_000;

class Window {
  times: number[] = [];
  head = 0;

  prune(now: number): void {
    const cutoff = now - WINDOW_MS;
    while (this.head < this.times.length && this.times[this.head]! <= cutoff) this.head++;
    // Compact now and then so the array does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }

  get size(): number {
    return this.times.length - this.head;
  }
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class SlidingWindowRateLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Takes a slot for `key` when one is free under `limitPerMinute` (0 = no limit). */
  tryAcquire(key: string, limitPerMinute: number): RateDecision {
    if (limitPerMinute <= 0) return { allowed: true };
    const now = this.now();
    let window = this.windows.get(key);
    if (!window) {
      window = new Window();
      this.windows.set(key, window);
    }
    window.prune(now);
    if (window.size >= limitPerMinute) {
      // The slot frees when the oldest request that keeps the window full leaves it.
      const freesAt = window.times[window.times.length - limitPerMinute]! + WINDOW_MS;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((freesAt - now) / 1000)) };
    }
    window.times.push(now);
    return { allowed: true };
  }

  reset(): void {
    this.windows.clear();
  }
}
