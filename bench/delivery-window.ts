import type { Sandbox } from '../connector/sandbox/index.js';

/**
 * The delivery window as the server sees it: from the first API request the sandbox receives to the
 * moment it has written the expected number of items. Excludes the target's process start and module
 * loading, which are constant per run and say nothing about delivery throughput. Sampled every few ms;
 * the error is a few ms on runs of many seconds.
 */
export class DeliveryWindow {
  private firstRequestAt: number | undefined;
  private completedAt: number | undefined;
  private readonly timer: NodeJS.Timeout;
  private writtenBefore = 0;

  constructor(
    private readonly sandbox: Sandbox,
    private readonly expectedItems: number,
    /** Called at each sample with the items written so far (e.g. to empty the store of a huge run). */
    private readonly onSample?: (written: number) => void,
    sampleMs = 5,
  ) {
    this.timer = setInterval(() => this.sample(), sampleMs);
  }

  /** Items written since the start, including those of stores emptied by `forget`. */
  get written(): number {
    return this.writtenBefore + this.sandbox.stats().itemsWritten;
  }

  /** Empties the sandbox (stores, stats) to keep memory flat, carrying the written count over. */
  forget(): void {
    this.writtenBefore += this.sandbox.stats().itemsWritten;
    this.sandbox.reset();
  }

  private sample(): void {
    const now = performance.now();
    if (this.firstRequestAt === undefined && this.sandbox.stats().requests > 0) this.firstRequestAt = now;
    const written = this.written;
    if (this.completedAt === undefined && written >= this.expectedItems) this.completedAt = now;
    this.onSample?.(written);
  }

  /** Stops sampling; the window in ms (undefined when the items never all arrived). */
  stop(): number | undefined {
    this.sample();
    clearInterval(this.timer);
    if (this.firstRequestAt === undefined || this.completedAt === undefined) return undefined;
    return Math.max(1, this.completedAt - this.firstRequestAt);
  }
}
