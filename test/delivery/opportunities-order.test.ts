import { describe, expect, it } from 'vitest';
import type { OutboundItem } from '../../connector/delivery/sink.js';
import type { Sandbox, SandboxObjectRecord } from '../../connector/sandbox/server.js';
import { engagement, opportunity, outboundItem } from '../support/siro-payloads.js';
import { harness, pushAll } from './support.js';
import { sandboxPerFile } from '../support/sandbox.js';

/**
 * Opportunities before the engagements that reference them: an engagement whose `opportunity.externalId`
 * names an opportunity pushed earlier in the run (and still without an outcome) is not sent until that
 * opportunity has its answer. The sandbox adds latency so the opportunity's request is in flight while the
 * engagement would otherwise go; the order is read back from the stored records' `createdAt` (the time of
 * their first write): an engagement that waited for the opportunity's answer is written at least one
 * latency after the opportunity.
 */

let sb: Sandbox;
sandboxPerFile((s) => (sb = s), { fresh: true });

const LATENCY = 150;

const opp = (id: string, extra: Record<string, unknown> = {}) => outboundItem(opportunity(id, extra), { object: 'opportunity' });
/** An engagement that links to opportunity `x` by its externalId only. */
const linked = (id: string, x: string, extra: Record<string, unknown> = {}) => outboundItem(engagement(id, { opportunity: { externalId: x }, ...extra }));

function record(list: SandboxObjectRecord[], externalId: string): SandboxObjectRecord {
  const r = list.find((x) => x.externalId === externalId);
  if (!r) throw new Error(`the sandbox holds no ${externalId}`);
  return r;
}

/** ms between the first writes of two stored records. */
function writtenAfter(later: SandboxObjectRecord, earlier: SandboxObjectRecord): number {
  return Date.parse(later.createdAt) - Date.parse(earlier.createdAt);
}

