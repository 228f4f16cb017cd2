import { renameSync, writeFileSync, mkdirSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringifyExact } from '../singer/exact-json.js';

/**
 * Prints state values to stdout as one JSON line each (the Singer contract: the value, not the message),
 * and keeps the newest one in `state_file` when set, replaced atomically (temp file + rename) so a crash
 * never leaves half a state behind.
 */
export class StateOutput {
  private printedCount = 0;
  private last: string | undefined;

  constructor(
    private readonly stateFile: string | undefined,
    private readonly stdoutFd = 1,
  ) {}

  print(value: unknown): void {
    const line = stringifyExact(value);
    // Synchronous: the line must be out before anything else happens (a kill right after loses nothing).
    writeSync(this.stdoutFd, line + '\n');
    this.printedCount++;
    this.last = line;
    if (this.stateFile) writeAtomically(this.stateFile, line + '\n');
  }

  get printed(): number {
    return this.printedCount;
  }

  get lastPrinted(): string | undefined {
    return this.last;
  }
}

export function writeAtomically(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
