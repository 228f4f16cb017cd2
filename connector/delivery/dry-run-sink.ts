import { closeSync, openSync, writeSync } from 'node:fs';
import { itemJson } from './payload-json.js';
import { emptyStats, type OutboundItem, type OutcomeHandler, type Sink } from './sink.js';

/**
 * The dry run: each payload becomes one JSON line on stderr or in a file, and counts as acknowledged once
 * written. Lines are buffered for speed; `flushPending` (called before a state is considered) writes them.
 */
export class DryRunSink implements Sink {
  private readonly fd: number;
  private readonly ownsFd: boolean;
  private lines: string[] = [];
  private waiting: OutboundItem[] = [];
  private readonly counters = emptyStats();

  constructor(
    private readonly onOutcome: OutcomeHandler,
    outputFile?: string,
  ) {
    this.ownsFd = outputFile !== undefined;
    this.fd = outputFile !== undefined ? openSync(outputFile, 'w') : 2;
  }

  push(item: OutboundItem): void {
    this.lines.push(itemJson(item));
    this.waiting.push(item);
    if (this.waiting.length >= 512) this.flushPending();
  }

  /** Writes the buffered lines, then reports their items as acknowledged (written first, then counted). */
  flushPending(): void {
    if (this.lines.length === 0) return;
    writeSync(this.fd, this.lines.join('\n') + '\n');
    this.lines = [];
    const done = this.waiting;
    this.waiting = [];
    this.counters.acked += done.length;
    for (const item of done) this.onOutcome({ kind: 'acked', item });
  }

  async drain(): Promise<void> {
    this.flushPending();
  }

  async close(): Promise<void> {
    this.flushPending();
    if (this.ownsFd) closeSync(this.fd);
  }

  stats() {
    return this.counters;
  }
}
