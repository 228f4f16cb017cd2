import { redact } from './secrets.js';

/**
 * While the target runs, stdout is the orchestrator's channel for state lines, which StateOutput writes to
 * fd 1 directly. Anything else that writes to process.stdout (a library's console.log, a driver's error
 * dump) is turned to stderr, redacted, so it can never corrupt the state stream.
 */
export function guardStdout(): void {
  const toStderr = (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
    const done = typeof encoding === 'function' ? encoding : callback;
    return process.stderr.write(redact(text), done as ((error?: Error | null) => void) | undefined);
  };
  process.stdout.write = toStderr as typeof process.stdout.write;
}
