import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../connector/sandbox/server.js';
import { sandboxPerFile } from '../support/sandbox.js';
import { DEFAULT_SANDBOX_TOKEN } from '../../connector/sandbox/types.js';
import { runTargetCli, startCli, stateLines, targetBin, tempDir, type CliResult } from '../support/cli.js';
import { jsonLines, sampleCalls, targetConfig } from '../support/target-config.js';
import { CALLS_SCHEMA } from '../support/singer-gen.js';
import { readFileSync } from 'node:fs';

/**
 * Every path where a record or a bookmark could slip past: each ends with a non-zero exit and a clear line,
 * or with every record delivered; never exit 0 with records lost, never a state ahead of Siro.
 */

let sandbox: Sandbox;
sandboxPerFile((s) => (sandbox = s), { tokens: [DEFAULT_SANDBOX_TOKEN], fresh: true });

const live = (settings: Record<string, unknown> = {}, dir = tempDir()) =>
  targetConfig({ api_token: DEFAULT_SANDBOX_TOKEN.token, base_url: sandbox.url, ...settings }, dir);

function call(id: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: 'RECORD',
    stream: 'public-calls',
    record: { id, position: id, direction: 'in', call_type: 'demo', started_at: '2025-01-01T00:00:00Z', ...extra },
  });
}
const state = (value: unknown) => JSON.stringify({ type: 'STATE', value });
const noStackTrace = (r: CliResult) => expect(r.stderr).not.toMatch(/\n\s+at /);

describe('a dry run', () => {
  it('writes no state_file and nothing in the ledger that a later real run reads', async () => {
    const dir = tempDir();
    const dry = targetConfig({ dry_run: true, state_file: join(dir, 'state.json') }, dir);
    const res = await runTargetCli(['--config', dry.config, '--input', sampleCalls, '--dry-run-output', join(dir, 'out.jsonl')]);
    expect(res.code).toBe(0);
    expect(stateLines(res.stdout).length).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
    // The real run on the same ledger sends everything the dry run showed.
    const shown = (await jsonLines(join(dir, 'out.jsonl'))).length;
    const real = live({ state_file: join(dir, 'state.json') }, dir);
    const sent = await runTargetCli(['--config', real.config, '--input', sampleCalls]);
    expect(sent.code).toBe(0);
    expect(sandbox.engagements()).toHaveLength(shown);
    expect(existsSync(join(dir, 'state.json'))).toBe(true);
  });
});

describe('a stream no mapping names', () => {
  const typo = { ...CALLS_SCHEMA, stream: 'public-cals' };
  const input = [JSON.stringify(CALLS_SCHEMA), call(1), state({ at: 1 }), JSON.stringify(typo), state({ at: 2 })].join('\n') + '\n';

  it('stops the run, naming the stream and the nearest mapping', async () => {
    const { config } = targetConfig({ dry_run: true, ledger: false });
    const res = await runTargetCli(['--config', config, '--dry-run-output', '/dev/null'], { input });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/input line 4: no mapping names stream "public-cals" \(did you mean `public-calls`\?\)/);
    expect(res.stderr).toMatch(/skip_streams/);
    noStackTrace(res);
    expect(stateLines(res.stdout)).toEqual([{ at: 1 }]);
  });

  it('is skipped when skip_streams says so, and the summary shows it', async () => {
    const { config } = targetConfig({ dry_run: true, ledger: false, skip_streams: ['public-c?ls'] });
    const res = await runTargetCli(['--config', config, '--dry-run-output', '/dev/null'], {
      input: input.replace('{"type":"STATE","value":{"at":2}}', `${JSON.stringify({ type: 'RECORD', stream: 'public-cals', record: { id: 9 } })}\n${state({ at: 2 })}`),
    });
    expect(res.code).toBe(0);
    expect(stateLines(res.stdout)).toEqual([{ at: 1 }, { at: 2 }]);
    expect(res.stderr).toMatch(/public-cals\s+1\s+0\s+0\s+0\s+1/);
  });
});

