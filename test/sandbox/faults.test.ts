import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../connector/sandbox/server.js';
import { engagement } from '../support/siro-payloads.js';
import { PATHS, call } from './http.js';

let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(() => sb.close());
beforeEach(() => {
  sb.setFaults({});
  sb.reset();
});

describe('fault injection', () => {
  it('errorRate answers 500 {"error"} before writing', async () => {
    sb.setFaults({ errorRate: 1 });
    const r = await call(sb, 'PUT', PATHS.engagementBatch, [engagement('e1')]);
    expect(r.status).toBe(500);
    expect(typeof r.json.error).toBe('string');
    expect(sb.engagements()).toEqual([]);
    // Only sync requests fail: the connection check still works.
    expect((await call(sb, 'GET', PATHS.identity)).status).toBe(200);
  });

  it('errorAfterWriteRate writes and still answers 500, so a retry is an idempotent upsert', async () => {
    sb.setFaults({ errorAfterWriteRate: 1 });
    const r = await call(sb, 'PUT', PATHS.engagementBatch, [engagement('e1'), engagement('e2')]);
    expect(r.status).toBe(500);
    expect(typeof r.json.error).toBe('string');
    expect(sb.engagements().map((e) => [e.externalId, e.writes])).toEqual([['e1', 1], ['e2', 1]]);
    expect(sb.stats().itemsWritten).toBe(2);

    sb.setFaults({});
    const retry = await call(sb, 'PUT', PATHS.engagementBatch, [engagement('e1'), engagement('e2')]);
    expect(retry.status).toBe(200);
    expect(sb.engagements().map((e) => [e.externalId, e.writes])).toEqual([['e1', 2], ['e2', 2]]);
  });

  it('dropRate destroys the connection without an answer and without writing', async () => {
    sb.setFaults({ dropRate: 1 });
    await expect(call(sb, 'PUT', PATHS.engagement, engagement('e1'))).rejects.toThrow();
    expect(sb.engagements()).toEqual([]);
    expect(sb.stats().byStatus).toEqual({ dropped: 1 });
    sb.setFaults({});
    expect((await call(sb, 'PUT', PATHS.engagement, engagement('e1'))).status).toBe(200);
  });

  it('maxBatchSize answers 413 {"error"} for bigger batches only', async () => {
    sb.setFaults({ maxBatchSize: 2 });
    const tooBig = await call(sb, 'PUT', PATHS.engagementBatch, [engagement('a'), engagement('b'), engagement('c')]);
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.error).toMatch(/3 items/);
    expect(sb.engagements()).toEqual([]);
    expect((await call(sb, 'PUT', PATHS.engagementBatch, [engagement('a'), engagement('b')])).status).toBe(200);
    expect((await call(sb, 'PUT', PATHS.engagement, engagement('c'))).status).toBe(200);
  });

  it('latencyMs holds every API request back', async () => {
    const baseline = await call(sb, 'GET', PATHS.identity);
    sb.setFaults({ latencyMs: 120 });
    const slow = await call(sb, 'GET', PATHS.identity);
    expect(slow.status).toBe(200);
    expect(slow.ms).toBeGreaterThanOrEqual(119);
    expect(slow.ms).toBeGreaterThan(baseline.ms + 60);
  });

  it('jitterMs adds a seeded random 0..jitter on top', async () => {
    sb.setFaults({ latencyMs: 20, jitterMs: 60, seed: 7 });
    const times = [];
    for (let i = 0; i < 4; i++) times.push((await call(sb, 'GET', PATHS.identity)).ms);
    for (const ms of times) expect(ms).toBeGreaterThanOrEqual(19);
    // Seed 7 draws about 59, 20, 41 and 8 ms of jitter: a spread no run without jitter shows.
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(20);
  });

  it('burst429 answers the next N API requests 429 with the given Retry-After', async () => {
    sb.setFaults({ burst429: { count: 2, retryAfterSeconds: 7 } });
    for (let i = 0; i < 2; i++) {
      const r = await call(sb, 'PUT', PATHS.engagement, engagement('e1'));
      expect(r.status).toBe(429);
      expect(r.headers.get('retry-after')).toBe('7');
      expect(r.json).toEqual({ error: 'Too many requests' });
    }
    expect((await call(sb, 'PUT', PATHS.engagement, engagement('e1'))).status).toBe(200);
    expect(sb.stats()).toMatchObject({ throttled: 2, byStatus: { '429': 2, '200': 1 }, itemsWritten: 1 });
  });

  it('draws the same failures for the same seed', async () => {
    const run = async (seed: number) => {
      sb.setFaults({ errorRate: 0.5, seed });
      const statuses = [];
      for (let i = 0; i < 16; i++) statuses.push((await call(sb, 'PUT', PATHS.engagement, engagement(`e${i}`))).status);
      return statuses.join(',');
    };
    const first = await run(42);
    expect(await run(42)).toBe(first);
    expect(first).toContain('500');
    expect(first).toContain('200');
    expect(await run(43)).not.toBe(first);
  });
});
