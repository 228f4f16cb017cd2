import { writeSync } from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes every byte to `fd` before returning. A short write goes on with the rest; a non-blocking pipe or
 * terminal that is full (EAGAIN) is waited on briefly and written again, for up to `maxWaitMs`. Any other
 * error is thrown as it is, for the caller to name the file.
 */
export function writeAllSync(fd: number, bytes: Uint8Array, maxWaitMs = 60_000): void {
  let done = 0;
  let waited = 0;
  let wait = 1;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done);
      wait = 1;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || waited >= maxWaitMs) throw e;
      Atomics.wait(pause, 0, 0, wait);
      waited += wait;
      wait = Math.min(wait * 2, 50);
    }
  }
}
