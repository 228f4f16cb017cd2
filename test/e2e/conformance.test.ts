import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SANDBOX_TOKEN, startSandbox, type Sandbox } from '../../connector/sandbox/server.js';
import { runTargetCli, stateLines, type CliResult } from '../support/cli.js';
import { conformanceDir, conformanceMapping, jsonLines, targetConfig } from '../support/target-config.js';

/**
 * The Meltano SDK's standard target test streams, through the built CLI: once as a dry run and once with
 * real delivery to the Siro sandbox. Expectations follow test/fixtures/conformance/README.md.
 */

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());

type Mode = 'dry-run' | 'sandbox';

interface Run extends CliResult {
  states: unknown[];
  payloads: Record<string, unknown>[];
  rejects: Record<string, unknown>[];
  /** What Siro holds: externalId → last payload (sandbox mode), or the last dry-run payload per id. */
  held: Map<string, Record<string, unknown>>;
}

async function run(file: string, mode: Mode, extra: Record<string, unknown> = {}): Promise<Run> {
  const t = targetConfig({
    mappings: conformanceMapping,
    ...(mode === 'dry-run' ? { dry_run: true } : { api_token: DEFAULT_SANDBOX_TOKEN.token, base_url: sandbox.url, batch_size: 3 }),
    ...extra,
  });
  const out = join(t.dir, 'payloads.jsonl');
  const r = await runTargetCli(['--config', t.config, ...(mode === 'dry-run' ? ['--dry-run-output', out] : [])], {
    input: readFileSync(join(conformanceDir, file)),
  });
  const payloads = mode === 'dry-run' ? await jsonLines(out) : [];
  const held = new Map<string, Record<string, unknown>>();
  if (mode === 'dry-run') for (const p of payloads) held.set(p.externalId as string, p);
  else for (const e of sandbox.engagements()) held.set(e.externalId, e.body);
  return { ...r, states: r.code === null ? [] : stateLines(r.stdout), payloads, rejects: await jsonLines(t.rejectsFile), held };
}

const singerLines = (file: string) => jsonLines<{ type: string; value?: unknown; record?: Record<string, unknown> }>(join(conformanceDir, file));

