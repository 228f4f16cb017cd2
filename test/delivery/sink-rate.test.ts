import { beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../connector/sandbox/server.js';
import { engagement, outboundItem } from '../support/siro-payloads.js';
import { sandboxPerFile } from '../support/sandbox.js';
import { contents, harness, pushAll } from './support.js';

let sb: Sandbox;
sandboxPerFile((s) => (sb = s));
beforeEach(() => sb.reset());

describe('throughput and rate limits', () => {
  it('keeps max_concurrency full batches in flight, never more (throughput itself is measured by npm run bench)', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, latencyMs: 95, jitterMs: 10 });
    const concurrency = 4;
    const batchSize = 100;
    const h = harness(sb, { batchSize, maxConcurrency: concurrency, rateLimitPerMinute: 1_000_000 });
    const list = Array.from({ length: 2000 }, (_, i) => outboundItem(engagement(`p${i}`)));
    await pushAll(h.sink, list);
    await h.sink.drain();
    await h.sink.close(1000);
    expect(h.outcomes.filter((o) => o.kind === 'acked')).toHaveLength(list.length);
    expect(sb.engagements().filter((r) => r.externalId.startsWith('p'))).toHaveLength(list.length);
    // Full batches only: the sink batches rather than trickling.
    expect(h.requests).toHaveLength(list.length / batchSize);
    // The most requests in flight at one moment: exactly max_concurrency.
    const edges = h.requests.flatMap((r) => [
      { t: r.at - r.durationMs, d: 1 },
      { t: r.at, d: -1 },
    ]);
    edges.sort((a, b) => a.t - b.t || a.d - b.d);
    let inFlight = 0;
    let most = 0;
    for (const e of edges) most = Math.max(most, (inFlight += e.d));
    expect(most).toBe(concurrency);
  });

  it('at the server limit (R = 120/min, client 120/min): no 429 at all, never faster than R', async () => {
    sb.setFaults({ rateLimitPerMinute: 120 });
    const h = harness(sb, { batchSize: 10, rateLimitPerMinute: 120, maxConcurrency: 4 });
    const list = Array.from({ length: 80 }, (_, i) => outboundItem(engagement(`r${i}`)));
    await pushAll(h.sink, list);
    await h.sink.drain();
    await h.sink.close(1000);
    expect(sb.stats().throttled).toBe(0);
    expect(h.sink.stats().throttled).toBe(0);
    expect(h.outcomes).toHaveLength(80);
    // Rate between the first and the last request (the first goes at once).
    const starts = h.requests.map((r) => r.at - r.durationMs);
    const perMinute = ((starts.length - 1) / (starts.at(-1)! - starts[0]!)) * 60_000;
    expect(h.requests).toHaveLength(8);
    expect(perMinute).toBeLessThanOrEqual(120);
  });

  it('honours 429 + Retry-After: everyone pauses, the retries do not use the retry budget, nothing is lost', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, burst429: { count: 4, retryAfterSeconds: 1 } });
    const h = harness(sb, { batchSize: 5, maxConcurrency: 4, maxRetries: 0 });
    const list = Array.from({ length: 60 }, (_, i) => outboundItem(engagement(`q${i}`)));
    await pushAll(h.sink, list);
    await h.sink.drain();
    await h.sink.close(1000);
    expect(h.outcomes.filter((o) => o.kind === 'acked')).toHaveLength(60);
    expect(contents(sb.engagements())).toEqual(new Map(list.map((i) => [i.externalId, i.payload])));
    const stats = h.sink.stats();
    expect(stats.throttled).toBe(4);
    expect(stats.retries).toBe(0);
    const firstThrottled = h.requests.find((r) => r.status === 429)!.at;
    const afterThrottle = h.requests.filter((r) => r.status === 200).map((r) => r.at - r.durationMs);
    // No request went out during the second Siro asked for.
    expect(Math.min(...afterThrottle)).toBeGreaterThanOrEqual(firstThrottled + 990);
  });

  it('client faster than the server: a sliding-window 429 pauses every request for its Retry-After', async () => {
    // The server allows 4 requests per minute; the client would send 60 000. Once the window is full the
    // sandbox asks to wait for most of a minute: the client must stop sending rather than hammer it.
    sb.setFaults({ rateLimitPerMinute: 4 });
    const h = harness(sb, { batchSize: 2, maxConcurrency: 4, rateLimitPerMinute: 60_000 });
    await pushAll(h.sink, Array.from({ length: 20 }, (_, i) => outboundItem(engagement(`v${i}`))));
    await new Promise((r) => setTimeout(r, 1500));
    const server = sb.stats();
    expect(server.byStatus['200']).toBe(4);
    // Only the requests already on their way when the first 429 came back were refused.
    expect(server.throttled).toBeGreaterThanOrEqual(1);
    expect(server.throttled).toBeLessThanOrEqual(4);
    expect(h.sink.stats().throttled).toBe(server.throttled);
    // Acked items are exactly the stored ones; the throttled ones wait (no outcome, nothing rejected).
    expect(h.outcomes.every((o) => o.kind === 'acked')).toBe(true);
    expect(h.outcomes.map((o) => o.item.externalId).sort()).toEqual(sb.engagements().map((r) => r.externalId).sort());
    expect(h.outcomes).toHaveLength(8);
    await h.sink.close(100);
  });
});
