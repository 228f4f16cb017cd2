import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, startCli } from '../support/cli.js';

/** `npm run demo` is `node dist/demo/demo.js`: it must work on a machine with nothing running. */
describe('npm run demo', () => {
  it('runs the warehouse demo end to end, shows both runs, and leaves nothing behind', async () => {
    const { done } = startCli(join(repoRoot, 'dist', 'demo', 'demo.js'), [], { timeoutMs: 60_000 });
    const result = await done;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const output = result.stdout;

    // Run 1 sends every row of the sample warehouse; run 2 only the changed rows (and at most the two
    // bookmark rows read again), which the demo itself checks against the changes it made.
    expect(output).toMatch(/run 1: 3,600 items sent to Siro/);
    const run2 = /run 2: (\d+) items sent to Siro: the (\d+) changed rows/.exec(output);
    expect(run2, output).not.toBeNull();
    const [sent, changed] = [Number(run2![1]), Number(run2![2])];
    expect(changed).toBeGreaterThan(0);
    expect(sent - changed).toBeGreaterThanOrEqual(0);
    expect(sent - changed).toBeLessThanOrEqual(2);
    expect(output).toContain('✓ all');
    // `target-siro init` on the demo's views: every sampled row maps, and it picks the shipped mapping's
    // source for the key, the start time, the notes and the account.
    expect(output).toMatch(/public-calls → engagement: \d+ fields; 2,40\d of 2,40\d sampled records map/);
    expect(output).toMatch(/public-appointments → engagement: \d+ fields; 1,20\d of 1,20\d sampled records map/);
    for (const stream of ['public-calls', 'public-appointments']) {
      const same = new RegExp(`${stream}: init chose the shipped source for (\\d+) of the (\\d+) fields[^\\n]*\\n\\s+([^\\n]+)`).exec(output);
      expect(same, output).not.toBeNull();
      expect(Number(same![1])).toBeGreaterThanOrEqual(Number(same![2]) - 3);
      const fields = same![3]!.split(', ');
      expect(fields).toEqual(expect.arrayContaining(['externalId', 'startTime', 'content', 'account.externalId', 'account.name', 'account.addresses.street']));
    }
    // The target's own summary table is shown.
    expect(output).toMatch(/target-siro: total\s+3600\b/);
    expect(output).toContain('Done; nothing is left running.');

    // Its work folder (configs, state, ledger) is removed again.
    const work = /configs in (\S+):/.exec(output)?.[1];
    expect(work).toBeDefined();
    expect(existsSync(work!)).toBe(false);
  }, 60_000);
});
