import { describe, expect, it } from 'vitest';
import { bisect } from '../../connector/delivery/batch-sender.js';
import { Batcher, itemsOf, type Batch, type Entry } from '../../connector/delivery/batcher.js';
import { outboundItem } from '../support/siro-payloads.js';

const item = (externalId: string, version = 0) => outboundItem({ externalId, version }, { stream: 's' });

function collecting(batchSize: number, lingerMs = 60_000) {
  const batches: Batch[] = [];
  const batcher = new Batcher({ object: 'engagement', batchSize, lingerMs, onReady: (b) => batches.push(b) });
  return { batcher, batches };
}

const ids = (b: Batch) => b.entries.map((e) => e.item.externalId);
const versions = (b: Batch) => b.entries.map((e) => e.item.payload.version);

describe('Batcher', () => {
  it('hands over a batch when it is full, and partial ones on flush', () => {
    const { batcher, batches } = collecting(3);
    for (const id of ['a', 'b', 'c', 'd']) batcher.add(item(id));
    expect(batches.map(ids)).toEqual([['a', 'b', 'c']]);
    expect(batcher.openCount).toBe(1);
    batcher.flush();
    expect(batches.map(ids)).toEqual([['a', 'b', 'c'], ['d']]);
    batcher.stop();
  });

  it('a newer item replaces the older one of its externalId in the open batch, in place', () => {
    const { batcher, batches } = collecting(10);
    const old = item('x', 1);
    expect(batcher.add(old)).toBe('queued');
    batcher.add(item('y', 1));
    const newer = item('x', 2);
    expect(batcher.add(newer)).toBe('replaced');
    batcher.flush();
    expect(batches).toHaveLength(1);
    expect(ids(batches[0]!)).toEqual(['x', 'y']);
    expect(versions(batches[0]!)).toEqual([2, 1]);
    // The superseded item shares its replacement's outcome.
    expect(itemsOf(batches[0]!.entries[0]!)).toEqual([old, newer]);
  });

  it('also replaces in a batch handed over but not yet sent', () => {
    const { batcher, batches } = collecting(2);
    batcher.add(item('x', 1));
    batcher.add(item('y', 1));
    expect(batches).toHaveLength(1);
    expect(batcher.add(item('x', 2))).toBe('replaced');
    expect(versions(batches[0]!)).toEqual([2, 1]);
    expect(batcher.openCount).toBe(0);
  });

  it('holds a newer item back while its externalId is in flight, then queues the newest', () => {
    const { batcher, batches } = collecting(10);
    batcher.add(item('x', 1));
    batcher.add(item('y', 1));
    batcher.flush();
    const inFlight = batches[0]!;
    for (const e of inFlight.entries) e.sent = true;

    const v2 = item('x', 2);
    const v3 = item('x', 3);
    expect(batcher.add(v2)).toBe('held');
    expect(batcher.add(v3)).toBe('held');
    batcher.add(item('z', 1));
    batcher.flush();
    // The held item is in no batch while x is in flight.
    expect(batches.map(ids)).toEqual([['x', 'y'], ['z']]);

    batcher.finish(inFlight.entries[0]!);
    batcher.flush();
    expect(batches.map(ids)).toEqual([['x', 'y'], ['z'], ['x']]);
    expect(itemsOf(batches[2]!.entries[0]!)).toEqual([v2, v3]);
    expect(batcher.trackedIds).toBe(3); // x (queued again), y and z (in flight)
  });

  it('frees an externalId when its entry finishes', () => {
    const { batcher, batches } = collecting(1);
    batcher.add(item('x'));
    batches[0]!.entries[0]!.sent = true;
    batcher.finish(batches[0]!.entries[0]!);
    expect(batcher.trackedIds).toBe(0);
    expect(batcher.add(item('x'))).toBe('queued');
  });

  it('hands a partial batch over after its linger time', async () => {
    const batches: Batch[] = [];
    const batcher = new Batcher({ object: 'engagement', batchSize: 100, lingerMs: 20, onReady: (b) => batches.push(b) });
    batcher.add(item('a'));
    batcher.add(item('b'));
    expect(batches).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 60));
    expect(batches.map(ids)).toEqual([['a', 'b']]);
  });

  it('lowerBatchSize() makes later batches smaller', () => {
    const { batcher, batches } = collecting(10);
    for (const id of ['a', 'b', 'c', 'd', 'e']) batcher.add(item(id));
    batcher.lowerBatchSize(2);
    expect(batches.map(ids)).toEqual([['a', 'b'], ['c', 'd']]);
    batcher.add(item('f'));
    expect(batches.map(ids)).toEqual([['a', 'b'], ['c', 'd'], ['e', 'f']]);
    batcher.lowerBatchSize(5); // never raises it again
    expect(batcher.batchSize).toBe(2);
  });

  it('random workload: no batch repeats an externalId, never two writes of one in flight, the last item wins', () => {
    let state = 42;
    const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const { batcher, batches } = collecting(5);
    const unsent: Batch[] = [];
    const inFlight: Entry[] = [];
    const lastPushed = new Map<string, number>();
    const lastSent = new Map<string, number>();
    let taken = 0;
    const takeNew = () => {
      while (taken < batches.length) unsent.push(batches[taken++]!);
    };
    for (let step = 0; step < 5000; step++) {
      const r = random();
      if (r < 0.6) {
        const id = `e${Math.floor(random() * 12)}`;
        const v = step;
        lastPushed.set(id, v);
        batcher.add(item(id, v));
      } else if (r < 0.75) {
        batcher.flush();
      } else if (r < 0.88) {
        takeNew();
        const b = unsent.shift();
        if (!b) continue;
        expect(new Set(ids(b)).size).toBe(b.entries.length);
        for (const e of b.entries) {
          expect(inFlight.some((f) => f.item.externalId === e.item.externalId)).toBe(false);
          e.sent = true;
          inFlight.push(e);
        }
      } else if (inFlight.length > 0) {
        const e = inFlight.splice(Math.floor(random() * inFlight.length), 1)[0]!;
        lastSent.set(e.item.externalId, e.item.payload.version as number);
        batcher.finish(e);
      }
    }
    // Send and finish everything that is left.
    for (let guard = 0; guard < 1000 && (inFlight.length > 0 || batcher.trackedIds > 0); guard++) {
      batcher.flush();
      takeNew();
      for (const b of unsent.splice(0)) for (const e of b.entries) (e.sent = true), inFlight.push(e);
      for (const e of inFlight.splice(0)) {
        lastSent.set(e.item.externalId, e.item.payload.version as number);
        batcher.finish(e);
      }
    }
    expect(batcher.trackedIds).toBe(0);
    expect(lastSent).toEqual(lastPushed);
  });
});

describe('bisect', () => {
  it('splits into two halves that keep every item once, in order', () => {
    expect(bisect([1, 2, 3, 4, 5])).toEqual([[1, 2, 3], [4, 5]]);
    expect(bisect([1, 2])).toEqual([[1], [2]]);
    expect(bisect([1])).toEqual([[1], []]);
  });
});