describe('a column the mapping reads that the SCHEMA lacks', () => {
  const mapping = [
    'version: 1',
    'streams:',
    '  public-meetings:',
    '    object: engagement',
    '    fields:',
    '      externalId: id',
    '      content: nots',
    '      subject: { template: "Meeting with {{ custmer_name }}" }',
    '',
  ].join('\n');
  const schema = (properties: Record<string, unknown> | undefined) =>
    JSON.stringify({ type: 'SCHEMA', stream: 'public-meetings', key_properties: ['id'], schema: { type: 'object', ...(properties ? { properties } : {}) } });
  const columns = { id: { type: 'string' }, notes: { type: ['string', 'null'] }, customer_name: { type: ['string', 'null'] } };
  const record = JSON.stringify({ type: 'RECORD', stream: 'public-meetings', record: { id: 'm1', notes: 'n', customer_name: 'Ada' } });

  it('stops the run before any record of the stream, naming mapping file:line:column, stream and the nearest column', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'meetings.yml'), mapping);
    const { config } = targetConfig({ dry_run: true, ledger: false, mappings: join(dir, 'meetings.yml') }, dir);
    const res = await runTargetCli(['--config', config, '--dry-run-output', join(dir, 'out.jsonl')], {
      input: [state({ before: true }), schema(columns), record, state({ after: true })].join('\n') + '\n',
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/meetings\.yml:7:16: stream "public-meetings" \(SCHEMA at input line 2\) has no column "nots" \(did you mean `notes`\?\)/);
    expect(res.stderr).toMatch(/meetings\.yml:8:28: stream "public-meetings" \(SCHEMA at input line 2\) has no column "custmer_name" \(read as \{\{ custmer_name \}\}\) \(did you mean `customer_name`\?\)/);
    noStackTrace(res);
    expect(stateLines(res.stdout)).toEqual([{ before: true }]);
    expect(existsSync(join(dir, 'out.jsonl')) ? readFileSync(join(dir, 'out.jsonl'), 'utf8') : '').toBe('');
  });

  it('cannot be told when the SCHEMA lists no properties: the run says so once and goes on', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'meetings.yml'), mapping);
    const { config } = targetConfig({ dry_run: true, ledger: false, mappings: join(dir, 'meetings.yml') }, dir);
    const res = await runTargetCli(['--config', config, '--dry-run-output', join(dir, 'out.jsonl')], {
      input: [schema(undefined), record, schema(undefined), record].join('\n') + '\n',
    });
    expect(res.code).toBe(0);
    expect(res.stderr.match(/lists no properties, so the columns its mapping reads cannot be checked/g)).toHaveLength(1);
  });
});

describe('a write that fails', () => {
  const input = [JSON.stringify(CALLS_SCHEMA), call(1), state({ at: 1 }), call(2, { direction: 'sideways' }), state({ at: 2 }), call(3), state({ at: 3 })].join('\n') + '\n';

  it('under the rejects file (disk full) stops the run, with the ledger on, and prints no state past it', async () => {
    const target = live({ rejects_file: '/dev/full' });
    const res = await runTargetCli(['--config', target.config], { input });
    expect(res.code).toBe(7);
    expect(res.stderr).toMatch(/cannot write rejects_file \/dev\/full: no space left on device \(ENOSPC\)/);
    noStackTrace(res);
    const printed = stateLines(res.stdout);
    expect(printed).not.toContainEqual({ at: 2 });
    expect(printed).not.toContainEqual({ at: 3 });
  });

  it('of state_file stops the run with a line naming the file', async () => {
    const notAFolder = join(tempDir(), 'file');
    writeFileSync(notAFolder, 'x');
    const target = live({ state_file: join(notAFolder, 'state.json') });
    const res = await runTargetCli(['--config', target.config], { input: input.replace(', "direction": "sideways"', '') });
    expect(res.code).toBe(7);
    expect(res.stderr).toMatch(/target-siro: cannot write state_file .*state\.json: a file stands where a folder is needed \(EEXIST\)/);
    noStackTrace(res);
  });

  it('to a closed stdout stops the run instead of ending "ok"', async () => {
    const target = live();
    const { child, done } = startCli(targetBin, ['--config', target.config], { input });
    child.stdout!.destroy();
    const res = await done;
    expect(res.code).toBe(7);
    expect(res.stderr).toMatch(/cannot write stdout \(state lines\): the reader closed the pipe \(EPIPE\)/);
    noStackTrace(res);
    const report = JSON.parse(readFileSync(join(target.dir, 'runs', (await import('node:fs')).readdirSync(join(target.dir, 'runs'))[0]!), 'utf8'));
    expect(report.status).toBe('failed');
  });
});