describe('engagements wait for the opportunities they reference', () => {
  it.each([
    { endpoint: 'batch', batchSize: 10 },
    { endpoint: 'single', batchSize: 1 },
  ])('$endpoint endpoints: the engagement goes only after the opportunity pushed just before it is acknowledged', async ({ batchSize }) => {
    sb.setFaults({ rateLimitPerMinute: 0, latencyMs: LATENCY });
    const h = harness(sb, { batchSize, maxConcurrency: 4 });
    await pushAll(h.sink, [opp('X'), linked('E', 'X'), outboundItem(engagement('F'))]);
    await h.sink.drain();
    await h.sink.close(1000);

    expect(h.outcomes.map((o) => `${o.kind}:${o.item.externalId}`).sort()).toEqual(['acked:E', 'acked:F', 'acked:X']);
    const x = record(sb.opportunities(), 'X');
    const e = record(sb.engagements(), 'E');
    const f = record(sb.engagements(), 'F');
    // E's request started after X's answer, then waited out the latency itself.
    expect(writtenAfter(e, x)).toBeGreaterThanOrEqual(LATENCY - 2);
    // F references nothing: it went alongside X (the wait is per reference, not a barrier).
    expect(Math.abs(writtenAfter(f, x))).toBeLessThan(LATENCY - 40);
    // Sent as mapped: the link by externalId only.
    expect(e.body.opportunity).toEqual({ externalId: 'X' });
    expect(e.writes).toBe(1);
  });

  it('an opportunity pushed while the engagement still lingers in an open batch holds it back too', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, latencyMs: LATENCY });
    const h = harness(sb, { batchSize: 10, batchLingerMs: 40 });
    await pushAll(h.sink, [linked('E', 'X'), outboundItem(engagement('F')), opp('X')]);
    await h.sink.drain();
    await h.sink.close(1000);
    expect(h.outcomes.every((o) => o.kind === 'acked')).toBe(true);
    const x = record(sb.opportunities(), 'X');
    expect(writtenAfter(record(sb.engagements(), 'E'), x)).toBeGreaterThanOrEqual(LATENCY - 2);
    expect(Math.abs(writtenAfter(record(sb.engagements(), 'F'), x))).toBeLessThan(LATENCY - 40);
  });

  it('an opportunity pushed while the engagement batch waits for a request slot takes the engagement out of it', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, latencyMs: LATENCY });
    // One request at a time: A1+A2 go out, E+B queue for the slot as a full batch, then X is pushed.
    const h = harness(sb, { batchSize: 2, maxConcurrency: 1 });
    await pushAll(h.sink, [outboundItem(engagement('A1')), outboundItem(engagement('A2')), linked('E', 'X'), outboundItem(engagement('B')), opp('X')]);
    await h.sink.drain();
    await h.sink.close(1000);

    expect(h.outcomes.every((o) => o.kind === 'acked')).toBe(true);
    expect(h.outcomes).toHaveLength(5);
    const engagements = sb.engagements();
    const x = record(sb.opportunities(), 'X');
    const a1 = record(engagements, 'A1');
    const b = record(engagements, 'B');
    const e = record(engagements, 'E');
    // B went in the slot E's batch had waited for; X next; E only after X's answer.
    expect(writtenAfter(b, a1)).toBeGreaterThanOrEqual(LATENCY - 2);
    expect(writtenAfter(x, b)).toBeGreaterThanOrEqual(LATENCY - 2);
    expect(writtenAfter(e, x)).toBeGreaterThanOrEqual(LATENCY - 2);
    expect(h.requests.map((r) => `${r.object}:${r.items}`)).toEqual(['engagement:2', 'engagement:1', 'opportunity:1', 'engagement:1']);
  });

  it('an opportunity Siro refuses does not hold its engagement back for ever: the engagement is sent as mapped after the refusal', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, latencyMs: 60 });
    const h = harness(sb, { batchSize: 10 });
    await pushAll(h.sink, [opp('BAD', { disposition: 'MAYBE' }), linked('E', 'BAD')]);
    await h.sink.drain();
    await h.sink.close(1000);

    expect(h.outcomes.map((o) => `${o.kind}:${o.item.object}:${o.item.externalId}`)).toEqual(['rejected:opportunity:BAD', 'acked:engagement:E']);
    expect(sb.opportunities()).toEqual([]);
    expect(record(sb.engagements(), 'E').body.opportunity).toEqual({ externalId: 'BAD' });
    // The engagement's request started only once the opportunity's answer was in.
    const [oppRequest, engagementRequest] = h.requests;
    expect(oppRequest).toMatchObject({ object: 'opportunity', status: 422 });
    expect(engagementRequest).toMatchObject({ object: 'engagement', status: 200 });
    expect(engagementRequest!.at - engagementRequest!.durationMs).toBeGreaterThanOrEqual(oppRequest!.at - 1);
  });

  it('a waiting engagement replaced by a newer version keeps the order of its writes', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, latencyMs: LATENCY });
    const h = harness(sb, { batchSize: 10 });
    // E waits for X; its newer version links to nothing pending, so it goes at once and stands for both.
    await pushAll(h.sink, [opp('X'), linked('E', 'X', { content: 'v1' }), outboundItem(engagement('E', { content: 'v2' }))]);
    await h.sink.drain();
    await h.sink.close(1000);
    expect(h.outcomes).toHaveLength(3);
    expect(h.outcomes.every((o) => o.kind === 'acked')).toBe(true);
    const e = record(sb.engagements(), 'E');
    expect(e.writes).toBe(1);
    expect(e.body.content).toBe('v2');
    expect(Math.abs(writtenAfter(e, record(sb.opportunities(), 'X')))).toBeLessThan(LATENCY - 40);
  });

  it('mixed workload under backpressure and faults: no deadlock, bounded queue, every engagement written after its opportunity, last versions win', async () => {
    sb.setFaults({ rateLimitPerMinute: 0, latencyMs: 5, jitterMs: 30, errorRate: 0.1, errorAfterWriteRate: 0.05, seed: 21 });
    const maxQueuedItems = 12;
    const h = harness(sb, { batchSize: 5, maxConcurrency: 3, maxQueuedItems, batchLingerMs: 2 });
    let random = 42;
    const next = () => ((random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

    const lastContent = new Map<string, string>();
    const pushed: OutboundItem[] = [];
    let worstBacklog = 0;
    const push = async (i: OutboundItem) => {
      pushed.push(i);
      await h.sink.push(i);
      worstBacklog = Math.max(worstBacklog, pushed.length - h.outcomes.length);
    };
    for (let i = 0; i < 60; i++) {
      await push(opp(`o${i}`, { amount: i }));
      // Now and then a newer version of a recent opportunity: engagements wait for that write too.
      if (i % 7 === 3) await push(opp(`o${i - 1}`, { amount: 1000 + i }));
      for (let k = 0; k < 3; k++) {
        // Engagements reference the opportunity just pushed or one of the few before it; some are
        // newer versions of earlier engagements, linking to another opportunity than before.
        const id = next() < 0.2 && i > 0 ? `e${Math.floor(next() * i * 3)}` : `e${i * 3 + k}`;
        const target = `o${Math.max(0, i - Math.floor(next() * 3))}`;
        const content = `${id} → ${target} @${i}.${k}`;
        lastContent.set(id, content);
        await push(linked(id, target, { content }));
      }
    }
    await h.sink.drain();
    await h.sink.close(1000);

    // Every pushed item has exactly one outcome, and push() kept the backlog (parked engagements included) bounded.
    expect(h.outcomes).toHaveLength(pushed.length);
    expect([...h.outcomeCounts().values()].every((n) => n === 1)).toBe(true);
    expect(h.outcomes.every((o) => o.kind === 'acked')).toBe(true);
    expect(worstBacklog).toBeLessThanOrEqual(maxQueuedItems);
    expect(sb.stats().byStatus['500']).toBeGreaterThan(0);

    const opportunities = sb.opportunities();
    expect(opportunities).toHaveLength(60);
    const engagements = sb.engagements();
    expect(new Map(engagements.map((r) => [r.externalId, r.body.content]))).toEqual(lastContent);
    // An engagement's last write (updatedAt) carries the opportunity it links to; that opportunity was
    // pushed before it, so its first write (createdAt) came no later.
    const early: string[] = [];
    for (const e of engagements) {
      const x = record(opportunities, (e.body.opportunity as { externalId: string }).externalId);
      if (Date.parse(e.updatedAt) < Date.parse(x.createdAt)) early.push(`${e.externalId} before ${x.externalId}`);
    }
    expect(early).toEqual([]);
  });
});
