import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { OutboundItem, Outcome } from '../../connector/delivery/sink.js';
import { createSiroSink } from '../../connector/delivery/siro-sink.js';
import { createLedgerSink } from '../../connector/ledger/ledger-sink.js';
import { LedgerStore } from '../../connector/ledger/store.js';
import type { Logger } from '../../connector/core/log.js';
import type { Sandbox } from '../../connector/sandbox/server.js';
import { tempDir } from '../support/cli.js';
import { opportunity, outboundItem } from '../support/siro-payloads.js';
import { contents, harness, pushAll, TOKEN } from './support.js';
import { sandboxPerFile } from '../support/sandbox.js';

/**
 * Opportunity items get the same delivery guarantees as engagements: the batch and single opportunity
 * endpoints, retries, splitting, per-externalId ordering and the ledger's change detection. Real HTTP
 * against the sandbox.
 */

let sb: Sandbox;
sandboxPerFile((s) => (sb = s), { fresh: true });

const opp = (id: string, extra: Record<string, unknown> = {}) => outboundItem(opportunity(id, extra), { object: 'opportunity' });

/** An opportunity Siro refuses: a disposition outside OPEN, LOST, WON. */
const badOpp = (id: string) => opp(id, { disposition: 'MAYBE' });

describe('opportunities through the Siro sink', () => {
  it('go through the batch endpoint in batches, each acknowledged once with its Siro id', async () => {
    const h = harness(sb, { batchSize: 25 });
    const items = Array.from({ length: 120 }, (_, i) => opp(`o${i}`, { amount: i * 10 }));
    await pushAll(h.sink, items);
    await h.sink.drain();
    await h.sink.close(1000);

    expect(h.outcomes).toHaveLength(120);
    expect([...h.outcomeCounts().values()].every((n) => n === 1)).toBe(true);
    expect(contents(sb.opportunities())).toEqual(new Map(items.map((i) => [i.externalId, i.payload])));
    expect(sb.engagements()).toEqual([]);
    const idByExternal = new Map(sb.opportunities().map((r) => [r.externalId, r.id]));
    for (const o of h.outcomes) expect(o.kind === 'acked' && o.siroId).toBe(idByExternal.get(o.item.externalId));
    // 120 items at 25 per request: a handful of batch requests, all on the opportunity endpoint.
    expect(h.requests.length).toBeLessThan(10);
    expect(h.requests.every((r) => r.object === 'opportunity')).toBe(true);
    expect(Math.max(...h.requests.map((r) => r.items))).toBe(25);
    expect(sb.stats().byStatus['200']).toBe(h.requests.length);
  });

  it('go through the single opportunity endpoint when batch_size is 1', async () => {
    const h = harness(sb, { batchSize: 1, baseUrl: `${sb.url}/api-externalApi` });
    const items = Array.from({ length: 9 }, (_, i) => opp(`s${i}`));
    await pushAll(h.sink, items);
    await h.sink.drain();
    await h.sink.close(1000);
    expect(h.outcomes.every((o) => o.kind === 'acked' && typeof o.siroId === 'string')).toBe(true);
    expect(h.outcomes).toHaveLength(9);
    expect(sb.stats().requests).toBe(9);
    expect(contents(sb.opportunities())).toEqual(new Map(items.map((i) => [i.externalId, i.payload])));
  });

  it('are retried through 500s, 500s after the write, dropped connections and 429s; the last payload wins', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, errorRate: 0.2, errorAfterWriteRate: 0.15, dropRate: 0.1, burst429: { count: 2, retryAfterSeconds: 1 }, seed: 11 });
    const h = harness(sb, { batchSize: 6 });
    const items: OutboundItem[] = [];
    for (let round = 0; round < 3; round++) for (let i = 0; i < 30; i++) items.push(opp(`r${i}`, { name: `round ${round}` }));
    await pushAll(h.sink, items);
    await h.sink.drain();
    await h.sink.close(1000);

    expect(h.outcomes).toHaveLength(90);
    expect([...h.outcomeCounts().values()].every((n) => n === 1)).toBe(true);
    expect(h.outcomes.every((o) => o.kind === 'acked')).toBe(true);
    const stored = contents(sb.opportunities());
    expect(stored.size).toBe(30);
    for (const body of stored.values()) expect(body.name).toBe('round 2');
    expect(h.sink.stats().retries).toBeGreaterThan(0);
    expect(h.sink.stats().throttled).toBe(2);
    expect(sb.stats().byStatus['500']).toBeGreaterThan(0);
    expect(sb.stats().byStatus.dropped).toBeGreaterThan(0);
  });

  it('a refused opportunity is rejected alone with the issue inside it; its batch neighbours are delivered', async () => {
    const h = harness(sb, { batchSize: 10 });
    const items = Array.from({ length: 10 }, (_, i) => (i === 6 ? badOpp(`q${i}`) : opp(`q${i}`)));
    await pushAll(h.sink, items);
    await h.sink.drain();
    await h.sink.close(1000);
    const rejected = h.outcomes.filter((o) => o.kind === 'rejected');
    expect(rejected.map((o) => o.item.externalId)).toEqual(['q6']);
    const [reason] = rejected[0]!.kind === 'rejected' ? rejected[0]!.reasons : [];
    expect(reason).toMatch(/^disposition: .* \(422\)$/);
    expect(sb.opportunities().map((r) => r.externalId).sort()).toEqual(items.filter((_, i) => i !== 6).map((i) => i.externalId).sort());
    expect(sb.stats().byStatus).toMatchObject({ '422': 1, '200': 1 });
    expect(h.sink.stats()).toMatchObject({ rejected: 1, acked: 9, splits: 1 });
  });

  it('batches Siro finds too large (413) are bisected and later ones made smaller', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, maxBatchSize: 3 });
    const h = harness(sb, { batchSize: 12, maxConcurrency: 1 });
    const items = Array.from({ length: 36 }, (_, i) => opp(`t${i}`));
    await pushAll(h.sink, items);
    await h.sink.drain();
    await h.sink.close(1000);
    expect(h.outcomes.filter((o) => o.kind === 'acked')).toHaveLength(36);
    expect(contents(sb.opportunities())).toEqual(new Map(items.map((i) => [i.externalId, i.payload])));
    expect(h.sink.stats().splits).toBeGreaterThan(0);
    expect(h.requests.filter((r) => r.status === 200).every((r) => r.items <= 3)).toBe(true);
    expect(sb.stats().byStatus['413']).toBeLessThanOrEqual(3);
  });

  it('writes of one opportunity never overlap and keep their order: the last version wins', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, latencyMs: 5, jitterMs: 40, seed: 5 });
    const h = harness(sb, { batchSize: 4, maxConcurrency: 4, batchLingerMs: 1 });
    for (let v = 0; v < 30; v++) {
      for (const id of ['p1', 'p2', 'p3']) await h.sink.push(opp(id, { amount: v }));
      if (v % 4 === 0) await new Promise((r) => setTimeout(r, 15));
    }
    await h.sink.drain();
    await h.sink.close(1000);
    expect(h.outcomes).toHaveLength(90);
    expect([...h.outcomeCounts().values()].every((n) => n === 1)).toBe(true);
    // With jittered latency, overlapping writes would sometimes leave an older amount stored last.
    for (const body of contents(sb.opportunities()).values()) expect(body.amount).toBe(29);
    expect(sb.opportunities().every((r) => r.writes < 30)).toBe(true);
  });
});

