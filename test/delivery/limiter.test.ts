import { describe, expect, it } from 'vitest';
import { RateLimiter, parseRetryAfter } from '../../connector/delivery/limiter.js';

/** Drives the limiter's synchronous core with a simulated clock under constant demand. */
function simulate(limiter: RateLimiter, durationMs: number, lateness: () => number): number[] {
  const sent: number[] = [];
  let t = 0;
  while (t < durationMs) {
    const wait = limiter.tryTake(t);
    if (wait === 0) sent.push(t);
    else t += wait + lateness(); // a timer never fires early, often a little late
  }
  return sent;
}

/** The largest number of times inside any window [t, t + 60 s). */
function maxInWindow(times: number[], windowMs = 60_000): number {
  let max = 0;
  let head = 0;
  for (let i = 0; i < times.length; i++) {
    while (times[i]! - times[head]! >= windowMs) head++;
    max = Math.max(max, i - head + 1);
  }
  return max;
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('RateLimiter (simulated clock)', () => {
  for (const rate of [1000, 120, 60]) {
    it(`at ${rate}/min never exceeds ${rate} in any sliding 60 s window and keeps ≥ 95% of the rate`, () => {
      const random = seeded(rate);
      const limiter = new RateLimiter({ ratePerMinute: rate, now: () => 0 });
      const sent = simulate(limiter, 5 * 60_000, () => random() * 4);
      // The server sees each request after a network delay that varies (0..200 ms here).
      const arrivals = sent.map((t) => t + random() * 200).sort((a, b) => a - b);
      expect(maxInWindow(arrivals)).toBeLessThanOrEqual(rate);
      const perMinute = (sent.length - 1) / ((sent.at(-1)! - sent[0]!) / 60_000);
      expect(perMinute).toBeGreaterThanOrEqual(0.95 * rate);
      expect(perMinute).toBeLessThanOrEqual(rate);
    });
  }

  it('has no initial burst: the second request waits one interval', () => {
    const limiter = new RateLimiter({ ratePerMinute: 600, headroom: 1, now: () => 0 });
    expect(limiter.tryTake(0)).toBe(0);
    expect(limiter.tryTake(0)).toBeCloseTo(100, 5);
    expect(limiter.tryTake(50)).toBeCloseTo(50, 5);
    expect(limiter.tryTake(100)).toBe(0);
  });

  it('pauses everyone until Retry-After, halves the rate once per episode, then recovers additively', () => {
    const limiter = new RateLimiter({ ratePerMinute: 600, headroom: 1, now: () => 0 });
    expect(limiter.tryTake(0)).toBe(0);
    limiter.onThrottled(3000, 10);
    expect(limiter.ratePerMinute).toBe(300);
    // Other requests refused in the same burst do not halve it again.
    limiter.onThrottled(3000, 20);
    limiter.onThrottled(2000, 30);
    expect(limiter.ratePerMinute).toBe(300);
    expect(limiter.pauseEndsAt).toBe(3020);
    expect(limiter.tryTake(1000)).toBe(2020);
    expect(limiter.tryTake(3020)).toBe(0);
    // Right after the pause the rate is the lowered one: 300/min → 200 ms apart.
    expect(limiter.tryTake(3020 + 150)).toBeGreaterThan(0);
    // Recovery: 5% of the full rate per second, back to full within ~10 s.
    expect(limiter.tryTake(3020 + 4000)).toBe(0);
    expect(limiter.ratePerMinute).toBeGreaterThan(300);
    expect(limiter.ratePerMinute).toBeLessThan(600);
    limiter.tryTake(3020 + 15_000);
    expect(limiter.ratePerMinute).toBe(600);
  });

  it('a 429 without Retry-After pauses for the default pause', () => {
    const limiter = new RateLimiter({ ratePerMinute: 6000, defaultPauseMs: 1000, now: () => 0 });
    limiter.onThrottled(undefined, 0);
    expect(limiter.tryTake(0)).toBe(1000);
  });

  it('acquire() spaces real requests and can be aborted', async () => {
    const limiter = new RateLimiter({ ratePerMinute: 1200, headroom: 1 }); // 50 ms apart
    const started = performance.now();
    for (let i = 0; i < 5; i++) await limiter.acquire();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(600);

    limiter.onThrottled(10_000);
    const ac = new AbortController();
    const waiting = limiter.acquire(ac.signal);
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    const other = limiter.acquire();
    limiter.cancelAll(new Error('closed'));
    await expect(other).rejects.toThrow('closed');
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-03-04T12:00:00Z');
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('5', now)).toBe(5000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter(['7', '9'], now)).toBe(7000);
  });
  it('reads an HTTP date', () => {
    expect(parseRetryAfter('Wed, 04 Mar 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 04 Mar 2026 11:59:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
