import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlidingWindowRateLimiter } from '../../connector/sandbox/rate-limit.js';
import { DEFAULT_SANDBOX_TOKEN, startSandbox, type Sandbox } from '../../connector/sandbox/server.js';
import { engagement } from '../support/siro-payloads.js';
import { PATHS, call } from './http.js';

describe('rate limit over HTTP', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({
      tokens: [
        DEFAULT_SANDBOX_TOKEN,
        { token: 'second-token', tokenName: 'second', organizationId: 'org-sandbox' },
      ],
      faults: { rateLimitPerMinute: 3 },
    });
  });
  afterAll(() => sb.close());

  it('answers 429 with an integer Retry-After once a token used up its minute; per token; /_sandbox not counted', async () => {
    for (let i = 0; i < 5; i++) expect((await fetch(`${sb.url}/_sandbox/stats`)).status).toBe(200);
    expect((await call(sb, 'GET', PATHS.identity, undefined, { token: 'wrong' })).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await call(sb, 'PUT', PATHS.engagement, engagement(`e${i}`))).status).toBe(200);

    const limited = await call(sb, 'PUT', PATHS.engagement, engagement('e3'));
    expect(limited.status).toBe(429);
    expect(limited.json).toEqual({ error: 'Too many requests' });
    const retryAfter = limited.headers.get('retry-after')!;
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(59);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    expect(sb.engagements()).toHaveLength(3);

    expect((await call(sb, 'GET', PATHS.identity, undefined, { token: 'second-token' })).status).toBe(200);
    expect(sb.stats().throttled).toBe(1);
  });
});

describe('SlidingWindowRateLimiter', () => {
  it('frees a slot exactly 60 s after the request that holds it, and says when', () => {
    let now = 0;
    const limiter = new SlidingWindowRateLimiter(() => now);
    expect(limiter.tryAcquire('t', 2)).toEqual({ allowed: true });
    now = 10_000;
    expect(limiter.tryAcquire('t', 2)).toEqual({ allowed: true });
    now = 20_000;
    expect(limiter.tryAcquire('t', 2)).toEqual({ allowed: false, retryAfterSeconds: 40 });
    now = 59_999.5;
    expect(limiter.tryAcquire('t', 2)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    now = 60_000;
    expect(limiter.tryAcquire('t', 2)).toEqual({ allowed: true });
    expect(limiter.tryAcquire('t', 2)).toEqual({ allowed: false, retryAfterSeconds: 10 });
    expect(limiter.tryAcquire('other', 2)).toEqual({ allowed: true });
    expect(limiter.tryAcquire('t', 0)).toEqual({ allowed: true });
  });

  it('stays exact when the limit is lowered below the requests already in the window', () => {
    let now = 0;
    const limiter = new SlidingWindowRateLimiter(() => now);
    for (let i = 0; i < 5; i++) {
      now = i * 1000;
      expect(limiter.tryAcquire('t', 10).allowed).toBe(true);
    }
    // Five in the window, limit 2: the 4th oldest (t=3 s) must leave before a slot frees: at 63 s.
    now = 5000;
    expect(limiter.tryAcquire('t', 2)).toEqual({ allowed: false, retryAfterSeconds: 58 });
  });

  it('keeps memory bounded under a long high-rate run', () => {
    let now = 0;
    const limiter = new SlidingWindowRateLimiter(() => now);
    let refused = 0;
    for (let i = 0; i < 200_000; i++) {
      now = i; // 1000 requests per second for 200 s
      if (!limiter.tryAcquire('t', 100_000).allowed) refused++;
    }
    expect(refused).toBe(0);
    const window = (limiter as unknown as { windows: Map<string, { times: number[] }> }).windows.get('t')!;
    expect(window.times.length).toBeLessThan(130_000);
  });
});
