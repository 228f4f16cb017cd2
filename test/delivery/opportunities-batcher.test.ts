import { describe, expect, it } from 'vitest';
import { Batcher, itemsOf, type Batch } from '../../connector/delivery/batcher.js';
import type { OutboundItem } from '../../connector/delivery/sink.js';
import { dependentBatchers } from '../../connector/delivery/dependencies.js';
import { SIRO_OBJECTS, referencedOpportunity } from '../../connector/siro/objects.js';
import { outboundItem } from '../support/siro-payloads.js';

/**
 * The batcher's parking (what the sink uses to hold an engagement back until the opportunity it references
 * has its outcome), driven by hand: `blocked` plays the opportunity batcher's "X still has a write pending".
 */

function engagementItem(externalId: string, opportunity?: string, version = 0): OutboundItem {
  const payload: Record<string, unknown> = { externalId, version };
  if (opportunity !== undefined) payload.opportunity = { externalId: opportunity };
  return outboundItem(payload, { stream: 'calls' });
}

function parkingBatcher(batchSize: number) {
  const blocked = new Set<string>();
  const batches: Batch[] = [];
  const batcher = new Batcher({
    object: 'engagement',
    batchSize,
    lingerMs: 60_000,
    onReady: (b) => batches.push(b),
    mustWaitFor: (item) => {
      const x = referencedOpportunity(item.payload);
      return x !== undefined && blocked.has(x) ? x : undefined;
    },
  });
  /** Opportunity x has its outcome. */
  const settle = (x: string) => {
    blocked.delete(x);
    batcher.release(x);
  };
  return { batcher, batches, blocked, settle };
}

const ids = (b: Batch) => b.entries.map((e) => e.item.externalId);
const versions = (b: Batch) => b.entries.map((e) => e.item.payload.version);

describe('Batcher parking (engagements waiting for their opportunity)', () => {
  it('parks an item whose opportunity is pending and lets it join the open batch once released', () => {
    const { batcher, batches, blocked, settle } = parkingBatcher(10);
    blocked.add('X');
    batcher.add(engagementItem('a', 'X'));
    batcher.add(engagementItem('b'));
    batcher.add(engagementItem('c', 'Y')); // Y is not pending: no wait
    expect(batcher.parkedCount).toBe(1);
    expect(batcher.openCount).toBe(2);
    expect(batcher.tracks('a')).toBe(true); // still owns its externalId's slot
    batcher.flush();
    expect(batches.map(ids)).toEqual([['b', 'c']]);

    settle('X');
    expect(batcher.parkedCount).toBe(0);
    batcher.flush();
    expect(batches.map(ids)).toEqual([['b', 'c'], ['a']]);
    batcher.stop();
  });

  it('a parked item stays replaceable: the newest item wins, and waits for what it references', () => {
    const { batcher, batches, blocked, settle } = parkingBatcher(10);
    blocked.add('X');
    blocked.add('Y');
    const first = engagementItem('a', 'X', 1);
    batcher.add(first);
    // Replaced by an item referencing another pending opportunity: it now waits for Y, not X.
    const second = engagementItem('a', 'Y', 2);
    expect(batcher.add(second)).toBe('replaced');
    settle('X');
    batcher.flush();
    expect(batches).toEqual([]);
    // Replaced by an item referencing nothing pending: it goes at once, standing for all three.
    const third = engagementItem('a', undefined, 3);
    expect(batcher.add(third)).toBe('replaced');
    expect(batcher.parkedCount).toBe(0);
    batcher.flush();
    expect(batches.map(versions)).toEqual([[3]]);
    expect(itemsOf(batches[0]!.entries[0]!)).toEqual([first, second, third]);
    // Releasing Y later finds nothing parked under it any more.
    settle('Y');
    batcher.flush();
    expect(batches).toHaveLength(1);
    batcher.stop();
  });

  it('deferBlocked() takes out of a handed-over batch what must wait now, in order, never an entry already sent', () => {
    const { batcher, batches, blocked, settle } = parkingBatcher(4);
    for (const [id, x] of [['a', 'X'], ['b', undefined], ['c', 'X'], ['d', 'Y']] as const) batcher.add(engagementItem(id, x));
    expect(batches.map(ids)).toEqual([['a', 'b', 'c', 'd']]);
    // Opportunity X is pushed after the batch was made, before its request starts.
    blocked.add('X');
    const ready = batcher.deferBlocked(batches[0]!.entries);
    expect(ready.map((e) => e.item.externalId)).toEqual(['b', 'd']);
    expect(batcher.parkedCount).toBe(2);
    // A batch re-sent after a split holds entries that went out already: they are never parked.
    for (const e of ready) e.sent = true;
    blocked.add('Y');
    expect(batcher.deferBlocked(ready)).toEqual(ready);

    settle('X');
    batcher.flush();
    expect(batches.map(ids)).toEqual([['a', 'b', 'c', 'd'], ['a', 'c']]);
    batcher.stop();
  });

  it('a newer item of a parked externalId replaces it rather than overtaking it', () => {
    const { batcher, batches, blocked, settle } = parkingBatcher(10);
    blocked.add('X');
    batcher.add(engagementItem('a', 'X', 1));
    // The same engagement again, now referencing X too: still one entry, still waiting.
    expect(batcher.add(engagementItem('a', 'X', 2))).toBe('replaced');
    batcher.flush();
    expect(batches).toEqual([]);
    settle('X');
    batcher.flush();
    expect(batches.map(versions)).toEqual([[2]]);
    batcher.stop();
  });

  it('finish() reports an externalId whose last write has its outcome (onFreed), not one with a newer item held', () => {
    const freed: string[] = [];
    const batches: Batch[] = [];
    const batcher = new Batcher({ object: 'opportunity', batchSize: 10, lingerMs: 60_000, onReady: (b) => batches.push(b), onFreed: (id) => freed.push(id) });
    const item = (id: string, v: number) => outboundItem({ externalId: id, v }, { seq: 0, line: 0, stream: 'o', key: '', object: 'opportunity' });
    batcher.add(item('X', 1));
    batcher.add(item('Z', 1));
    batcher.flush();
    for (const e of batches[0]!.entries) e.sent = true;
    expect(batcher.add(item('X', 2))).toBe('held');
    batcher.finish(batches[0]!.entries[0]!); // X v1 done, v2 now queued
    batcher.finish(batches[0]!.entries[1]!); // Z done
    expect(freed).toEqual(['Z']);
    expect(batcher.tracks('X')).toBe(true);
    batcher.flush();
    batcher.finish(batches[1]!.entries[0]!);
    expect(freed).toEqual(['Z', 'X']);
    expect(batcher.tracks('X')).toBe(false);
    batcher.stop();
  });
});

