import type { Command } from 'commander';
import { ConfigError, TargetError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { redact } from '../core/secrets.js';

/**
 * What every command shares: the one place where an error becomes a line on stderr and an exit code, and
 * the --config a command reads. Expected failures (TargetError) print their one-line message; anything
 * else is a bug and prints its stack (exit 1).
 */

export function exitCodeOf(e: unknown): number {
  return e instanceof TargetError ? e.exitCode : 1;
}

/** Writes the error as one `target-siro: …` line (a stack only for bugs) and returns its exit code. */
export function reportError(e: unknown, log?: Logger): number {
  const err = e instanceof Error ? e : new Error(String(e));
  const text = redact(err instanceof TargetError ? err.message : (err.stack ?? err.message));
  if (log) log.error({ error: err.name }, text);
  process.stderr.write(`target-siro: ${text}\n`);
  return exitCodeOf(err);
}

/**
 * A commander action that sets the exit code: the work's number (0 when it returns nothing), or the code
 * of the error it throws.
 */
export function commandAction<A extends unknown[]>(work: (...args: A) => Promise<number | void> | number | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = (await work(...args)) ?? 0;
    } catch (e) {
      process.exitCode = reportError(e);
    }
  };
}

/**
 * The --config of a command, or of a command above it: `target-siro --config F validate` and Meltano's
 * `meltano invoke target-siro check` (which puts its generated `--config FILE` first) both mean F.
 */
export function configFileOf(command: Command): string | undefined {
  for (let c: Command | null = command; c; c = c.parent) {
    const config = (c.opts() as { config?: unknown }).config;
    if (typeof config === 'string') return config;
  }
  return undefined;
}

/** Commander's parser for `--limit <n>`: a positive whole number, else a configuration error (exit 2). */
export function parseLimit(v: string, option = '--limit'): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${option} needs a positive whole number, got "${v}"`);
  return n;
}

/** The `-c, --config <file>` option every command that reads settings takes. */
export const CONFIG_FLAGS = '-c, --config <file>';
