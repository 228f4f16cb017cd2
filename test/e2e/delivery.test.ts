import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadMappings } from '../../connector/mapping/index.js';
import { startSandbox, type Sandbox } from '../../connector/sandbox/server.js';
import { repoRoot, runTargetCli, startCli, stateLines, targetBin, type CliResult } from '../support/cli.js';
import { callRecord, callsInput, idAt, positionOf } from '../support/singer-gen.js';
import { jsonLines, targetConfig } from '../support/target-config.js';

/**
 * Real delivery, the way users run it: the built CLI as a child process, Singer input on stdin, the Siro
 * sandbox over real HTTP on 127.0.0.1, with faults injected.
 */

const TOKEN = 'siro-org-token-e2e-7f3a9c1d';
const outputs: string[] = []; // everything any run printed or wrote, checked for the token at the end

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ tokens: [{ token: TOKEN, tokenName: 'e2e', organizationId: 'org-e2e' }] });
});
afterAll(async () => {
  await sandbox.close();
  for (const text of outputs) expect(text).not.toContain(TOKEN);
});
beforeEach(() => sandbox.reset());

const calls = loadMappings(join(repoRoot, 'mappings', 'default.yml')).forStream('public-calls')!;
function expectedPayload(position: number, opts = {}): Record<string, unknown> {
  const r = calls.map(callRecord(position, opts));
  if (!r.ok) throw new Error(r.reasons.join('; '));
  return r.payload;
}

interface RunOptions {
  settings?: Record<string, unknown>;
  input: string;
  /** Called for each state line as it appears on stdout. */
  onState?: (state: unknown) => void;
  /** Called once when the first state line appears (e.g. to send a signal). */
  onFirstState?: (child: ReturnType<typeof startCli>['child']) => void;
  target?: ReturnType<typeof targetConfig>;
}

async function runTarget(opts: RunOptions): Promise<CliResult & { target: ReturnType<typeof targetConfig>; rejects: Record<string, unknown>[] }> {
  const target = opts.target ?? targetConfig({ api_token: TOKEN, base_url: sandbox.url, ...opts.settings });
  const { child, done } = startCli(targetBin, ['--config', target.config], { input: opts.input });
  let pending = '';
  let first = true;
  child.stdout!.on('data', (d: string) => {
    pending += d;
    let nl: number;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      opts.onState?.(JSON.parse(line));
      if (first) {
        first = false;
        opts.onFirstState?.(child);
      }
    }
  });
  const r = await done;
  const rejects = await jsonLines(target.rejectsFile);
  outputs.push(r.stdout, r.stderr, JSON.stringify(rejects), readFileSync(target.config, 'utf8').replace(TOKEN, ''));
  return { ...r, target, rejects };
}

const held = () => new Map(sandbox.engagements().map((e) => [e.externalId, e]));

