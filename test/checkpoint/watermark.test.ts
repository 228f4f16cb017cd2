import { describe, expect, it } from 'vitest';
import { Watermark } from '../../connector/checkpoint/watermark.js';

describe('watermark', () => {
  it('releases a state only when every record before it is finished, newest first, in order', () => {
    const w = new Watermark();
    const a = w.nextSeq();
    const b = w.nextSeq();
    w.holdState('s1');
    const c = w.nextSeq();
    w.holdState('s2');
    expect(w.takeSafeState()).toBeUndefined();
    w.finish(b);
    expect(w.takeSafeState()).toBeUndefined(); // a still open
    w.finish(a);
    expect(w.takeSafeState()).toEqual({ value: 's1' });
    expect(w.takeSafeState()).toBeUndefined();
    w.finish(c);
    expect(w.takeSafeState()).toEqual({ value: 's2' });
    expect(w.unfinished).toBe(0);
  });

  it('coalesces several safe states into the newest', () => {
    const w = new Watermark();
    const a = w.nextSeq();
    w.holdState(1);
    w.holdState(2);
    w.finish(a);
    expect(w.takeSafeState()).toEqual({ value: 2 });
  });

  it('a state before any record is safe at once', () => {
    const w = new Watermark();
    w.holdState({ bookmarks: {} });
    expect(w.takeSafeState()).toEqual({ value: { bookmarks: {} } });
  });

  it('counts unfinished records with out-of-order finishes', () => {
    const w = new Watermark();
    const seqs = Array.from({ length: 10 }, () => w.nextSeq());
    for (const s of seqs.filter((x) => x % 2 === 0)) w.finish(s);
    expect(w.unfinished).toBe(5);
    for (const s of seqs.filter((x) => x % 2 === 1)) w.finish(s);
    expect(w.unfinished).toBe(0);
  });
});
