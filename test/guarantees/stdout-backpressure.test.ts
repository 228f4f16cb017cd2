import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanEnv, repoRoot, targetBin, tempDir } from '../support/cli.js';
import { targetConfig } from '../support/target-config.js';
import { CALLS_SCHEMA } from '../support/singer-gen.js';

/**
 * A slow reader of stdout behind a non-blocking pipe (an orchestrator may hand one over, and Node leaves
 * fd 1 non-blocking once anything in the process touches process.stdout): every state line arrives whole,
 * in order, and the last state is printed.
 */
describe('state lines on a slow, non-blocking stdout', () => {
  it('are written whole and in order, with backpressure', async () => {
    const dir = tempDir();
    const { config } = targetConfig({ dry_run: true, ledger: false }, dir);
    const pad = 'x'.repeat(20_000);
    const lines = [JSON.stringify(CALLS_SCHEMA)];
    const states = 30;
    for (let i = 1; i <= states; i++) {
      lines.push(
        JSON.stringify({
          type: 'RECORD',
          stream: 'public-calls',
          record: { id: i, position: i, direction: 'in', call_type: 'demo', started_at: '2025-01-01T00:00:00Z' },
        }),
      );
      lines.push(JSON.stringify({ type: 'STATE', value: { position: i, pad } }));
    }
    const input = join(dir, 'input.singer');
    writeFileSync(input, lines.join('\n') + '\n');
    const nonBlocking = join(dir, 'nonblocking-stdout.cjs');
    writeFileSync(nonBlocking, 'process.stdout;\n');
    const child = spawn(process.execPath, ['--require', nonBlocking, targetBin, '--config', config, '--input', input, '--dry-run-output', '/dev/null'], {
      cwd: repoRoot,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // Read nothing for a while: the pipe fills and the target's writes meet EAGAIN.
    child.stdout.pause();
    await new Promise((r) => setTimeout(r, 1500));
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stdout.resume();
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(stderr).not.toMatch(/EAGAIN|\n\s+at /);
    expect(code).toBe(0);
    const printed = stdout.trimEnd().split('\n');
    const positions = printed.map((l) => (JSON.parse(l) as { position: number }).position);
    // Coalescing may skip states, never reorder or cut them; the last one is always there.
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(positions.at(-1)).toBe(states);
    for (const l of printed) expect((JSON.parse(l) as { pad: string }).pad).toBe(pad);
  }, 15_000);
});