describe('opportunities and the ledger', () => {
  function silentLogger(): Logger {
    return pino({ level: 'silent' }) as unknown as Logger;
  }

  /** One run through LedgerSink → SiroSink, the way the CLI wires them. */
  async function ledgerRun(store: LedgerStore, items: OutboundItem[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    const sink = createLedgerSink(
      (onOutcome) =>
        createSiroSink({
          baseUrl: sb.url,
          apiToken: TOKEN,
          userAgent: 'target-siro-tests/1.0',
          batchSize: 20,
          maxConcurrency: 2,
          rateLimitPerMinute: 1_000_000,
          maxRetries: 3,
          maxRetryTimeMs: 5_000,
          requestTimeoutMs: 5_000,
          batchLingerMs: 5,
          onOutcome,
        }),
      {
        store,
        runId: `run-${Math.random()}`,
        dryRun: false,
        skipUnchanged: true,
        deleteMode: 'none',
        maxDeleteFraction: 0.2,
        retryRejected: false,
        onOutcome: (o) => outcomes.push(o),
        log: silentLogger(),
      },
    );
    await pushAll(sink, items);
    await sink.drain();
    await sink.close(1000);
    return outcomes;
  }

  it('an opportunity Siro already holds is not sent again; a changed one is', async () => {
    const store = await LedgerStore.open({ path: join(tempDir('opp-ledger-'), 'ledger.sqlite') });
    try {
      const first = Array.from({ length: 30 }, (_, i) => opp(`l${i}`));
      const run1 = await ledgerRun(store, first);
      expect(run1.filter((o) => o.kind === 'acked')).toHaveLength(30);
      const requestsAfterRun1 = sb.stats().requests;

      // The same payloads again (fresh items, as a new run maps them), one of them changed.
      const second = first.map((i) => opp(i.externalId, i.externalId === 'l7' ? { amount: 99_999 } : {}));
      const run2 = await ledgerRun(store, second);
      expect(run2.filter((o) => o.kind === 'unchanged')).toHaveLength(29);
      expect(run2.filter((o) => o.kind === 'acked').map((o) => o.item.externalId)).toEqual(['l7']);
      expect(sb.stats().requests - requestsAfterRun1).toBe(1);
      const l7 = sb.opportunities().find((r) => r.externalId === 'l7')!;
      expect(l7.body.amount).toBe(99_999);
      expect(l7.writes).toBe(2);
      expect(sb.opportunities().filter((r) => r.writes === 1)).toHaveLength(29);

      // An engagement with the same externalId as an opportunity is another ledger row (per object).
      const run3 = await ledgerRun(store, [outboundItem({ externalId: 'l7', subject: 'Call about l7' })]);
      expect(run3.map((o) => o.kind)).toEqual(['acked']);
    } finally {
      await store.close();
    }
  });
});
