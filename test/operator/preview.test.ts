import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compactJson } from '../../connector/commands/preview.js';
import type { Sandbox } from '../../connector/sandbox/index.js';
import { parseExact, stringifyExact } from '../../connector/singer/exact-json.js';
import { runTargetCli } from '../support/cli.js';
import { exampleInput, operatorConfig } from './helpers.js';
import { sandboxPerFile } from '../support/sandbox.js';

const TOKEN = 'op-preview-token-31c8';
const input = exampleInput('postgres-calls');

let sandbox: Sandbox;
sandboxPerFile((s) => (sandbox = s), { tokens: [{ token: TOKEN, tokenName: 'preview', organizationId: 'org-preview' }] });

/** The fixture's lines as messages (integers beyond 2^53 stay exact). */
function messages(): Record<string, unknown>[] {
  return readFileSync(input, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => parseExact(l) as Record<string, unknown>);
}

function writeInput(path: string, msgs: Record<string, unknown>[]): string {
  writeFileSync(path, msgs.map((m) => stringifyExact(m)).join('\n') + '\n');
  return path;
}

describe('target-siro preview', () => {
  it('shows records, payloads and rejections for a terminal, sends nothing and prints no state', async () => {
    const { dir, path } = operatorConfig({ api_token: TOKEN, base_url: sandbox.url });
    const before = sandbox.stats().requests;
    const r = await runTargetCli(['preview', '--config', path, '--input', input]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/^preview of .*postgres-calls\.singer: first 10 record\(s\)\n {3}mappings .*postgres-calls\.yml\n {3}ledger {3}.* does not exist yet/);
    // A record that maps: its key, line, object, externalId and action, then the record and the payload, aligned.
    expect(out).toContain('#1 public-calls id=9007199254740993 (line 2) → engagement "9007199254740993": CREATE');
    expect(out).toMatch(/^ {3}record {3}\{"id": 9007199254740993, "started_at": "2026-04-02T15:04:05.250000\+00:00",/m);
    expect(out).toMatch(/^ {3}payload {2}\{"externalId": "9007199254740993", "direction": "OUTBOUND",/m);
    expect(out).toContain('"subject": "Call with Brooks Residence"');
    expect(out).toMatch(/^ {13}"engagementType": \{"name": "Connected call", "activityType": "CALL"\},/m);
    // JSON lines stay within the default 100 columns.
    const jsonLines = out.split('\n').filter((l) => /^ {3}(record|payload) /.test(l) || /^ {13}/.test(l));
    expect(jsonLines.length).toBeGreaterThan(10);
    for (const line of jsonLines) expect(line.length, line).toBeLessThanOrEqual(100);
    // A record the mapping rejects: the reason, with the field and the value.
    expect(out).toContain('#3 public-calls id=5003 (line 4): REJECTED at mapping');
    expect(out).toContain('   reason   direction: value "sideways" of column "direction" is not one of INBOUND, OUTBOUND');
    expect(out).toContain('#5 public-appointments id=7d3c2b1a-0000-4000-8000-000000000002 (line 8) → engagement "7d3c2b1a-0000-4000-8000-000000000002": CREATE');
    expect(out).toMatch(/5 record\(s\): 4 mapped \(3 create, 1 delete\), 1 rejected, 0 skipped\. Nothing was sent\.\n$/);

    // Nothing sent, no state line, no rejects file, no ledger, no report.
    expect(sandbox.stats().requests).toBe(before);
    expect(out).not.toContain('"bookmarks"');
    for (const f of ['rejects.jsonl', 'ledger.sqlite', 'state.json', 'runs']) expect(existsSync(join(dir, f)), f).toBe(false);
  });

  it('tells create, update, unchanged and delete apart with the ledger of an earlier run', async () => {
    const { dir, path } = operatorConfig({ api_token: TOKEN, base_url: sandbox.url });
    const run = await runTargetCli(['--config', path, '--input', input]);
    expect(run.code, run.stderr).toBe(0);

    // The next extract: call 9007199254740993 is the same, 5002 was edited, 5004 is new, 5003 is still bad,
    // and the first appointment was deleted in the app.
    const msgs = messages();
    const record = (m: Record<string, unknown>) => m.record as Record<string, unknown>;
    const byId = (id: unknown) => msgs.find((m) => m.type === 'RECORD' && String(record(m).id) === String(id))!;
    record(byId(5002)).notes = 'Called back: left a second voicemail.';
    const added = structuredClone(byId(5002));
    Object.assign(record(added), { id: 5004, deleted_at: null, notes: 'New lead from the website' });
    msgs.splice(msgs.indexOf(byId(5003)), 0, added);
    record(byId('0b9f6c1e-6c0e-4c57-9d1e-3f2a9a7d5e11')).deleted_at = '2026-04-09T12:00:00+00:00';
    const next = writeInput(join(dir, 'next.singer'), msgs);

    const r = await runTargetCli(['preview', '--config', path, '--input', next, '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    // Exact ids in the JSON text too.
    expect(r.stdout).toContain('"id": 9007199254740993');
    const doc = JSON.parse(r.stdout);
    expect(doc.ledger.used).toBe(true);
    const actions = doc.records.map((x: { key: string; outcome: string; action?: string }) => `${x.key} ${x.outcome} ${x.action ?? ''}`.trim());
    expect(actions).toEqual([
      'id=9007199254740993 mapped unchanged',
      'id=5002 mapped delete',
      'id=5004 mapped create',
      'id=5003 rejected',
      'id=0b9f6c1e-6c0e-4c57-9d1e-3f2a9a7d5e11 mapped delete',
      'id=7d3c2b1a-0000-4000-8000-000000000002 mapped unchanged',
    ]);
    expect(doc.summary).toEqual({ records: 6, mapped: 5, rejected: 1, skipped: 0, actions: { unchanged: 2, delete: 2, create: 1 } });
    const rejected = doc.records[3];
    expect(rejected).toMatchObject({ stage: 'mapping', reasons: ['direction: value "sideways" of column "direction" is not one of INBOUND, OUTBOUND'] });
    expect(doc.records[2].payload).toMatchObject({ externalId: '5004', content: 'New lead from the website', deletedAt: null });

    // An edit that is not a delete is an update.
    record(byId(5002)).deleted_at = null;
    const edited = writeInput(join(dir, 'edited.singer'), msgs);
    const r2 = await runTargetCli(['preview', '--config', path, '--input', edited, '--limit', '2']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stdout).toContain('→ engagement "9007199254740993": UNCHANGED (Siro already holds this payload: it is not sent)');
    expect(r2.stdout).toContain('→ engagement "5002": UPDATE');
    expect(r2.stdout).toContain('2 record(s): 2 mapped (1 unchanged, 1 update), 0 rejected, 0 skipped; the input holds more records (--limit). Nothing was sent.');
  });

  it('says upsert when the ledger is off, and reads stdin', async () => {
    const { path } = operatorConfig({ ledger: false });
    const r = await runTargetCli(['preview', '--config', path, '--format', 'json', '--limit', '1'], { input: readFileSync(input) });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ input: 'stdin', limit: 1, more: true, ledger: { used: false } });
    expect(doc.records).toHaveLength(1);
    expect(doc.records[0].action).toBe('upsert');
  });

  it('fails clearly on bad input (exit 3) and bad options (exit 2)', async () => {
    const { dir, path } = operatorConfig({ ledger: false });
    const broken = join(dir, 'broken.singer');
    writeFileSync(broken, '{"type": "RECORD", "stream": "public-calls", "record": {"id": 1}}\n');
    const r = await runTargetCli(['preview', '--config', path, '--input', broken]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('input line 1 (stream "public-calls"): RECORD before any SCHEMA for its stream');
    const missing = await runTargetCli(['preview', '--config', path, '--input', join(dir, 'nope.singer')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
    const limit = await runTargetCli(['preview', '--config', path, '--input', input, '--limit', '0']);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain('--limit needs a positive whole number');
  });
});

describe('compactJson', () => {
  it('keeps short values on one line and fills long ones like a paragraph', () => {
    expect(compactJson({ a: 1, b: [1, 2], c: null }, 80)).toBe('{"a": 1, "b": [1, 2], "c": null}');
    expect(compactJson({ big: 12345678901234567890n }, 80)).toBe('{"big": 12345678901234567890}');
    const text = compactJson({ alpha: 'aaaaaaaaaa', beta: 'bbbbbbbbbb', gamma: { x: 'xxxxxxxxxx', y: 'yyyyyyyyyy' } }, 40, 4);
    expect(text.split('\n')).toEqual(['{"alpha": "aaaaaaaaaa",', '     "beta": "bbbbbbbbbb",', '     "gamma": {"x": "xxxxxxxxxx",', '               "y": "yyyyyyyyyy"}}']);
  });
});
