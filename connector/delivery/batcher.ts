import type { SiroObject } from '../siro/spec.js';
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
 */

export interface Entry {
  item: OutboundItem;
  /** Older items of the same externalId this entry replaced; they share its outcome. */
  superseded: OutboundItem[] | undefined;
  /** Set when its request starts; from then on newer items of its externalId are held back. */
  sent: boolean;
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
}

export class Batcher {
  readonly object: SiroObject;
  private size: number;
  private lingerMs: number;
  private readonly onReady: (batch: Batch) => void;
  private readonly onLinger: (batcher: Batcher) => void;
  private open: Entry[] = [];
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly slots = new Map<string, Slot>();
  private stopped = false;

  constructor(opts: BatcherOptions) {
    this.object = opts.object;
    this.size = Math.max(1, opts.batchSize);
    this.lingerMs = opts.lingerMs;
    this.onReady = opts.onReady;
    this.onLinger = opts.onLinger ?? ((b) => b.flush());
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
    this.open.push(entry);
    if (this.open.length >= this.size) {
      this.clearLinger();
      this.handOver(this.open.splice(0, this.size));
    } else {
      this.armLinger();
    }
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
