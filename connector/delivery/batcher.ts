import type { SiroObject } from '../siro/objects.js';
import type { OutboundItem } from './sink.js';

/**
 * Groups the items of one Siro object type into batches and keeps each externalId's writes in order:
 *
 * - A batch never holds one externalId twice, and no two writes of one externalId are in flight at once.
 * - A newer item whose externalId waits in a batch not yet sent takes the older one's place (the later
 *   record wins; Siro would have overwritten it anyway). The older item is remembered as superseded and
 *   gets the same outcome as its replacement.
 * - A newer item whose externalId is in flight is held back until that write has its outcome, then joins
 *   the open batch. Newer items replace a held one the same way.
 *
 * A batch is handed over (`onReady`) when it is full, when its linger time is over, or on `flush()`.
 * Entries stay replaceable until the sender marks them sent, at the moment the request starts.
 *
 * Items may also have to wait for something outside the batcher (`mustWaitFor`: an engagement for the
 * opportunity it references, see dependencies.ts). Such an entry is parked under the key it waits for instead
 * of joining the open batch; it keeps its externalId's slot and stays replaceable (it is not sent), so the
 * per-externalId rules above hold for it unchanged. `release(key)` puts the entries parked under the key
 * back in line, each checked again (it may have been replaced by an item that waits for something else).
 * Parked entries count towards no batch and are bounded by the sink's pending items.
 */

export interface Entry {
  item: OutboundItem;
  /** Older items of the same externalId this entry replaced; they share its outcome. */
  superseded: OutboundItem[] | undefined;
  /** Set when its request starts; from then on newer items of its externalId are held back. */
  sent: boolean;
  /** The key the entry is parked under (see `mustWaitFor`), while it is. */
  waitingFor?: string;
}

export interface Batch {
  object: SiroObject;
  entries: Entry[];
}

/** What `add` did with an item. */
export type AddResult = 'queued' | 'replaced' | 'held';

interface Slot {
  /** The externalId's entry that is queued (in an unsent batch) or in flight. */
  current: Entry;
  /** The newest item waiting for `current` (in flight) to finish. */
  held?: Entry;
}

export interface BatcherOptions {
  object: SiroObject;
  batchSize: number;
  /** How long a partial batch waits for more items (ms); 0 hands it over on the next timer tick. */
  lingerMs: number;
  onReady: (batch: Batch) => void;
  /**
   * Called when a partial batch has lingered long enough; the default hands it over at once. The sink uses
   * it to hand partial batches over only when a request slot is free, so they keep filling meanwhile.
   */
  onLinger?: (batcher: Batcher) => void;
  /**
   * What an item must wait for before it may be sent: a key that `release(key)` frees later, or undefined
   * when it may go now. Asked when an entry would join the open batch and again by `deferBlocked`.
   */
  mustWaitFor?: (item: OutboundItem) => string | undefined;
  /** An externalId has nothing queued, held or in flight any more (its last write has its outcome). */
  onFreed?: (externalId: string) => void;
}

export class Batcher {
  readonly object: SiroObject;
  private size: number;
  private lingerMs: number;
  private readonly onReady: (batch: Batch) => void;
  private readonly onLinger: (batcher: Batcher) => void;
  private readonly mustWaitFor: ((item: OutboundItem) => string | undefined) | undefined;
  private readonly onFreed: ((externalId: string) => void) | undefined;
  private open: Entry[] = [];
  /** Parked entries by the key they wait for. */
  private readonly parked = new Map<string, Set<Entry>>();
  private parkedEntries = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly slots = new Map<string, Slot>();
  private stopped = false;

  constructor(opts: BatcherOptions) {
    this.object = opts.object;
    this.size = Math.max(1, opts.batchSize);
    this.lingerMs = opts.lingerMs;
    this.onReady = opts.onReady;
    this.onLinger = opts.onLinger ?? ((b) => b.flush());
    this.mustWaitFor = opts.mustWaitFor;
    this.onFreed = opts.onFreed;
  }

  get batchSize(): number {
    return this.size;
  }

  /** Items in the open batch (not yet handed over). */
  get openCount(): number {
    return this.open.length;
  }

  /** externalIds with an entry queued or in flight. */
  get trackedIds(): number {
    return this.slots.size;
  }

  /** Entries parked until something they wait for is released. */
  get parkedCount(): number {
    return this.parkedEntries;
  }

  /** Whether the externalId has a write queued, parked, held or in flight (one without an outcome yet). */
  tracks(externalId: string): boolean {
    return this.slots.has(externalId);
  }