describe("the engagement's dependency on its opportunity", () => {
  it('is declared in the object registry and wired between the batchers', () => {
    expect(SIRO_OBJECTS.engagement.dependsOn).toEqual({ object: 'opportunity', reference: referencedOpportunity });
    expect(SIRO_OBJECTS.opportunity.dependsOn).toBeUndefined();
    const ready: Batch[] = [];
    const batchers = dependentBatchers((object, wiring) => new Batcher({ object, batchSize: 10, lingerMs: 60_000, onReady: (b) => ready.push(b), ...wiring }));
    batchers.opportunity.add({ ...engagementItem('X'), object: 'opportunity' });
    batchers.engagement.add(engagementItem('E', 'X'));
    expect(batchers.engagement.parkedCount).toBe(1);
    batchers.opportunity.flush();
    batchers.opportunity.finish(ready[0]!.entries[0]!);
    expect(batchers.engagement.parkedCount).toBe(0);
    expect(batchers.engagement.openCount).toBe(1);
    for (const b of Object.values(batchers)) b.stop();
  });

  it('reads opportunity.externalId and nothing else', () => {
    expect(referencedOpportunity({ externalId: 'e', opportunity: { externalId: 'D-9', amount: 3 } })).toBe('D-9');
    expect(referencedOpportunity({ externalId: 'e' })).toBeUndefined();
    expect(referencedOpportunity({ externalId: 'e', opportunity: null })).toBeUndefined();
    expect(referencedOpportunity({ externalId: 'e', opportunity: { name: 'no id' } })).toBeUndefined();
    expect(referencedOpportunity({ externalId: 'e', opportunity: [{ externalId: 'x' }] })).toBeUndefined();
    expect(referencedOpportunity({ externalId: 'e', opportunity: { externalId: '' } })).toBeUndefined();
  });
});
