import { describe, expect, it } from 'vitest';
import { SinkClosedError } from '../../connector/delivery/siro-sink.js';
import { FatalApiError, SiroUnreachableError } from '../../connector/core/errors.js';
import { DEFAULT_SANDBOX_TOKEN, startSandbox, type Sandbox } from '../../connector/sandbox/server.js';
import { engagement, outboundItem } from '../support/siro-payloads.js';
import { sandboxPerFile } from '../support/sandbox.js';
import { harness, pushAll } from './support.js';

const SECRET = 'tok-3f9a1c7e5b2d4e6f8a0b';

let sb: Sandbox;
sandboxPerFile((s) => (sb = s), {
  tokens: [DEFAULT_SANDBOX_TOKEN, { token: SECRET, tokenName: 'no rights', organizationId: 'org-sandbox', forbidden: true }],
  fresh: true,
});

const items = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => outboundItem(engagement(`${prefix}${i}`)));

/** Pushes everything and drains; returns the error it ended with. */
async function runUntilError(h: ReturnType<typeof harness>, list: ReturnType<typeof items>): Promise<Error> {
  try {
    await pushAll(h.sink, list);
    await h.sink.drain();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the run to fail');
}

const settle = () => new Promise((r) => setTimeout(r, 150));

describe('fatal answers', () => {
  it('401: FatalApiError at once, no outcomes, nothing more sent, token never shown', async () => {
    const h = harness(sb, { apiToken: `${SECRET}-unknown`, batchSize: 5 });
    const error = await runUntilError(h, items(200, 'a'));
    expect(error).toBeInstanceOf(FatalApiError);
    expect(error).not.toBeInstanceOf(SiroUnreachableError);
    expect((error as FatalApiError).exitCode).toBe(4);
    expect(error.message).toContain('Siro refused the API token (401): check api_token');
    expect((error as FatalApiError).status).toBe(401);
    expect(error.message).not.toContain(SECRET);
    expect(h.outcomes).toEqual([]);
    await expect(h.sink.push(outboundItem(engagement('late')))).rejects.toBe(error);
    await expect(h.sink.drain()).rejects.toBe(error);
    await settle();
    const sent = sb.stats().requests;
    expect(sent).toBeLessThanOrEqual(4); // only what was in flight together (max_concurrency)
    await settle();
    expect(sb.stats().requests).toBe(sent);
    expect(h.outcomes).toEqual([]);
    await h.sink.close(100);
    expect(sb.engagements()).toEqual([]);
  });

  it('403: says which path and that the token lacks rights or the User-Agent is refused', async () => {
    const h = harness(sb, { apiToken: SECRET, userAgent: 'my-agent/2' });
    const error = await runUntilError(h, items(30, 'b'));
    expect(error).toBeInstanceOf(FatalApiError);
    expect((error as FatalApiError).exitCode).toBe(4);
    expect(error.message).toContain('lacks rights for PUT /v1/integrations/sync/batch/engagements (403)');
    expect(error.message).toContain('"my-agent/2"');
    expect(error.message).not.toContain(SECRET);
    expect(h.outcomes).toEqual([]);
    await h.sink.close(100);
  });

  it('404: points at base_url', async () => {
    const h = harness(sb, { baseUrl: `${sb.url}/wrong-prefix` });
    const error = await runUntilError(h, items(3, 'n'));
    expect(error.message).toMatch(/\/wrong-prefix\/v1\/integrations\/sync\/batch\/engagements \(404\): check base_url/);
    // No Siro API at base_url: the exit code `check` gives it (6), not the one of a refused token (4).
    expect(error).toBeInstanceOf(SiroUnreachableError);
    expect((error as FatalApiError).exitCode).toBe(6);
    await h.sink.close(100);
  });

  it('5xx that never ends: batches are bisected, and a single item still failing ends the run', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, errorRate: 1 });
    const h = harness(sb, { batchSize: 8, maxRetries: 2, maxConcurrency: 2 });
    const error = await runUntilError(h, items(8, 'c'));
    expect(error).toBeInstanceOf(SiroUnreachableError);
    expect((error as FatalApiError).exitCode).toBe(6);
    expect(error.message).toMatch(/^Siro at 127\.0\.0\.1:\d+ did not accept requests after 2 retries over \d+\.\d s: Internal server error \(500\)$/);
    const stats = h.sink.stats();
    expect(stats.splits).toBeGreaterThanOrEqual(3); // 8 → 4 → 2 → 1
    expect(h.requests.some((r) => r.items === 1)).toBe(true);
    expect(h.outcomes).toEqual([]);
    await h.sink.close(100);
  });

  it('connection refused after all retries: fatal, with the cause and without the token', async () => {
    const gone = await startSandbox();
    const url = gone.url;
    await gone.close();
    const h = harness(sb, { baseUrl: url, apiToken: SECRET, maxRetries: 2 });
    const error = await runUntilError(h, items(3, 'd'));
    expect(error).toBeInstanceOf(SiroUnreachableError);
    expect((error as FatalApiError).exitCode).toBe(6);
    expect(error.message).toMatch(/^cannot reach Siro at 127\.0\.0\.1:\d+ after 2 retries over .* s: connection failed: ECONNREFUSED/);
    expect(error.message).not.toContain(SECRET);
    expect(h.requests.every((r) => r.status === 'network-error')).toBe(true);
    await h.sink.close(100);
  });

  it('timeouts are retried, then fatal', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, latencyMs: 400 });
    const h = harness(sb, { requestTimeoutMs: 80, maxRetries: 1 });
    const error = await runUntilError(h, items(2, 't'));
    expect(error).toBeInstanceOf(SiroUnreachableError);
    expect(error.message).toMatch(/after 1 retries over .* s: no answer within 80 ms \(request_timeout_ms\)/);
    expect(h.requests.map((r) => r.status)).toEqual(['timeout', 'timeout']);
    await h.sink.close(100);
  });
});

