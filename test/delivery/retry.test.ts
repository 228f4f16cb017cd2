import { describe, expect, it } from 'vitest';
import { RetryBudget, backoffDelayMs, sleep } from '../../connector/delivery/retry.js';

describe('backoffDelayMs (full jitter)', () => {
  it('stays within [0, min(cap, base × 2^(n-1))]', () => {
    for (let retry = 1; retry <= 12; retry++) {
      const ceiling = Math.min(5000, 100 * 2 ** (retry - 1));
      expect(backoffDelayMs(retry, 100, 5000, () => 0)).toBe(0);
      expect(backoffDelayMs(retry, 100, 5000, () => 0.999999)).toBe(ceiling);
      for (let i = 0; i < 50; i++) {
        const d = backoffDelayMs(retry, 100, 5000);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('spreads retries out (jitter), on average about half the ceiling', () => {
    const draws = Array.from({ length: 2000 }, () => backoffDelayMs(4, 100, 30_000));
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(mean).toBeGreaterThan(300);
    expect(mean).toBeLessThan(500);
    expect(new Set(draws).size).toBeGreaterThan(100);
  });
});

describe('RetryBudget', () => {
  it('allows max_retries retries, then none', () => {
    const budget = new RetryBudget({ maxRetries: 3, maxRetryTimeMs: 1e9 }, () => 0, () => 0.5);
    expect(budget.nextDelay()).toBe(125);
    expect(budget.nextDelay()).toBe(250);
    expect(budget.nextDelay()).toBe(500);
    expect(budget.nextDelay()).toBeUndefined();
    expect(budget.retries).toBe(3);
  });

  it('is bounded by total time; the last wait is cut to what is left', () => {
    let now = 0;
    const budget = new RetryBudget({ maxRetries: 100, maxRetryTimeMs: 1000, baseDelayMs: 800, maxDelayMs: 800 }, () => now, () => 0.99);
    expect(budget.nextDelay()).toBe(792);
    now = 900;
    expect(budget.nextDelay()).toBe(100);
    now = 1000;
    expect(budget.nextDelay()).toBeUndefined();
  });

  it('does not count time spent waiting out 429s', () => {
    let now = 0;
    const budget = new RetryBudget({ maxRetries: 100, maxRetryTimeMs: 1000 }, () => now, () => 0);
    now = 5000;
    expect(budget.nextDelay()).toBeUndefined();
    const other = new RetryBudget({ maxRetries: 100, maxRetryTimeMs: 1000 }, () => now, () => 0);
    now = 10_000;
    other.excludeWait(4500);
    expect(other.elapsedMs()).toBe(500);
    expect(other.nextDelay()).toBe(0);
  });

  it('sleep() can be aborted', async () => {
    const ac = new AbortController();
    const s = sleep(10_000, ac.signal);
    ac.abort(new Error('stopped'));
    await expect(s).rejects.toThrow('stopped');
    await expect(sleep(5)).resolves.toBeUndefined();
  });
});
