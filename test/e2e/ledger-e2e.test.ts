import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint } from '../../connector/ledger/fingerprint.js';
import { LedgerStore } from '../../connector/ledger/store.js';
import { DEFAULT_SANDBOX_TOKEN, startSandbox, type Sandbox } from '../../connector/sandbox/server.js';
import { runTargetCli, startCli, stateLines, targetBin } from '../support/cli.js';
import { callsInput, positionOf } from '../support/singer-gen.js';
import { targetConfig } from '../support/target-config.js';

/** The sync ledger through the CLI: change detection across runs, and a kill -9 in the middle of a run. */

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());

const settings = () => ({ api_token: DEFAULT_SANDBOX_TOKEN.token, base_url: sandbox.url, batch_size: 20 });

describe('ledger across runs (CLI)', () => {
  it('a second identical run sends no request; one changed row sends one item', async () => {
    const t = targetConfig(settings());
    const input = callsInput({ count: 120, statesEvery: 30 });
    const first = await runTargetCli(['--config', t.config], { input });
    expect(first.code).toBe(0);
    const requestsAfterFirst = sandbox.stats().requests;
    expect(requestsAfterFirst).toBeGreaterThanOrEqual(6);
    expect(requestsAfterFirst).toBeLessThanOrEqual(12);

    const second = await runTargetCli(['--config', t.config], { input });
    expect(second.code).toBe(0);
    expect(sandbox.stats().requests).toBe(requestsAfterFirst);
    expect(stateLines(second.stdout).map(positionOf)).toEqual([30, 60, 90, 120]);
    expect(second.stderr).toMatch(/unchanged/);

    const changed = input.replace('"notes": "Call 57:', '"notes": "Call 57 (edited):').replace('"notes":"Call 57:', '"notes":"Call 57 (edited):');
    expect(changed).not.toBe(input);
    const third = await runTargetCli(['--config', t.config], { input: changed });
    expect(third.code).toBe(0);
    expect(sandbox.stats().requests).toBe(requestsAfterFirst + 1);
    expect(sandbox.engagements().find((e) => e.externalId === 'call-57')!.body.content).toMatch(/^Call 57 \(edited\):/);

    const resync = await runTargetCli(['--config', t.config, '--full-resync'], { input });
    expect(resync.code).toBe(0);
    expect(sandbox.stats().requests).toBeGreaterThanOrEqual(requestsAfterFirst + 1 + 6);
  });

  it('kill -9 mid-run, then a rerun from the last printed state: the ledger marks nothing sent that Siro lacks', async () => {
    sandbox.setFaults({ latencyMs: 60, jitterMs: 40 });
    const count = 1500;
    const t = targetConfig({ ...settings(), batch_size: 25, max_concurrency: 3 });
    const states: unknown[] = [];
    const { child, done } = startCli(targetBin, ['--config', t.config], { input: callsInput({ count, statesEvery: 25 }) });
    let buffered = '';
    child.stdout!.on('data', (d: string) => {
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const l of lines) {
        states.push(JSON.parse(l));
        if (states.length === 8) child.kill('SIGKILL');
      }
    });
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    const resumeAfter = states.length ? positionOf(states.at(-1)) : 0;
    expect(resumeAfter).toBeLessThan(count);

    // The ledger after the crash: every row it marks as acknowledged is in Siro with that very payload.
    const store = await LedgerStore.open({ path: t.ledgerPath });
    try {
      const byId = new Map(sandbox.engagements().map((e) => [e.externalId, e]));
      const ids = Array.from({ length: count }, (_, i) => `call-${i + 1}`);
      const known = await store.lookup('engagement', ids);
      let marked = 0;
      for (const [id, row] of known) {
        if (!row.fingerprint) continue;
        marked++;
        expect(byId.has(id), `${id} marked sent but missing in Siro`).toBe(true);
        expect(fingerprint(byId.get(id)!.body)).toBe(row.fingerprint);
      }
      expect(marked).toBeGreaterThanOrEqual(resumeAfter);
    } finally {
      await store.close();
    }

    const rerun = await runTargetCli(['--config', t.config], { input: callsInput({ count, from: resumeAfter + 1, statesEvery: 25 }) });
    expect(rerun.code).toBe(0);
    const after = new Map(sandbox.engagements().map((e) => [e.externalId, e]));
    for (let p = 1; p <= count; p++) expect(after.has(`call-${p}`), `call-${p}`).toBe(true);
    const store2 = await LedgerStore.open({ path: t.ledgerPath });
    try {
      const known = await store2.lookup('engagement', [...after.keys()]);
      for (const [id, row] of known) expect(row.fingerprint).toBe(fingerprint(after.get(id)!.body));
      expect([...known.values()].filter((r) => r.fingerprint).length).toBe(count);
    } finally {
      await store2.close();
    }
    expect(readFileSync(t.config, 'utf8')).toContain('ledger_path');
  });
});
