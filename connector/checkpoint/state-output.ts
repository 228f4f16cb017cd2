import { mkdirSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { OutputError } from '../core/errors.js';
import { terminalLine } from '../core/terminal-line.js';
import { stringifyExact } from '../singer/exact-json.js';

/**
 * Prints state values to stdout as one JSON line each (the Singer contract: the value, not the message),
 * and keeps the newest one in `state_file` when set, replaced atomically (temp file + rename) so a crash
 * never leaves half a state behind.
 *
 * Every line goes out whole and in order. Stdout may be a non-blocking pipe (inherited from an orchestrator
 * that made it so) whose reader is slow: a write then takes only part of the line, or fails with EAGAIN.
 * The rest waits in a queue and is written as the reader makes room (backpressure); `flush()` resolves once
 * all of it is out. A write that fails for good (the reader closed the pipe, a full disk under state_file)
 * is kept as `failure`: the run stops on it, and nothing is printed after it.
 */
export class StateOutput {
  private printedCount = 0;
  private last: string | undefined;
  /** Bytes not yet written to stdout, oldest first; the first may be the rest of a partly written line. */
  private queue: Buffer[] = [];
  private pumping: Promise<void> | undefined;
  private failed: OutputError | undefined;

  constructor(
    private readonly stateFile: string | undefined,
    private readonly stdoutFd = 1,
  ) {}

  print(value: unknown): void {
    if (this.failed) return;
    const line = stringifyExact(value);
    this.queue.push(Buffer.from(line + '\n'));
    this.printedCount++;
    this.last = line;
    // Synchronous when stdout has room: the line is out before anything else happens.
    this.writeWhatFits();
    if (this.queue.length > 0 && !this.failed) this.pumping ??= this.pump();
    if (this.stateFile && !this.failed) {
      try {
        writeAtomically(this.stateFile, line + '\n');
      } catch (e) {
        this.failed = new OutputError(`state_file ${this.stateFile}`, e);
      }
    }
  }

  /** Resolves once every printed line is written (or writing failed: see `failure`). */
  async flush(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  /** The write that failed for good, if any. */
  get failure(): OutputError | undefined {
    return this.failed;
  }

  get printed(): number {
    return this.printedCount;
  }

  get lastPrinted(): string | undefined {
    return this.last;
  }

  /** Writes queued bytes until stdout is full (EAGAIN) or the queue is empty. */
  private writeWhatFits(): void {
    while (this.queue.length > 0 && !this.failed) {
      const chunk = this.queue[0]!;
      let written: number;
      try {
        // On a terminal that also shows the progress line (stderr), the line is cleared first: never a state after it.
        written = terminalLine.beside(this.stdoutFd, () => writeSync(this.stdoutFd, chunk));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return;
        this.failed = new OutputError('stdout (state lines)', e);
        this.queue = [];
        return;
      }
      if (written < chunk.length) {
        this.queue[0] = chunk.subarray(written);
        continue;
      }
      this.queue.shift();
    }
  }

  private async pump(): Promise<void> {
    let waitMs = 1;
    try {
      while (this.queue.length > 0 && !this.failed) {
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        const before = this.queue.length;
        this.writeWhatFits();
        waitMs = this.queue.length < before ? 1 : Math.min(waitMs * 2, 50);
      }
    } finally {
      this.pumping = undefined;
    }
  }
}

/** Replaces `file` with `text` so that a reader (or a crash) sees the old or the new text, never half of it. */
export function writeAtomically(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
