import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../connector/sandbox/server.js';
import { badEngagement, engagement, opportunity, outboundItem } from '../support/siro-payloads.js';
import { contents, harness, pushAll } from './support.js';
import { sandboxPerFile } from '../support/sandbox.js';

let sb: Sandbox;
sandboxPerFile((s) => (sb = s), { fresh: true });

describe('SiroSink against the sandbox', () => {
  it('delivers every item exactly once, batched, with Siro ids', async () => {
    const h = harness(sb, { batchSize: 25 });
    const engagements = Array.from({ length: 230 }, (_, i) => outboundItem(engagement(`e${i}`, { content: `note ${i}` })));
    const opportunities = Array.from({ length: 40 }, (_, i) => outboundItem(opportunity(`o${i}`), { object: 'opportunity' }));
    const all = engagements.flatMap((e, i) => (i < 40 ? [e, opportunities[i]!] : [e]));
    await pushAll(h.sink, all);
    await h.sink.drain();
    await h.sink.close(1000);

    expect(h.outcomes).toHaveLength(all.length);
    expect([...h.outcomeCounts().values()].every((n) => n === 1)).toBe(true);
    expect(h.outcomes.every((o) => o.kind === 'acked')).toBe(true);
    const stored = contents(sb.engagements());
    expect(stored).toEqual(new Map(engagements.map((e) => [e.externalId, e.payload])));
    expect(contents(sb.opportunities())).toEqual(new Map(opportunities.map((o) => [o.externalId, o.payload])));
    expect(sb.engagements().every((r) => r.writes === 1)).toBe(true);
    // Siro's id of each record comes back with its outcome.
    const idByExternal = new Map(sb.engagements().map((r) => [r.externalId, r.id]));
    for (const o of h.outcomes) {
      if (o.item.object === 'engagement') expect(o.kind === 'acked' && o.siroId).toBe(idByExternal.get(o.item.externalId));
    }
    // Batched: 230 engagements at 25 per batch is ~10 requests, not 230.
    const stats = h.sink.stats();
    expect(stats.requests).toBeLessThan(20);
    expect(stats.acked).toBe(all.length);
    expect(stats.latenciesMs).toHaveLength(stats.requests);
    expect(sb.stats().byStatus['200']).toBe(stats.requests);
  });

  it('uses the single-item endpoints when batch_size is 1, under a base URL with a path prefix', async () => {
    const h = harness(sb, { batchSize: 1, baseUrl: `${sb.url}/api-externalApi/` });
    const items = Array.from({ length: 12 }, (_, i) => outboundItem(engagement(`s${i}`)));
    await pushAll(h.sink, items);
    await h.sink.drain();
    await h.sink.close(1000);
    expect(h.outcomes.filter((o) => o.kind === 'acked')).toHaveLength(12);
    expect(h.outcomes.every((o) => o.kind === 'acked' && typeof o.siroId === 'string')).toBe(true);
    expect(sb.stats().requests).toBe(12);
    expect(contents(sb.engagements())).toEqual(new Map(items.map((i) => [i.externalId, i.payload])));
  });

  it('survives 500s, 500s after the write, dropped connections and 429 bursts: every externalId ends with its last payload', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, errorRate: 0.2, errorAfterWriteRate: 0.15, dropRate: 0.1, burst429: { count: 3, retryAfterSeconds: 1 }, seed: 7 });
    const h = harness(sb, { batchSize: 8 });
    const items = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 60; i++) items.push(outboundItem(engagement(`f${i}`, { content: `round ${round}` })));
    }
    await pushAll(h.sink, items);
    await h.sink.drain();
    await h.sink.close(1000);

    expect(h.outcomes).toHaveLength(items.length);
    expect([...h.outcomeCounts().values()].every((n) => n === 1)).toBe(true);
    expect(h.outcomes.every((o) => o.kind === 'acked')).toBe(true);
    const stored = contents(sb.engagements());
    expect(stored.size).toBe(60);
    for (const [, body] of stored) expect(body.content).toBe('round 2');
    const stats = h.sink.stats();
    const server = sb.stats();
    expect(stats.retries).toBeGreaterThan(0);
    expect(stats.throttled).toBe(3);
    expect(server.byStatus['500']).toBeGreaterThan(0);
    expect(server.byStatus.dropped).toBeGreaterThan(0);
  });

  it('rejects a bad item named by the issue path alone; its neighbours are delivered', async () => {
    const h = harness(sb, { batchSize: 10 });
    const items = Array.from({ length: 10 }, (_, i) => outboundItem(i === 4 ? badEngagement(`b${i}`) : engagement(`b${i}`)));
    await pushAll(h.sink, items);
    await h.sink.drain();
    await h.sink.close(1000);
    const rejected = h.outcomes.filter((o) => o.kind === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.item.externalId).toBe('b4');
    expect(rejected[0]!.kind === 'rejected' && rejected[0]!.reasons).toEqual(['account.addresses.0.zip: Required (422)']);
    expect(rejected[0]!.kind === 'rejected' && rejected[0]!.status).toBe(422);
    expect(sb.engagements().map((r) => r.externalId).sort()).toEqual(items.filter((_, i) => i !== 4).map((i) => i.externalId).sort());
    // One refused batch, then the nine others re-sent together.
    expect(sb.stats().byStatus).toMatchObject({ '422': 1, '200': 1 });
    expect(h.sink.stats()).toMatchObject({ rejected: 1, acked: 9, splits: 1 });
  });

  it('bisects a batch Siro finds too large (413), remembers the smaller size, and still rejects a bad item alone', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, maxBatchSize: 4 });
    const h = harness(sb, { batchSize: 16, maxConcurrency: 1 });
    const items = Array.from({ length: 48 }, (_, i) => outboundItem(i === 21 ? badEngagement(`t${i}`) : engagement(`t${i}`)));
    await pushAll(h.sink, items);
    await h.sink.drain();
    await h.sink.close(1000);
    expect(h.outcomes).toHaveLength(48);
    const rejected = h.outcomes.filter((o) => o.kind === 'rejected').map((o) => o.item.externalId);
    expect(rejected).toEqual(['t21']);
    expect(sb.engagements()).toHaveLength(47);
    // After the first 413 (16 → 8 → 4), later batches are sent at the smaller size straight away.
    expect(sb.stats().byStatus['413']).toBeLessThanOrEqual(3);
    expect(h.sink.stats().retries).toBe(0);
    expect(h.requests.filter((r) => r.status === 200).every((r) => r.items <= 4)).toBe(true);
  });

  it('bisects down to single items when every batch is too large', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, maxBatchSize: 1 });
    const h = harness(sb, { batchSize: 8, maxConcurrency: 2 });
    const items = Array.from({ length: 8 }, (_, i) => outboundItem(engagement(`u${i}`)));
    await pushAll(h.sink, items);
    await h.sink.drain();
    await h.sink.close(1000);
    expect(h.outcomes.filter((o) => o.kind === 'acked')).toHaveLength(8);
    expect(h.sink.stats().splits).toBeGreaterThanOrEqual(3);
    expect(contents(sb.engagements())).toEqual(new Map(items.map((i) => [i.externalId, i.payload])));
  });

  it('duplicates in quick succession: the last payload wins, superseded items get an outcome, writes never overlap', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, latencyMs: 5, jitterMs: 40, seed: 3 });
    const h = harness(sb, { batchSize: 5, maxConcurrency: 4, batchLingerMs: 1 });
    for (let v = 0; v < 40; v++) {
      for (const id of ['d1', 'd2', 'd3']) await h.sink.push(outboundItem(engagement(id, { content: `v${v}` })));
      // Now and then a pause, so that some writes are in flight while newer versions arrive.
      if (v % 5 === 0) await new Promise((r) => setTimeout(r, 15));
    }
    await h.sink.drain();
    await h.sink.close(1000);
    const stored = contents(sb.engagements());
    expect(stored.get('d1')!.content).toBe('v39');
    expect(stored.get('d2')!.content).toBe('v39');
    expect(stored.get('d3')!.content).toBe('v39');
    expect(h.outcomes).toHaveLength(120);
    expect([...h.outcomeCounts().values()].every((n) => n === 1)).toBe(true);
    // Versions waiting behind an in-flight write were replaced by newer ones (fewer writes than versions).
    // Had two writes of one externalId overlapped, the jittered latency would sometimes have stored an
    // older version last: the content checks above catch that.
    expect(sb.engagements().every((r) => r.writes < 40)).toBe(true);
    const superseded = h.outcomes.filter((o) => o.item.externalId === 'd1').length - sb.engagements().find((r) => r.externalId === 'd1')!.writes;
    expect(superseded).toBeGreaterThan(0);
  });

  it('flushPending() sends a partial batch at once instead of after its linger time', async () => {
    const h = harness(sb, { batchSize: 50, batchLingerMs: 10_000 });
    await pushAll(h.sink, [outboundItem(engagement('l1')), outboundItem(engagement('l2'))]);
    await new Promise((r) => setTimeout(r, 100));
    expect(h.requests).toHaveLength(0); // still lingering, waiting for more items
    h.sink.flushPending!();
    await new Promise((r) => setTimeout(r, 100));
    expect(h.outcomes.map((o) => o.item.externalId).sort()).toEqual(['l1', 'l2']);
    expect(h.requests).toHaveLength(1);
    await h.sink.close(100);
  });

  it('backpressure: push() waits while max_queued_items are unfinished', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, latencyMs: 150 });
    const h = harness(sb, { batchSize: 5, maxConcurrency: 1, maxQueuedItems: 10 });
    const list = Array.from({ length: 11 }, (_, i) => outboundItem(engagement(`k${i}`)));
    await pushAll(h.sink, list.slice(0, 9));
    let released = false;
    const tenth = Promise.resolve(h.sink.push(list[9]!)).then(() => (released = true));
    await new Promise((r) => setTimeout(r, 80));
    expect(released).toBe(false);
    expect(h.outcomes).toHaveLength(0);
    await tenth;
    expect(h.outcomes.length).toBeGreaterThanOrEqual(5); // room came from the first batch's outcomes
    await h.sink.push(list[10]!);
    await h.sink.drain();
    expect(h.outcomes).toHaveLength(11);
    await h.sink.close(100);
  });

  it('keeps bigint values exact', async () => {
    const h = harness(sb);
    await h.sink.push(outboundItem(opportunity('big', { amount: 2n ** 60n }), { object: 'opportunity' }));
    await h.sink.drain();
    await h.sink.close(100);
    expect(h.outcomes[0]!.kind).toBe('acked');
    expect(sb.opportunities()[0]!.body.amount).toBe(2 ** 60);
  });
});
