import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Smoke test of the benchmark harness: `bench --quick` runs every figure at tiny sizes and writes its
 * results to a temp folder (never over the committed bench/results.md). Quick numbers mean nothing; what
 * is checked is that every figure ran against the real CLI and sandbox and was reported.
 */

const root = resolve(import.meta.dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Results {
  machine: { cpuModel: string; cores: number; memoryGiB: number; node: string; date: string };
  quick: boolean;
  figures: { id: string; status: string; result: string; goal: string; details: Record<string, unknown> }[];
}

describe('npm run bench -- --quick', () => {
  it('runs every figure and writes results.md and results.json to --out', () => {
    const committed = join(root, 'bench', 'results.md');
    const committedBefore = existsSync(committed) ? statSync(committed).mtimeMs : undefined;
    const run = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'bench.js'), '--quick', '--out', out], {
      cwd: root,
      encoding: 'utf8',
      timeout: 150_000,
    });
    expect(run.stderr).toContain('bench: wrote');
    expect(run.status).toBe(0);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    expect(results.quick).toBe(true);
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.node).toBe(process.version);
    expect(results.figures.map((f) => f.id)).toEqual([
      'cpu-path',
      'cpu-path-no-ledger',
      'rerun-unchanged-1m',
      'memory',
      'startup',
      'latency-bound',
      'rate-limit-bound',
      'naive-baseline',
    ]);
    for (const f of results.figures) {
      expect(['PASS', 'MISS', 'NOT MEASURED', 'INFO']).toContain(f.status);
      expect(f.result.length).toBeGreaterThan(0);
    }
    // Each measured figure carries the numbers it was computed from.
    const byId = new Map(results.figures.map((f) => [f.id, f]));
    expect(byId.get('cpu-path')!.details['target records/s']).toBeGreaterThan(0);
    expect(byId.get('cpu-path')!.details['raw records/s']).toBeGreaterThan(0);
    expect(byId.get('cpu-path-no-ledger')!.details['share of raw']).toBeGreaterThan(0);
    expect(byId.get('rerun-unchanged-1m')!.details['run 2 requests']).toBe(0);
    expect(byId.get('rerun-unchanged-1m')!.details['second run ÷ raw']).toBeGreaterThan(0);
    expect(byId.get('memory')!.details['largest peak RSS, MB']).toBeGreaterThan(0);
    expect(byId.get('startup')!.details['bare node -e 0, median s']).toBeGreaterThan(0);
    expect(byId.get('latency-bound')!.details['items/s (window)']).toBeGreaterThan(0);
    expect(byId.get('rate-limit-bound')!.details['B missing']).toBe(0);
    expect(byId.get('naive-baseline')!.details['naive items/s']).toBeGreaterThan(0);

    const markdown = readFileSync(join(out, 'results.md'), 'utf8');
    expect(markdown).toContain('Quick mode');
    expect(markdown).toContain(results.machine.cpuModel);
    for (const f of results.figures) expect(markdown).toContain(`**${f.status}**`);
    // A missed goal says by how much.
    for (const f of results.figures.filter((f) => f.status === 'MISS' && f.id !== 'rate-limit-bound')) expect(f.result).toMatch(/goal [≤≥]/);
    // What was tried (bench/levers.md) is part of the results.
    expect(markdown).toContain('## What was tried');
    // The committed results were not touched.
    expect(existsSync(committed) ? statSync(committed).mtimeMs : undefined).toBe(committedBefore);
  }, 180_000);
});