  add(item: OutboundItem): AddResult {
    const slot = this.slots.get(item.externalId);
    if (!slot) {
      const entry: Entry = { item, superseded: undefined, sent: false };
      this.slots.set(item.externalId, { current: entry });
      this.enqueue(entry);
      return 'queued';
    }
    if (!slot.current.sent) {
      replace(slot.current, item);
      // A parked entry now stands for a newer item, which may wait for something else or for nothing.
      if (slot.current.waitingFor !== undefined) this.recheck(slot.current);
      return 'replaced';
    }
    if (slot.held) replace(slot.held, item);
    else slot.held = { item, superseded: undefined, sent: false };
    return 'held';
  }

  /**
   * The entry's outcome is final (acked or rejected): its externalId is free again, and an item held back
   * for it joins the open batch.
   */
  finish(entry: Entry): void {
    const id = entry.item.externalId;
    const slot = this.slots.get(id);
    if (!slot || slot.current !== entry) return;
    if (slot.held) {
      slot.current = slot.held;
      slot.held = undefined;
      this.enqueue(slot.current);
    } else {
      this.slots.delete(id);
      this.onFreed?.(id);
    }
  }

  /**
   * The entries of a handed-over batch that may be sent now; the others (not sent yet, and waiting for
   * something according to `mustWaitFor`) are parked until it is released. Entries already sent once (a
   * batch re-sent after a split) are never held back: that write has started.
   */
  deferBlocked(entries: Entry[]): Entry[] {
    if (!this.mustWaitFor) return entries;
    let ready: Entry[] | undefined;
    entries.forEach((entry, i) => {
      const key = entry.sent ? undefined : this.mustWaitFor!(entry.item);
      if (key === undefined) {
        ready?.push(entry);
        return;
      }
      ready ??= entries.slice(0, i);
      this.park(entry, key);
    });
    return ready ?? entries;
  }

  /** What waited for `key` may go: its entries join the open batch (unless they now wait for something else). */
  release(key: string): void {
    const entries = this.parked.get(key);
    if (!entries) return;
    this.parked.delete(key);
    this.parkedEntries -= entries.size;
    for (const entry of entries) {
      entry.waitingFor = undefined;
      this.enqueue(entry);
    }
  }

  /** Hands over the open batch now, whatever its size. */
  flush(): void {
    this.clearLinger();
    while (this.open.length > 0) this.handOver(this.open.splice(0, this.size));
  }

  /** While draining, partial batches go on the next tick instead of lingering. */
  setLinger(ms: number): void {
    this.lingerMs = ms;
    if (this.open.length > 0) {
      this.clearLinger();
      this.armLinger();
    }
  }

  /** Siro found a batch too large (413): later batches are at most `size` items. */
  lowerBatchSize(size: number): void {
    if (size >= this.size) return;
    this.size = Math.max(1, size);
    while (this.open.length >= this.size) this.handOver(this.open.splice(0, this.size));
  }

  /** No more hand-overs (shutdown or fatal error). */
  stop(): void {
    this.stopped = true;
    this.clearLinger();
  }

  private enqueue(entry: Entry): void {
    const key = this.mustWaitFor?.(entry.item);
    if (key !== undefined) return this.park(entry, key);
    this.open.push(entry);
    if (this.open.length >= this.size) {
      this.clearLinger();
      this.handOver(this.open.splice(0, this.size));
    } else {
      this.armLinger();
    }
  }

  private park(entry: Entry, key: string): void {
    entry.waitingFor = key;
    let entries = this.parked.get(key);
    if (!entries) this.parked.set(key, (entries = new Set()));
    entries.add(entry);
    this.parkedEntries++;
  }

  private unpark(entry: Entry): void {
    const key = entry.waitingFor;
    if (key === undefined) return;
    entry.waitingFor = undefined;
    const entries = this.parked.get(key);
    if (entries?.delete(entry)) {
      this.parkedEntries--;
      if (entries.size === 0) this.parked.delete(key);
    }
  }

  /** A parked entry's item was replaced: park it under what the new item waits for, or let it join the batch. */
  private recheck(entry: Entry): void {
    if (this.mustWaitFor?.(entry.item) === entry.waitingFor) return;
    this.unpark(entry);
    this.enqueue(entry);
  }

  private armLinger(): void {
    if (this.lingerTimer || this.stopped) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (!this.stopped && this.open.length > 0) this.onLinger(this);
    }, this.lingerMs);
  }

  private clearLinger(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
  }

  private handOver(entries: Entry[]): void {
    if (this.stopped || entries.length === 0) return;
    this.onReady({ object: this.object, entries });
  }
}

function replace(entry: Entry, item: OutboundItem): void {
  (entry.superseded ??= []).push(entry.item);
  entry.item = item;
}

/** Every item an entry stands for: its own and those it superseded. */
export function itemsOf(entry: Entry): OutboundItem[] {
  return entry.superseded ? [...entry.superseded, entry.item] : [entry.item];
}
