import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Smoke test of the soak: `soak --quick` (2,000 records, 2 kill -9, the full fault mix) must pass, which
 * means no state was printed ahead of the sandbox and nothing was lost, in all three legs: RECORD lines on
 * stdin, the same records as Meltano SDK BATCH files (with the target's peak RSS), SIGTERM during a
 * 30 s Retry-After pause (exit 130 within 5 s, then a rerun delivers the rest), and the real
 * tap-warehouse | target-siro against a Postgres table being updated, connections and processes killed
 * (the sandbox must then hold exactly the table).
 */

const root = resolve(import.meta.dirname, '..', '..');

/**
 * Runs the soak without blocking the test worker (a quick soak with its three legs can take a minute on a
 * busy 2-core machine; spawnSync would stall vitest's worker RPC that long).
 */
function runSoak(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(root, 'dist', 'bench', 'soak.js'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', fail);
    child.on('close', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    });
  });
}

describe('npm run soak -- --quick', () => {
  it('survives faults, kill -9 and SIGTERM, with RECORD and BATCH input, without losing a record or printing a state too early', async () => {
    const run = await runSoak(['--quick']);
    const verdict = run.stdout.trim().split('\n').at(-1) ?? '';
    // On failure, show the harness's own account (what was lost, which state was early).
    if (run.status !== 0) console.error(run.stderr.split('\n').filter((l) => /^soak( batch| sigterm| tap)?: /.test(l)).join('\n'));
    expect(verdict).toMatch(
      new RegExp(
        [
          '^soak: PASS 2000 records, \\d+ delivered, \\d+ rejected, 2 kills, 0 states ahead, 0 lost',
          '; batch PASS 2000 records in \\d+ files, \\d+ delivered, \\d+ rejected, 2 kills, 0 states ahead, 0 lost, peak RSS [\\d.]+ MB',
          '; sigterm PASS exit 130 [\\d.]+ s after SIGTERM in a 30 s Retry-After pause, \\d+ records, \\d+ delivered, \\d+ rejected, 0 states ahead, 0 lost',
          '; tap-warehouse PASS [\\d,]+ rows \\(\\d+ updates, \\d+ inserts, \\d+ set to a NULL key while running\\), \\d+ connections terminated \\(\\d+ mid-read: tap exit 6\\), \\d+ tap and \\d+ target kill -9, 0 hangs, 0 missing, 0 stale, 0 unexpected$',
        ].join(''),
      ),
    );
    const legs = [...verdict.matchAll(/(\d+) records(?: in \d+ files)?, (\d+) delivered, (\d+) rejected/g)].map((m) => m.slice(1).map(Number));
    expect(legs).toHaveLength(3);
    for (const [records, delivered, rejected] of legs) {
      expect(delivered! + rejected!).toBe(records);
      expect(rejected).toBeGreaterThan(0);
    }
    // The target exits within the 5 s the soak allows after SIGTERM.
    expect(Number(/exit 130 ([\d.]+) s after SIGTERM/.exec(verdict)![1])).toBeLessThan(5);
    expect(run.status).toBe(0);
  }, 180_000);

  it('fails (exit 1) when it cannot do what it claims, e.g. when asked for more kills than runs can take', async () => {
    // 30 records finish before most kill points: the soak must say FAIL, not pass with fewer kills.
    const run = await runSoak(['--quick', '--records', '30', '--kills', '20']);
    expect(run.stdout).toMatch(/^soak: FAIL /m);
    expect(run.status).toBe(1);
  }, 180_000);
});
