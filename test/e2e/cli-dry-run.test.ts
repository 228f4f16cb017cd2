import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runTargetCli, stateLines, tempDir } from '../support/cli.js';
import { jsonLines, sampleCalls, targetConfig } from '../support/target-config.js';

/** The target as users run it, in dry-run mode: payloads on stderr or a file, state values on stdout. */

const TOKEN = 'tok-dry-run-never-printed-6b1f';

function payloadLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{"externalId"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('dry run from the command line', () => {
  it('runs the README command: config.sample.json, --dry-run, sample input on stdin', async () => {
    const dir = tempDir();
    const r = await runTargetCli(['--config', 'config.sample.json', '--dry-run'], {
      input: readFileSync(sampleCalls),
      env: {
        TARGET_SIRO_REJECTS_FILE: join(dir, 'rejects.jsonl'),
        TARGET_SIRO_STATE_FILE: join(dir, 'state.json'),
        TARGET_SIRO_LEDGER_PATH: join(dir, 'ledger.sqlite'),
        TARGET_SIRO_REPORTS_DIR: join(dir, 'runs'),
      },
    });
    expect(r.code).toBe(0);
    expect(stateLines(r.stdout)).toEqual([
      { bookmarks: { 'public-calls': { replication_key: 'updated_at', replication_key_value: '2026-03-04T13:30:00.000000+00:00' } } },
      { bookmarks: { 'public-calls': { replication_key: 'updated_at', replication_key_value: '2026-03-08T17:30:00.000000+00:00' } } },
    ]);
    const payloads = payloadLines(r.stderr);
    expect(payloads.map((p) => p.externalId)).toEqual(
      ['1001', '1002', '1003', '1004', '1005', '18446744073709551557', '1007', '1008'].map((id) => `call-${id}`),
    );
    expect(payloads[0]).toMatchObject({
      direction: 'INBOUND',
      startTime: '2026-03-01T10:00:00.123Z',
      startTimeLocalized: '2026-03-01T04:00:00',
      engagementType: { name: 'Discovery', activityType: 'CALL' },
      account: { externalId: 'A-100', addresses: [{ street: '12 Oak St', city: 'Austin', state: 'TX', zip: '78701', country: 'US' }] },
    });
    // A dry run never moves the bookmark: state_file is for real runs only.
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
    expect(r.stderr).toMatch(/public-calls\s+8\s+8\s+8\s+0\s+0/);
  });

  it('writes payloads to --dry-run-output and only state lines to stdout', async () => {
    const t = targetConfig({ dry_run: true });
    const out = join(t.dir, 'payloads.jsonl');
    const r = await runTargetCli(['--config', t.config, '--dry-run-output', out, '--input', sampleCalls]);
    expect(r.code).toBe(0);
    expect(stateLines(r.stdout)).toHaveLength(2);
    expect((await jsonLines(out)).map((p) => p.externalId)).toHaveLength(8);
    expect(payloadLines(r.stderr)).toEqual([]);
  });

  it.each([
    ['malformed JSON', '{"type": "RECORD", "stream": "public-calls", "record": {', /input line 7: malformed JSON/],
    ['a message without type', '{"stream": "public-calls", "record": {"id": 1}}', /input line 7: message has no "type"/],
    ['a RECORD before its SCHEMA', '{"type": "RECORD", "stream": "public-appointments", "record": {"id": 1}}', /input line 7 \(stream "public-appointments"\): RECORD before any SCHEMA/],
  ])('stops on %s naming the line (and stream); no state past that point', async (_name, bad, message) => {
    const t = targetConfig({ dry_run: true });
    const lines = readFileSync(sampleCalls, 'utf8').split('\n');
    // Line 7 is the bad one: the state after the 4th record (line 7 originally) must not be printed.
    lines.splice(6, 0, bad);
    const r = await runTargetCli(['--config', t.config], { input: lines.join('\n') });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
  });

  it('prints the states before a bad line once their records are done', async () => {
    const t = targetConfig({ dry_run: true });
    const lines = readFileSync(sampleCalls, 'utf8').split('\n');
    lines.splice(8, 0, 'not json at all');
    const r = await runTargetCli(['--config', t.config], { input: lines.join('\n') });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/input line 9: malformed JSON/);
    expect(stateLines(r.stdout)).toHaveLength(1);
  });

  it('warns about unknown message types and streams skipped on purpose once, and counts the skipped records', async () => {
    const t = targetConfig({ dry_run: true, skip_streams: ['public-orders'] });
    const input = [
      '{"type": "DEBUG_DUMP", "stream": "x"}',
      '',
      '{"type": "SCHEMA", "stream": "public-orders", "key_properties": ["id"], "schema": {"type": "object", "properties": {"id": {"type": "integer"}}}}',
      '{"type": "RECORD", "stream": "public-orders", "record": {"id": 1}}',
      '{"type": "RECORD", "stream": "public-orders", "record": {"id": 2}}',
      '{"type": "STATE", "value": {"orders": 2}}',
    ].join('\n');
    const r = await runTargetCli(['--config', t.config, '--dry-run'], { input, env: { TARGET_SIRO_LOG_LEVEL: 'info' } });
    expect(r.code).toBe(0);
    expect(stateLines(r.stdout)).toEqual([{ orders: 2 }]);
    expect(r.stderr).toMatch(/unknown Singer message type \\?"DEBUG_DUMP\\?" ignored/);
    expect(r.stderr.match(/stream \\?"public-orders\\?" is in skip_streams/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/public-orders\s+2\s+0\s+0\s+0\s+2/);
  });

  it('rejects records with every reason, writes the rejects file, goes on, and fails past max_rejected', async () => {
    const t = targetConfig({ dry_run: true, api_token: TOKEN, max_rejected: 1 });
    const lines = readFileSync(sampleCalls, 'utf8').split('\n');
    const bad1 = JSON.parse(lines[2]!);
    bad1.record.direction = 'sideways';
    bad1.record.id = 'not-an-integer';
    const bad2 = JSON.parse(lines[3]!);
    bad2.record.direction = 'sideways';
    lines[2] = JSON.stringify(bad1);
    lines[3] = JSON.stringify(bad2);
    const r = await runTargetCli(['--config', t.config], { input: lines.join('\n') });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/2 of 8 records were rejected, more than max_rejected \(1\)/);
    expect(stateLines(r.stdout)).toHaveLength(2); // rejected records are accounted for: states still go out
    const rejects = await jsonLines(t.rejectsFile);
    expect(rejects).toHaveLength(2);
    expect(rejects[0]).toMatchObject({ stream: 'public-calls', key: 'id=not-an-integer', line: 3, seq: 1, stage: 'schema' });
    expect(rejects[0]!.reasons).toEqual(['field "id" must be integer']);
    expect(rejects[1]).toMatchObject({ stream: 'public-calls', key: 'id=1002', line: 4, seq: 2, stage: 'mapping' });
    expect((rejects[1]!.reasons as string[])[0]).toMatch(/direction.*"sideways".*allowed: in, inbound, out, outbound/);
    expect(readFileSync(t.rejectsFile, 'utf8')).not.toContain(TOKEN);
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
  });

  it('checks mappings before reading any input, naming file:line:column', async () => {
    const dir = tempDir();
    const mapping = join(dir, 'bad.yml');
    writeFileSync(mapping, 'version: 1\nstreams:\n  public-calls:\n    object: engagement\n    fields:\n      externalId: id\n      subjekt: title\n');
    const t = targetConfig({ dry_run: true, mappings: mapping }, dir);
    const r = await runTargetCli(['--config', t.config], { input: readFileSync(sampleCalls) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${mapping}:7:7`);
    expect(r.stderr).toMatch(/subjekt/);
    expect(r.stdout).toBe('');
    const v = await runTargetCli(['validate', '--config', t.config]);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain(`${mapping}:7:7`);
  });

  it('validate passes on the shipped mappings', async () => {
    const t = targetConfig({});
    const r = await runTargetCli(['validate', '--config', t.config]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/mappings OK/);
  });

  it('reports configuration errors clearly', async () => {
    const t = targetConfig({ batch_size: 'lots', colour: 'blue', api_token: TOKEN });
    const r = await runTargetCli(['--config', t.config], { input: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown setting "colour"/);
    expect(r.stderr).toMatch(/setting "batch_size"/);
    expect(r.stderr).not.toContain(TOKEN);
    const noToken = await runTargetCli(['--config', targetConfig({}).config], { input: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/api_token.*required/);
  });

  it('describes itself: --about, --about --format json, --version', async () => {
    const text = await runTargetCli(['--about']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Name: target-siro/m);
    expect(text.stdout).toMatch(/api_token \(text, secret\)/);
    const json = await runTargetCli(['--about', '--format', 'json']);
    const about = JSON.parse(json.stdout);
    expect(about.name).toBe('target-siro');
    expect(about.env_var_prefix).toBe('TARGET_SIRO_');
    expect(about.secret_settings).toContain('api_token');
    expect(about.settings.properties.api_token.secret).toBe(true);
    expect(about.capabilities).toContain('about');
    const version = await runTargetCli(['--version']);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version);
  });

  it('keeps a 2^64-range id exact, also inside JSON text columns', async () => {
    const dir = tempDir();
    const mapping = join(dir, 'm.yml');
    writeFileSync(
      mapping,
      'version: 1\nstreams:\n  s:\n    object: engagement\n    fields:\n      externalId: id\n      account:\n        externalId: meta.crm_id\n',
    );
    const t = targetConfig({ dry_run: true, mappings: mapping }, dir);
    const input = [
      '{"type":"SCHEMA","stream":"s","key_properties":["id"],"schema":{"type":"object","properties":{"id":{"type":"integer"},"meta":{"type":["null","string"]}}}}',
      '{"type":"RECORD","stream":"s","record":{"id":12345678901234567890,"meta":"{\\"crm_id\\": 98765432109876543210}"}}',
    ].join('\n');
    const r = await runTargetCli(['--config', t.config], { input });
    expect(r.code).toBe(0);
    expect(payloadLines(r.stderr)).toEqual([{ externalId: '12345678901234567890', account: { externalId: '98765432109876543210' } }]);
  });
});