describe('a 2xx that is not Siro\'s acknowledgement', () => {
  it.each(['html', 'empty', 'no-items'] as const)('(%s) delivers nothing: the run fails naming base_url, and the next run sends every record', async (kind) => {
    sandbox.setFaults({ notSiro: kind });
    const target = live({ max_retries: 1 });
    const input = [JSON.stringify(CALLS_SCHEMA), call(1), call(2), state({ at: 2 })].join('\n') + '\n';
    const res = await runTargetCli(['--config', target.config], { input, env: { TARGET_SIRO_BATCH_SIZE: kind === 'empty' ? '1' : '100' } });
    expect(res.code).toBe(6);
    expect(res.stderr).toMatch(/the server at base_url http:\/\/127\.0\.0\.1:\d+ does not answer as Siro/);
    expect(stateLines(res.stdout)).toEqual([]);
    noStackTrace(res);
    // Nothing was marked delivered in the ledger: once Siro answers, both records are sent.
    sandbox.setFaults({});
    const again = await runTargetCli(['--config', target.config], { input });
    expect(again.code).toBe(0);
    expect(sandbox.engagements().map((e) => e.externalId).sort()).toEqual(['call-1', 'call-2']);
  });

  it('is recognised by check', async () => {
    sandbox.setFaults({ notSiro: 'html' });
    const res = await runTargetCli(['check', '--config', live().config]);
    expect(res.code).toBe(6);
    expect(res.stdout).toMatch(/not with Siro's caller identity/);
  });
});

describe('a row the mapping refused', () => {
  it('is sent by rejects retry once the mapping is fixed, and the hint names the mapping as the cause', async () => {
    const dir = tempDir();
    const mappingFile = join(dir, 'calls.yml');
    const mapping = (directions: string) =>
      ['version: 1', 'streams:', '  public-calls:', '    object: engagement', '    fields:', '      externalId: { template: "call-{{ id }}" }', `      direction: { column: direction, map: { ${directions} } }`, ''].join('\n');
    writeFileSync(mappingFile, mapping('in: INBOUND'));
    const target = live({ mappings: mappingFile }, dir);
    const input = [JSON.stringify(CALLS_SCHEMA), call(1), call(2, { direction: 'sideways' }), call(3, { direction: 'sideways' }), state({ at: 3 })].join('\n') + '\n';
    const first = await runTargetCli(['--config', target.config], { input });
    expect(first.code).toBe(0);
    expect(sandbox.engagements().map((e) => e.externalId)).toEqual(['call-1']);
    const listed = await runTargetCli(['rejects', 'list', '--config', target.config]);
    expect(listed.stdout).toMatch(/call-2 .*\[the mapping refused it: fix the mapping, then rejects retry/);

    writeFileSync(mappingFile, mapping('in: INBOUND, sideways: OUTBOUND'));
    const retried = await runTargetCli(['rejects', 'retry', '--config', target.config]);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(/retried 2 rejected row\(s\): 2 accepted, 0 still rejected/);
    expect(sandbox.engagements().map((e) => e.externalId).sort()).toEqual(['call-1', 'call-2', 'call-3']);
    expect(sandbox.engagements().find((e) => e.externalId === 'call-2')!.body).toEqual({ externalId: 'call-2', direction: 'OUTBOUND' });
    expect((await runTargetCli(['rejects', 'list', '--config', target.config])).stdout).toMatch(/no rejected rows/);
  });
});

describe('SIGTERM', () => {
  async function signalled(faults: Parameters<Sandbox['setFaults']>[0], settings: Record<string, unknown>, signals: number) {
    sandbox.setFaults(faults);
    const target = live({ ledger: false, ...settings });
    const input = [JSON.stringify(CALLS_SCHEMA), call(1), call(2), state({ at: 2 })].join('\n') + '\n';
    const { child, done } = startCli(targetBin, ['--config', target.config], { input });
    // Wait until the target has had its first answer (a 429 or a 500), then signal.
    while (sandbox.stats().requests === 0) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    const sentAt = performance.now();
    for (let i = 0; i < signals; i++) {
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await done;
    return { res, tookMs: performance.now() - sentAt };
  }

  it('stops a long Retry-After pause at once, with exit 130 and no state past the undelivered records', async () => {
    const { res, tookMs } = await signalled({ burst429: { count: 100, retryAfterSeconds: 120 } }, {}, 1);
    expect(res.code).toBe(130);
    expect(tookMs).toBeLessThan(3_000);
    expect(stateLines(res.stdout)).toEqual([]);
    noStackTrace(res);
  });

  it('stops a retry backoff at once', async () => {
    const { res, tookMs } = await signalled({ errorRate: 1 }, { max_retries: 50 }, 1);
    expect(res.code).toBe(130);
    expect(tookMs).toBeLessThan(3_000);
  });

  it('a second signal exits at once, even while a request in flight has its grace time', async () => {
    const { res, tookMs } = await signalled({ latencyMs: 20_000 }, { shutdown_grace_ms: 60_000 }, 2);
    expect(res.code).toBe(130);
    expect(tookMs).toBeLessThan(3_000);
    expect(res.stderr).toMatch(/SIGTERM again: exiting at once/);
  });
});
