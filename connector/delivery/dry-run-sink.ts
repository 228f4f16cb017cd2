import { closeSync, openSync } from 'node:fs';
import { writeAllSync } from '../core/write-all.js';
import { OutputError } from '../core/errors.js';
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

  private readonly target: string;

  constructor(
    private readonly onOutcome: OutcomeHandler,
    outputFile?: string,
  ) {
    this.ownsFd = outputFile !== undefined;
    this.target = outputFile !== undefined ? `--dry-run-output ${outputFile}` : 'stderr (dry-run payloads)';
    try {
      this.fd = outputFile !== undefined ? openSync(outputFile, 'w') : 2;
    } catch (e) {
      throw new OutputError(this.target, e);
    }
  }

  push(item: OutboundItem): void {
    this.lines.push(itemJson(item));
    this.waiting.push(item);
    if (this.waiting.length >= 512) this.flushPending();
  }

  /** Writes the buffered lines, then reports their items as acknowledged (written first, then counted). */
  flushPending(): void {
    if (this.lines.length === 0) return;
    // Written whole before the items count as done: a full disk stops the run instead of losing payloads.
    const bytes = Buffer.from(this.lines.join('\n') + '\n');
    try {
      writeAllSync(this.fd, bytes);
    } catch (e) {
      throw new OutputError(this.target, e);
    }
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