describe.each<Mode>(['dry-run', 'sandbox'])('conformance streams (%s)', (mode) => {
  it('record_before_schema: stops naming the stream, non-zero, no state', async () => {
    const r = await run('record_before_schema.singer', mode);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/input line 1 \(stream "test_record_before_schema"\): RECORD before any SCHEMA/);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.held.size).toBe(0);
  });

  it('invalid_schema: a schema without properties is accepted, no stack trace', async () => {
    const r = await run('invalid_schema.singer', mode);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('schema_no_properties: accepted, nested values reachable', async () => {
    const r = await run('schema_no_properties.singer', mode);
    expect(r.code).toBe(0);
    expect([...r.held.keys()].sort()).toEqual(['obj-1-1', 'obj-1-187', 'obj-2-2', 'obj-2-203']);
    expect(r.held.get('obj-2-203')!.subject).toBe('203');
  });

  it('schema_updates: the later SCHEMA replaces the earlier one', async () => {
    const r = await run('schema_updates.singer', mode);
    expect(r.code).toBe(0);
    expect(r.held.size).toBe(6);
    expect(r.held.get('su-3')).toMatchObject({ subject: 'string3', content: '103' });
    expect(r.held.get('su-6')).toMatchObject({ subject: 'string6', content: '106' });
    expect(r.states).toEqual([{ test_schema_updates: 6 }]);
  });

  it('record_missing_key_property: rejected naming the key', async () => {
    const r = await run('record_missing_key_property.singer', mode);
    expect(r.code).toBe(0);
    expect(r.rejects).toHaveLength(1);
    expect(r.rejects[0]!.reasons).toEqual(['key property "id" is missing from the record']);
    expect(r.held.size).toBe(0);
  });

  it('record_missing_required_property: rejected with validation on, delivered as mapped with it off', async () => {
    const on = await run('record_missing_required_property.singer', mode);
    expect(on.rejects).toHaveLength(1);
    expect((on.rejects[0]!.reasons as string[])[0]).toMatch(/field "id" is required/);
    expect(on.held.size).toBe(0);
    if (mode === 'sandbox') sandbox.reset();
    const off = await run('record_missing_required_property.singer', mode, { validate_records: false });
    expect(off.code).toBe(0);
    expect(off.rejects).toHaveLength(0);
    expect(off.held.get('rmr-3215')).toEqual({ externalId: 'rmr-3215' });
  });

  it.each(['record_missing_fields.singer', 'optional_attributes.singer'])('%s: delivered, absent optional fields omitted', async (file) => {
    const r = await run(file, mode);
    expect(r.code).toBe(0);
    const records = singerLines(file).filter((l) => l.type === 'RECORD');
    expect(r.held.size).toBe(records.length);
    for (const p of r.held.values()) {
      if ('subject' in p) expect(typeof p.subject).toBe('string');
    }
    const withoutOptional = [...r.held.values()].filter((p) => !('subject' in p));
    expect(withoutOptional.length).toBe(records.filter((rec) => rec.record!.optional === undefined).length);
  });

  it('multiple_state_messages: received states, in order, the last one always', async () => {
    const r = await run('multiple_state_messages.singer', mode);
    expect(r.code).toBe(0);
    const sent = singerLines('multiple_state_messages.singer').filter((l) => l.type === 'STATE').map((l) => l.value);
    // Coalescing may skip some, but every printed state was received, in order, and the last is printed.
    let at = -1;
    for (const s of r.states) {
      const i = sent.findIndex((v, k) => k > at && JSON.stringify(v) === JSON.stringify(s));
      expect(i).toBeGreaterThan(at);
      at = i;
    }
    expect(r.states.at(-1)).toEqual(sent.at(-1));
    expect(r.held.size).toBe(12);
  });

  it.each([
    ['duplicate_records.singer', { 'dup-1': 'metric 100', 'dup-2': 'metric 20' }],
    ['pk_updates.singer', { 'pk-1': 'Alice', 'pk-2': 'Bob' }],
    ['user_location_upsert_data.singer', { 'user-1': 'Johny', 'user-5': 'Jim', 'user-13': 'Mary', 'location-1': 'Philly', 'uil-14': 'cloudy / ok' }],
  ])('%s: the last write per externalId wins', async (file, expected) => {
    const r = await run(file, mode);
    expect(r.code).toBe(0);
    for (const [id, subject] of Object.entries(expected)) expect(r.held.get(id)?.subject).toBe(subject);
  });

  it.each(['encoded_string_data.singer', 'special_chars_in_attributes.singer', 'camelcase.singer', 'camelcase_complex_schema.singer'])(
    '%s: values arrive byte for byte',
    async (file) => {
      const r = await run(file, mode);
      expect(r.code).toBe(0);
      const records = singerLines(file).filter((l) => l.type === 'RECORD');
      expect(r.rejects).toEqual([]);
      for (const { record } of records) {
        const rec = record!;
        if (typeof rec.info === 'string') expect(r.held.get(`str-${String(rec.id)}`)!.subject).toBe(rec.info);
        if (typeof rec.info === 'object') expect(r.held.get(`stro-${String(rec.id)}`)!.content).toBe((rec.info as { value: string }).value);
        if (Array.isArray(rec.strings)) expect(r.held.get(`stra-${String(rec.id)}`)!.content).toBe((rec.strings as string[]).at(-1));
        if ('clientName' in rec) expect(r.held.get(`camel-${String(rec.Id)}`)!.subject).toBe(rec.clientName);
        if ('ForecastingItemCategory' in rec) expect(r.held.get(`ftc-${String(rec.Id)}`)!.subject).toBe(rec.ForecastingItemCategory);
        if ('_id' in rec) {
          const d = rec.d as Record<string, string>;
          expect(r.held.get(rec._id as string)).toEqual({
            externalId: rec._id,
            subject: d['agent:type'],
            content: d['agent:os:version'],
            engagementType: { name: d.env, activityType: 'CALL' },
          });
        }
      }
    },
  );

  it.each(['array_data.singer', 'no_primary_keys.singer', 'no_primary_keys_append.singer', 'user_location_data.singer'])(
    '%s: accepted; arrays and nested values reachable',
    async (file) => {
      const r = await run(file, mode);
      expect(r.code).toBe(0);
      expect(r.rejects).toEqual([]);
      const records = singerLines(file).filter((l) => l.type === 'RECORD');
      expect(r.held.size).toBe(new Set(records.map((x) => JSON.stringify(x.record!.id))).size + (file === 'user_location_data.singer' ? 6 : 0));
      if (file === 'array_data.singer') {
        expect(r.held.get('array-1')).toMatchObject({ subject: 'apple, orange, pear', account: { phoneNumbers: ['apple', 'orange', 'pear'] } });
      }
      if (file === 'user_location_data.singer') {
        expect(r.held.get('uil-1')).toEqual({
          externalId: 'uil-1',
          subject: 'rainy / sad',
          account: { externalId: 'location-1' },
          engagementUsers: [{ externalId: '1' }],
        });
      }
    },
  );
});
