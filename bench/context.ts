import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SANDBOX_TOKEN, startSandbox, type Sandbox, type SandboxFaults } from '../connector/sandbox/index.js';

/**
 * The API token of bench and soak runs: random per process, so finding it in any file a run wrote proves a
 * leak (the sandbox's demo token would be no secret at all).
 */
export const BENCH_TOKEN = { ...DEFAULT_SANDBOX_TOKEN, token: `bench-secret-${randomBytes(12).toString('hex')}` };

/** Files under `dir` (recursively) whose bytes contain `secret`. */
export function filesContaining(dir: string, secret: string): string[] {
  const found: string[] = [];
  const needle = Buffer.from(secret);
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (readFileSync(path).includes(needle)) found.push(path);
    }
  };
  walk(dir);
  return found;
}

/** What every figure gets from the bench run. */
export interface BenchContext {
  quick: boolean;
  /** Scratch folder of this run (input files, configs, rejects). */
  dir: string;
  progress(message: string): void;
}

export function progressLogger(prefix: string): (message: string) => void {
  const started = performance.now();
  return (message) => process.stderr.write(`${prefix} [${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
}

export async function sandboxWith(faults: SandboxFaults): Promise<Sandbox> {
  return startSandbox({ tokens: [BENCH_TOKEN], faults });
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  pct: (share: number) => `${(share * 100).toFixed(1)}%`,
  mb: (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`,
  s: (ms: number) => `${(ms / 1000).toFixed(1)} s`,
};

/** The last state position the target printed (its stdout lines are state values). */
export function statePositionTracker(): { onLine: (line: string) => void; readonly last: number; readonly count: number } {
  let last = 0;
  let count = 0;
  return {
    onLine(line: string) {
      count++;
      const v = JSON.parse(line) as { bookmarks?: Record<string, { replication_key_value?: number }> };
      const n = Object.values(v.bookmarks ?? {})[0]?.replication_key_value;
      if (typeof n === 'number') last = n;
    },
    get last() {
      return last;
    },
    get count() {
      return count;
    },
  };
}
