/**
 * Which STATE messages are safe to print. Every RECORD gets a sequence number as it is read; each STATE is
 * held with the number of the last record before it. A state is safe once every record up to that number is
 * finished (acknowledged by Siro, or written to the rejects file). The newest safe state is released;
 * older safe ones are coalesced into it, so order is kept and nothing runs ahead.
 */
export class Watermark {
  /** Every record with seq <= finishedThrough is finished. */
  private finishedThrough = 0;
  private lastSeq = 0;
  private readonly finishedAhead = new Set<number>();
  private readonly held: { afterSeq: number; value: unknown }[] = [];

  /** A new record was read; returns its sequence number. */
  nextSeq(): number {
    return ++this.lastSeq;
  }

  /** Records read but not yet finished. */
  get unfinished(): number {
    return this.lastSeq - this.finishedThrough - this.finishedAhead.size;
  }

  finish(seq: number): void {
    if (seq <= this.finishedThrough) return;
    if (seq === this.finishedThrough + 1) {
      this.finishedThrough = seq;
      while (this.finishedAhead.delete(this.finishedThrough + 1)) this.finishedThrough++;
    } else {
      this.finishedAhead.add(seq);
    }
  }

  /** A STATE arrived after every record read so far. */
  holdState(value: unknown): void {
    this.held.push({ afterSeq: this.lastSeq, value });
  }

  /** The newest held state that is now safe, removing it and every older one; undefined when none is. */
  takeSafeState(): { value: unknown } | undefined {
    let newest: { value: unknown } | undefined;
    while (this.held.length > 0 && this.held[0]!.afterSeq <= this.finishedThrough) {
      newest = { value: this.held.shift()!.value };
    }
    return newest;
  }
}