describe('delivery to Siro (sandbox)', () => {
  it('a clean run delivers every record once, as mapped, in batches', async () => {
    const r = await runTarget({ input: callsInput({ count: 250, statesEvery: 25 }), settings: { batch_size: 50, log_level: 'info' } });
    expect(r.code).toBe(0);
    // Singer METRIC log lines on stderr: one timer per request, and the record count per stream.
    const metrics = [...r.stderr.matchAll(/METRIC: (\{.*?\})"/g)].map((m) => JSON.parse(JSON.parse(`"${m[1]}"`)));
    expect(metrics.filter((m) => m.metric === 'http_request_duration').length).toBe(sandbox.stats().requests);
    expect(metrics.find((m) => m.metric === 'http_request_duration')).toMatchObject({ type: 'timer', tags: { endpoint: 'engagement', http_status_code: 200, status: 'succeeded' } });
    expect(metrics.filter((m) => m.metric === 'record_count').reduce((n, m) => n + m.value, 0)).toBe(250);
    const h = held();
    expect(h.size).toBe(250);
    for (let p = 1; p <= 250; p++) {
      const e = h.get(`call-${p}`)!;
      expect(e.body).toEqual(expectedPayload(p));
      expect(e.writes).toBe(1);
    }
    // Batches of up to 50 (a STATE may send a partial batch early so the state is not held back).
    expect(sandbox.stats().requests).toBeGreaterThanOrEqual(5);
    expect(sandbox.stats().requests).toBeLessThanOrEqual(10);
    expect(stateLines(r.stdout).map(positionOf)).toEqual([25, 50, 75, 100, 125, 150, 175, 200, 225, 250]);
    expect(r.stderr).toMatch(/public-calls\s+250\s+250\s+250\s+0/);
  });

  it('with 500s, 500s after the write, dropped connections and 429 bursts, every externalId ends with its last payload', async () => {
    sandbox.setFaults({ errorRate: 0.1, errorAfterWriteRate: 0.05, dropRate: 0.03, burst429: { count: 4, retryAfterSeconds: 1 }, seed: 7 });
    const idCycle = 300; // 600 records over 300 ids: every id is written twice, the later record must win
    const r = await runTarget({
      input: callsInput({ count: 600, statesEvery: 30, idCycle }),
      settings: { batch_size: 20, max_retries: 12, request_timeout_ms: 5000 },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.rejects).toEqual([]);
    const h = held();
    expect(h.size).toBe(300);
    for (let p = 301; p <= 600; p++) expect(h.get(`call-${idAt(p, { idCycle })}`)!.body).toEqual(expectedPayload(p, { idCycle }));
    const stats = sandbox.stats();
    expect(stats.byStatus['500']).toBeGreaterThan(0);
    expect(stats.throttled).toBeGreaterThanOrEqual(4);
    expect(positionOf(stateLines(r.stdout).at(-1))).toBe(600);
  });

  it.each([
    ['Siro names the bad items (422 with item paths)', false],
    ['Siro does not say which item (400), so the batch is bisected', true],
  ])('a bad item inside a batch is rejected alone and its neighbours delivered: %s', async (_name, withoutPaths) => {
    sandbox.setFaults({ refuseExternalIds: '^call-(7|13)$', refuseWithoutPaths: withoutPaths });
    const r = await runTarget({ input: callsInput({ count: 40, statesEvery: 40 }), settings: { batch_size: 20 } });
    expect(r.code).toBe(0);
    const h = held();
    expect(h.size).toBe(38);
    expect(h.has('call-7')).toBe(false);
    expect(h.has('call-6') && h.has('call-8') && h.has('call-14')).toBe(true);
    expect(r.rejects.map((x) => x.externalId).sort()).toEqual(['call-13', 'call-7']);
    for (const x of r.rejects) {
      expect(x).toMatchObject({ stream: 'public-calls', stage: 'siro', status: withoutPaths ? 400 : 422 });
      expect((x.reasons as string[]).join(' ')).toMatch(withoutPaths ? /Invalid engagement data/ : /externalId: Refused by the sandbox/);
      expect(x.payload).toEqual(expectedPayload(Number(String(x.externalId).slice(5))));
    }
    expect(positionOf(stateLines(r.stdout).at(-1))).toBe(40);
  });

  it('prints states in order and never before the records before them are in Siro or the rejects file', async () => {
    sandbox.setFaults({ latencyMs: 15, jitterMs: 30, errorRate: 0.05, seed: 3 });
    const invalid = (p: number) => p % 23 === 0;
    let checked = 0;
    let last = 0;
    const target = targetConfig({ api_token: TOKEN, base_url: sandbox.url, batch_size: 10, max_concurrency: 4 });
    const r = await runTarget({
      target,
      input: callsInput({ count: 400, statesEvery: 7, invalid }),
      onState: (state) => {
        const position = positionOf(state);
        expect(position).toBeGreaterThan(last); // in order
        last = position;
        // At the moment the line appears, Siro holds every valid record before it, and the rejects
        // file holds every invalid one.
        const h = held();
        const rejected = new Set(jsonLines(target.rejectsFile).map((r) => r.seq));
        for (let p = 1; p <= position; p++) {
          if (invalid(p)) expect(rejected.has(p), `record ${p} rejected before state ${position}`).toBe(true);
          else expect(h.has(`call-${p}`), `record ${p} in Siro before state ${position}`).toBe(true);
        }
        checked++;
      },
    });
    expect(r.code).toBe(0);
    expect(checked).toBeGreaterThan(10);
    expect(last).toBe(400);
    expect(r.rejects).toHaveLength(17);
  });

  it('401 stops the run at once: no state, a clear message, non-zero exit', async () => {
    const r = await runTarget({
      input: callsInput({ count: 50, statesEvery: 5 }),
      target: targetConfig({ api_token: 'wrong-token-but-still-secret-123', base_url: sandbox.url }),
    });
    outputs.push(r.stdout + r.stderr);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/401/);
    expect(r.stderr).toMatch(/api_token/);
    expect(r.stdout + r.stderr).not.toContain('wrong-token-but-still-secret-123');
    expect(sandbox.engagements()).toHaveLength(0);
  });

  it('an unreachable Siro exhausts its retries and fails (exit 6, as check) without printing state or the token', async () => {
    const target = targetConfig(
      { api_token: TOKEN, base_url: 'http://127.0.0.1:9', max_retries: 2, max_retry_time_ms: 2000, batch_size: 5, max_concurrency: 4 },
      { logLevel: 'info' },
    );
    const r = await runTarget({ input: callsInput({ count: 20, statesEvery: 5 }), target });
    expect(r.code).toBe(6);
    expect(r.stdout).toBe('');
    // Not silent at info: one warning naming base_url's host, though four requests were retrying at once.
    expect(r.stderr.match(/cannot reach Siro at 127\.0\.0\.1:9 \(connection failed: ECONNREFUSED/g), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/retrying, up to 2 times or 2 s per request; log_level debug shows each retry/);
    expect(r.stderr).toMatch(/target-siro: cannot reach Siro at 127\.0\.0\.1:9 after 2 retries over \d+\.\d s: connection failed: ECONNREFUSED/);
    // check says the same problem with the same exit code.
    const check = await runTargetCli(['check', '--config', target.config]);
    outputs.push(check.stdout, check.stderr);
    expect(check.code, check.stdout).toBe(6);
    expect(check.stdout).toMatch(/connection refused by 127\.0\.0\.1:9/);
  });

  it('SIGTERM mid-run prints only a safe state; replaying from it loses nothing', async () => {
    sandbox.setFaults({ latencyMs: 150 });
    const count = 2000;
    const target = targetConfig({ api_token: TOKEN, base_url: sandbox.url, batch_size: 25, max_concurrency: 2, shutdown_grace_ms: 5000 });
    const states: unknown[] = [];
    const first = await runTarget({
      target,
      input: callsInput({ count, statesEvery: 25 }),
      onState: (s) => {
        // Every printed state is backed by Siro's contents at that moment.
        const h = held();
        for (let p = 1; p <= positionOf(s); p++) expect(h.has(`call-${p}`)).toBe(true);
        states.push(s);
      },
      onFirstState: (child) => child.kill('SIGTERM'),
    });
    expect(first.code === 130 || first.code === 0).toBe(true);
    expect(states.length).toBeGreaterThan(0);
    const resumeAfter = positionOf(states.at(-1));
    expect(resumeAfter).toBeLessThan(count); // it really stopped early
    const second = await runTarget({ target, input: callsInput({ count, from: resumeAfter + 1, statesEvery: 25 }) });
    expect(second.code).toBe(0);
    const h = held();
    for (let p = 1; p <= count; p++) expect(h.get(`call-${p}`)?.body, `call-${p}`).toEqual(expectedPayload(p));
  });
});
