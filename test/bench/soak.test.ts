import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Smoke test of the soak: `soak --quick` (2,000 records, 2 kill -9, the full fault mix) must pass, which
 * means no state was printed ahead of the sandbox and nothing was lost.
 */

const root = resolve(import.meta.dirname, '..', '..');

describe('npm run soak -- --quick', () => {
  it('survives faults and kill -9 without losing a record or printing a state too early', () => {
    const run = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'soak.js'), '--quick'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 150_000,
    });
    const verdict = run.stdout.trim().split('\n').at(-1) ?? '';
    // On failure, show the harness's own account (what was lost, which state was early).
    if (run.status !== 0) console.error(run.stderr.split('\n').filter((l) => l.startsWith('soak: ')).join('\n'));
    expect(verdict).toMatch(/^soak: PASS 2000 records, \d+ delivered, \d+ rejected, 2 kills, 0 states ahead, 0 lost$/);
    const [, delivered, rejected] = /(\d+) delivered, (\d+) rejected/.exec(verdict)!.map(Number);
    expect(delivered! + rejected!).toBe(2000);
    expect(rejected).toBeGreaterThan(0);
    expect(run.status).toBe(0);
  }, 180_000);

  it('fails (exit 1) when it cannot do what it claims, e.g. when asked for more kills than runs can take', () => {
    // 30 records finish before most kill points: the soak must say FAIL, not pass with fewer kills.
    const run = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'soak.js'), '--quick', '--records', '30', '--kills', '20'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 150_000,
    });
    expect(run.stdout).toMatch(/^soak: FAIL /m);
    expect(run.status).toBe(1);
  }, 180_000);
});