describe('close(grace)', () => {
  it('lets requests in flight finish within the grace time; queued items get no outcome', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, latencyMs: 300 });
    const h = harness(sb, { batchSize: 10, maxConcurrency: 2 });
    const list = items(40, 'g');
    await pushAll(h.sink, list);
    await new Promise((r) => setTimeout(r, 80)); // two batches in flight, two waiting
    await h.sink.close(2000);
    expect(h.outcomes).toHaveLength(20);
    expect(h.outcomes.every((o) => o.kind === 'acked')).toBe(true);
    // (Requests other tests gave up on may still land in the sandbox: count this test's items only.)
    expect(sb.engagements().filter((r) => r.externalId.startsWith('g'))).toHaveLength(20);
    await expect(h.sink.push(outboundItem(engagement('after')))).rejects.toBeInstanceOf(SinkClosedError);
    await expect(h.sink.drain()).rejects.toBeInstanceOf(SinkClosedError);
    await settle();
    expect(h.requests).toHaveLength(2);
  });

  it('gives up on requests still in flight after the grace time: their items get no outcome', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, latencyMs: 500 });
    const h = harness(sb, { batchSize: 10, maxConcurrency: 2 });
    await pushAll(h.sink, items(20, 'h'));
    await new Promise((r) => setTimeout(r, 80));
    const started = performance.now();
    await h.sink.close(50);
    expect(performance.now() - started).toBeLessThan(400);
    await new Promise((r) => setTimeout(r, 600));
    expect(h.outcomes).toEqual([]);
  });

  it('a push waiting for room is released by close()', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, latencyMs: 300 });
    const h = harness(sb, { batchSize: 2, maxConcurrency: 1, maxQueuedItems: 4 });
    const list = items(5, 'w');
    for (const i of list.slice(0, 3)) await h.sink.push(i);
    const blocked = h.sink.push(list[3]!);
    const closing = h.sink.close(1000);
    await expect(blocked).rejects.toBeInstanceOf(SinkClosedError);
    await closing;
  });
});
