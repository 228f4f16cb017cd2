import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot, runTargetCli, tempDir } from '../support/cli.js';
import { SDK_STREAM, batchLine, sdkRecordLine, sdkRow, sdkSchemaMessage, stateLine, writeBatchFile } from '../support/sdk-tap.js';
import { sampleCalls } from '../support/target-config.js';

/**
 * `target-siro init` on inputs shaped like real taps: the file it writes loads (`validate`), `preview` maps
 * every sampled record with no rejection, and the key, start time, subject/content and account are
 * mapped where the input has them. It writes only the files it reports, and never overwrites one.
 */

// The example mappings' fixtures, shaped as those taps build their output.
const fixture = (name: string) => join(repoRoot, 'test', 'fixtures', 'examples', name);

interface PreviewJson {
  records: { outcome: string; stream: string; payload?: Record<string, any>; reasons?: string[] }[];
  summary: { records: number; mapped: number; rejected: number; skipped: number };
}

/** init → validate → preview of the whole input with the written mapping(s). */
async function initAndPreview(input: string, args: string[] = []) {
  const dir = tempDir('target-siro-init-');
  const out = join(dir, 'mappings');
  const init = await runTargetCli(['init', '--input', input, '--out', out, ...args], { cwd: dir });
  expect(init.code, init.stderr).toBe(0);
  expect(init.stdout).toBe('');
  const env = { TARGET_SIRO_MAPPINGS: out };
  const validate = await runTargetCli(['validate'], { cwd: dir, env });
  expect(validate.code, validate.stderr).toBe(0);
  const preview = await runTargetCli(['preview', '--input', input, '--limit', '100000', '--format', 'json'], { cwd: dir, env });
  expect(preview.code, preview.stderr).toBe(0);
  const result = JSON.parse(preview.stdout) as PreviewJson;
  const rejected = result.records.filter((r) => r.outcome !== 'mapped');
  expect(rejected, JSON.stringify(rejected, null, 2)).toEqual([]);
  expect(result.summary.mapped).toBeGreaterThan(0);
  const file = (stream: string) => readFileSync(join(out, `${stream}.yml`), 'utf8');
  return { dir, out, report: init.stderr, payloads: result.records.map((r) => r.payload!), file };
}

/** The mapping of one stream as YAML data. */
function fieldsOf(text: string, stream: string): Record<string, any> {
  return (parse(text) as { streams: Record<string, { fields: Record<string, any> }> }).streams[stream]!.fields;
}

describe('target-siro init', () => {
  it('singer-io tap-postgres output (draft-04, ACTIVATE_VERSION, +00:00 times): every field the shipped mapping fills', async () => {
    const { payloads, file, report } = await initAndPreview(sampleCalls);
    expect(report).toMatch(/public-calls → engagement: \d+ fields; 8 of 8 sampled records map/);
    const text = file('public-calls');
    expect(text).toMatch(/^# Starter mapping for public-calls, written by `target-siro init`/);
    expect(text).toContain('npx target-siro preview --input');
    const fields = fieldsOf(text, 'public-calls');
    expect(fields.externalId).toEqual({ template: 'call-{{ id }}' });
    expect(fields.startTime).toEqual({ column: 'started_at', type: 'datetime' });
    expect(fields.startTimeLocalized).toEqual({ column: 'started_at', type: 'localdatetime', timezone: { column: 'timezone' } });
    expect(fields.direction.map).toMatchObject({ in: 'INBOUND', out: 'OUTBOUND' });
    expect(fields.account.externalId).toBe('account_id');
    expect(fields.account.addresses[0]).toMatchObject({ street: 'street', city: 'city', state: 'state', zip: 'zip' });
    expect(fields.engagementUsers[0]).toEqual({ externalId: 'rep_id', email: 'rep_email', name: 'rep_name' });
    expect(fields.opportunity.disposition.map).toEqual({ lost: 'LOST', open: 'OPEN', won: 'WON' });
    const first = payloads[0]!;
    expect(first.externalId).toMatch(/^call-\d+$/);
    expect(first.startTime).toMatch(/Z$/);
    expect(first.content).toEqual(expect.any(String));
    expect(first.account.externalId).toEqual(expect.any(String));
    // Every suggestion carries its reason.
    expect(text).toMatch(/startTime: .*# started_at \(date-time with offset, e\.g\. /);
  });

  it('a Meltano SDK tap (draft 2020-12, jsonb as JSON, text[]): naive-free instants, the zone column for startTimeLocalized', async () => {
    const dir = tempDir('target-siro-init-sdk-');
    const input = join(dir, 'sdk.singer');
    // RECORDs, then a BATCH whose file drops the offsets the RECORDs carry (as the SDK writes them).
    const batch = writeBatchFile(dir, 'batch-1', 31, 40, true);
    const lines = [
      JSON.stringify(sdkSchemaMessage()),
      ...Array.from({ length: 30 }, (_, i) => sdkRecordLine(sdkRow(i + 1), i % 2 ? '64100.00' : undefined)),
      batchLine([batch], true),
      stateLine({ bookmarks: {} }),
    ];
    writeFileSync(input, lines.join('\n') + '\n');
    const { payloads, file } = await initAndPreview(input);
    const fields = fieldsOf(file(SDK_STREAM), SDK_STREAM);
    expect(fields.externalId).toEqual({ template: 'appointment-{{ id }}' });
    expect(fields.subject).toBe('subject');
    expect(fields.content).toBe('notes');
    expect(fields.startTimeLocalized.timezone).toEqual({ column: 'timezone' });
    expect(fields.engagementType.activityType.map).toEqual({ visit: 'APPOINTMENT', meeting: 'MEETING' });
    expect(fields.account).toMatchObject({ externalId: 'account_id', name: 'account_name' });
    expect(fields.startTime).toEqual({ column: 'started_at', type: 'datetime' });
    expect(payloads).toHaveLength(40);
    expect(payloads[0]).toMatchObject({ externalId: 'appointment-1', subject: 'Visit 1', startTime: '2025-04-02T13:15:00.123Z', startTimeLocalized: '2025-04-02T06:15:00' });
    expect(payloads[34]).toMatchObject({ externalId: 'appointment-35', startTime: '2025-04-09T13:15:00.123Z' });
  });

  it('a HubSpot-meetings-like stream (MeltanoLabs tap-hubspot): properties.*, hs_timestamp where the start is empty, HTML bodies as text', async () => {
    const { payloads, file } = await initAndPreview(fixture('hubspot-meetings.singer'));
    const text = file('meetings');
    const fields = fieldsOf(text, 'meetings');
    expect(fields.externalId).toEqual({ template: 'meeting-{{ id }}' });
    expect(fields.subject).toBe('properties.hs_meeting_title');
    expect(fields.startTime.template).toBe('{{ properties.hs_meeting_start_time | default: properties.hs_timestamp }}');
    expect(fields.engagementUsers[0].externalId).toBe('properties.hubspot_owner_id');
    // Properties it did not use are listed, so the user sees what is left.
    expect(text).toMatch(/# properties: \d+ more keys \(.*hs_meeting_outcome/);
    const integration = payloads.find((p) => p.externalId === 'meeting-51299')!;
    expect(integration.startTime).toBe('2026-06-09T15:00:00.000Z');
    expect(integration.content).toBe('Customer asked: "Can we do Tuesday?" & it\'s <urgent>');
    expect(integration.content).not.toMatch(/<p>/);
    for (const p of payloads) expect(p.startTime).toMatch(/Z$/);
  });

  it('a Salesforce-Event-like stream (singer-io tap-salesforce): Id, Subject, StartDateTime, AccountId, OwnerId', async () => {
    const { payloads, file } = await initAndPreview(fixture('salesforce-event.singer'));
    const fields = fieldsOf(file('Event'), 'Event');
    expect(fields.externalId).toEqual({ template: 'event-{{ Id }}' });
    expect(fields.subject).toBe('Subject');
    expect(fields.content).toBe('Description');
    expect(fields.startTime.template).toBe('{{ StartDateTime | default: ActivityDateTime }}');
    expect(fields.endTime).toEqual({ column: 'EndDateTime', type: 'datetime' });
    expect(fields.account).toEqual({ externalId: 'AccountId' });
    expect(fields.engagementUsers).toEqual([{ externalId: 'OwnerId' }]);
    expect(fields.engagementType.activityType.map).toMatchObject({ Meeting: 'MEETING', Call: 'CALL' });
    expect(payloads.map((p) => p.startTime)).toEqual(payloads.map(() => expect.stringMatching(/^2026-05-0\dT.*Z$/)));
  });

  it('singer-io tap-hubspot engagements: epoch-millisecond starts with the engagement timestamp behind them, associations lists', async () => {
    const { payloads, file } = await initAndPreview(fixture('hubspot-engagements.singer'));
    const fields = fieldsOf(file('engagements'), 'engagements');
    expect(fields.startTime).toEqual({ template: '{{ metadata.startTime | default: engagement.timestamp }}', type: 'datetime' });
    expect(fields.account).toEqual({ externalId: 'associations.companyIds[0]' });
    expect(fields.opportunity).toEqual({ externalId: 'associations.dealIds[0]' });
    expect(fields.contact).toEqual({ externalId: 'associations.contactIds[0]' });
    const byId = Object.fromEntries(payloads.map((p) => [p.externalId, p]));
    expect(byId['engagement-7001']).toMatchObject({ startTime: '2026-06-02T16:00:00.000Z', account: { externalId: '9001' } }); // from 1780416000000
    expect(byId['engagement-7002']).toMatchObject({ startTime: '2026-06-03T15:00:00.123Z' }); // a call: no metadata.startTime
  });

  it('a catalog (tap-warehouse --discover): a timestamp-without-time-zone column gets its zone column, a deal table becomes opportunities', async () => {
    const dir = tempDir('target-siro-init-catalog-');
    const column = (name: string, type: unknown, sql: string) => ({ name, type, sql });
    const streams = [
      { name: 'crm-visits', key: ['visit_id'], columns: [
        column('visit_id', { type: ['integer'] }, 'bigint'),
        column('scheduled_for', { type: ['null', 'string'], format: 'date-time' }, 'timestamp without time zone'),
        column('customer_tz', { type: ['null', 'string'] }, 'text'),
        column('title', { type: ['null', 'string'] }, 'text'),
        column('customer_id', { type: ['null', 'string'] }, 'text'),
        column('customer_name', { type: ['null', 'string'] }, 'text'),
      ] },
      { name: 'crm-deals', key: ['id'], columns: [
        column('id', { type: ['integer'] }, 'bigint'),
        column('name', { type: ['null', 'string'] }, 'text'),
        column('amount', { type: ['null', 'number'] }, 'numeric'),
        column('close_date', { type: ['null', 'string'], format: 'date' }, 'date'),
      ] },
    ];
    const catalog = {
      streams: streams.map((s) => ({
        tap_stream_id: s.name,
        stream: s.name,
        key_properties: s.key,
        schema: { type: 'object', properties: Object.fromEntries(s.columns.map((c) => [c.name, c.type])) },
        metadata: [
          { breadcrumb: [], metadata: { 'table-key-properties': s.key, selected: true } },
          ...s.columns.map((c) => ({ breadcrumb: ['properties', c.name], metadata: { 'sql-datatype': c.sql } })),
        ],
      })),
    };
    writeFileSync(join(dir, 'catalog.json'), JSON.stringify(catalog));
    const r = await runTargetCli(['init', '--catalog', 'catalog.json', '--out', 'suggested.yml'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('crm-visits → engagement');
    expect(r.stderr).toContain('crm-deals → opportunity');
    const text = readFileSync(join(dir, 'suggested.yml'), 'utf8');
    const visits = fieldsOf(text, 'crm-visits');
    // The SQL type says wall-clock time; the IANA-named column is found by name (no records to sample).
    expect(visits.startTime).toEqual({ column: 'scheduled_for', type: 'datetime', timezone: { column: 'customer_tz' }, offset: 'ignore' });
    expect(visits.account).toMatchObject({ externalId: 'customer_id', name: 'customer_name' });
    expect(visits.engagementType.activityType).toEqual({ value: 'APPOINTMENT' });
    const deals = fieldsOf(text, 'crm-deals');
    expect(deals).toMatchObject({ externalId: { template: 'deal-{{ id }}' }, name: 'name', amount: { column: 'amount', type: 'number' } });
    expect(deals.closedAt.column).toBe('close_date');
    const validate = await runTargetCli(['validate'], { cwd: dir, env: { TARGET_SIRO_MAPPINGS: 'suggested.yml' } });
    expect(validate.code, validate.stderr).toBe(0);
  });

  it('records and a catalog together: a `timestamp without time zone` column labelled +00:00 is read as wall-clock time in its zone', async () => {
    const dir = tempDir('target-siro-init-wallclock-');
    const schema = { type: 'object', properties: {
      id: { type: ['integer'] }, title: { type: ['null', 'string'] }, tz: { type: ['null', 'string'] },
      starts_at: { type: ['null', 'string'], format: 'date-time' }, updated_at: { type: ['string'], format: 'date-time' },
    } };
    const sql: Record<string, string> = { id: 'bigint', title: 'text', tz: 'text', starts_at: 'timestamp without time zone', updated_at: 'timestamp with time zone' };
    const catalog = { streams: [{ tap_stream_id: 'public-visits', stream: 'public-visits', key_properties: ['id'], schema, metadata: [
      { breadcrumb: [], metadata: { 'table-key-properties': ['id'] } },
      ...Object.entries(sql).map(([c, t]) => ({ breadcrumb: ['properties', c], metadata: { 'sql-datatype': t } })),
    ] }] };
    writeFileSync(join(dir, 'catalog.json'), JSON.stringify(catalog));
    // As tap-postgres writes them: the Phoenix wall clock 13:00 labelled +00:00, either side of a DST change elsewhere.
    const rows = [
      { id: 1, title: 'Roof check', tz: 'America/Phoenix', starts_at: '2026-03-08T13:00:00.000000+00:00', updated_at: '2026-03-01T10:00:00.000000+00:00' },
      { id: 2, title: 'Install', tz: 'America/New_York', starts_at: '2026-03-07T09:00:00.000000+00:00', updated_at: '2026-03-01T10:00:00.000000+00:00' },
      { id: 3, title: 'Follow-up', tz: 'America/New_York', starts_at: '2026-03-09T09:00:00.000000+00:00', updated_at: '2026-03-01T10:00:00.000000+00:00' },
    ];
    const input = join(dir, 'visits.singer');
    writeFileSync(input, [{ type: 'SCHEMA', stream: 'public-visits', schema, key_properties: ['id'] }, ...rows.map((record) => ({ type: 'RECORD', stream: 'public-visits', record }))].map((m) => JSON.stringify(m)).join('\n') + '\n');
    const r = await runTargetCli(['init', '--catalog', 'catalog.json', '--input', input, '--out', 'mappings'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(dir, 'mappings', 'public-visits.yml'), 'utf8');
    const fields = fieldsOf(text, 'public-visits');
    expect(fields.startTime).toEqual({ column: 'starts_at', type: 'datetime', timezone: { column: 'tz' }, offset: 'ignore' });
    expect(fields.startTimeLocalized).toEqual({ column: 'starts_at', type: 'localdatetime', timezone: { column: 'tz' }, offset: 'ignore' });
    expect(fields.remoteUpdatedAt).toEqual({ column: 'updated_at', type: 'datetime' });
    expect(text).toContain('starts_at (timestamp without time zone, e.g. 2026-03-08T13:00:00.000000+00:00); wall-clock times the tap labels +00:00: read in the zone of tz');
    const preview = await runTargetCli(['preview', '--input', input, '--format', 'json'], { cwd: dir });
    expect(preview.code, preview.stderr).toBe(0);
    const payloads = (JSON.parse(preview.stdout) as PreviewJson).records.map((x) => x.payload!);
    expect(payloads.map((p) => [p.startTime, p.startTimeLocalized])).toEqual([
      ['2026-03-08T20:00:00.000Z', '2026-03-08T13:00:00'],
      ['2026-03-07T14:00:00.000Z', '2026-03-07T09:00:00'],
      ['2026-03-09T13:00:00.000Z', '2026-03-09T09:00:00'],
    ]);
  });

  it('a JSON column of attendees becomes engagementUsers with each; hostile values stay inside comments', async () => {
    const dir = tempDir('target-siro-init-each-');
    const input = join(dir, 'in.singer');
    // Column names holding the path syntax's characters (a dot, brackets, quotes) are quoted, never walked into.
    const schema = { type: 'SCHEMA', stream: 'meetings', key_properties: ['meeting.id'], schema: { type: 'object', properties: {
      'meeting.id': { type: 'string' }, topic: { type: ['null', 'string'] }, 'starts_at': { type: ['null', 'string'], format: 'date-time' },
      attendees: { type: ['null', 'string'] }, '[notes]': { type: ['null', 'string'] }, 'meta': { type: ['null', 'object'], properties: { '[title]': { type: ['null', 'string'] } } },
    } } };
    const rows = [
      { 'meeting.id': 'm1', topic: 'Kickoff\nstreams: {}\n# evil', starts_at: '2026-01-05T10:00:00Z', '[notes]': 'first "quoted" note', meta: { '[title]': 'Kickoff call' }, attendees: JSON.stringify([{ id: 7, email: 'a@x.test', name: 'Ann' }, { id: 8, email: 'b@x.test', name: 'Bo' }]) },
      { 'meeting.id': 'm2', topic: 'Review', starts_at: '2026-01-06T10:00:00Z', '[notes]': null, meta: null, attendees: null },
    ];
    writeFileSync(input, [schema, ...rows.map((record) => ({ type: 'RECORD', stream: 'meetings', record }))].map((m) => JSON.stringify(m)).join('\n') + '\n');
    const { payloads, file } = await initAndPreview(input);
    const fields = fieldsOf(file('meetings'), 'meetings');
    expect(Object.keys((parse(file('meetings')) as { streams: object }).streams)).toEqual(['meetings']);
    expect(fields.engagementUsers).toEqual({ each: 'attendees', fields: { externalId: 'id', email: 'email', name: 'name' } });
    expect(fields.externalId).toBe('["meeting.id"]');
    expect(fields.content).toBe('["[notes]"]');
    expect(fields.subject).toBe('meta["[title]"]');
    expect(payloads.map((p) => [p.externalId, p.subject, p.content])).toEqual([['m1', 'Kickoff call', 'first "quoted" note'], ['m2', null, null]]);
    expect(payloads[0]!.engagementUsers).toEqual([
      { externalId: '7', email: 'a@x.test', name: 'Ann' },
      { externalId: '8', email: 'b@x.test', name: 'Bo' },
    ]);
  });

  it('never overwrites a mapping without --force, names the stream it cannot find, and writes nothing on error', async () => {
    const dir = tempDir('target-siro-init-safe-');
    const first = await runTargetCli(['init', '--input', sampleCalls], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    const written = join(dir, 'mappings', 'public-calls.yml');
    expect(first.stderr).toContain('wrote mappings/public-calls.yml');
    writeFileSync(written, '# mine\n');
    const again = await runTargetCli(['init', '--input', sampleCalls], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/mappings\/public-calls\.yml already exists: init never overwrites a mapping; use --force/);
    expect(readFileSync(written, 'utf8')).toBe('# mine\n');
    const forced = await runTargetCli(['init', '--input', sampleCalls, '--force'], { cwd: dir });
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(written, 'utf8')).toMatch(/^# Starter mapping/);

    const typo = await runTargetCli(['init', '--input', sampleCalls, '--stream', 'public-call', '--out', 'other'], { cwd: dir });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/--stream public-call: the input has no such stream \(did you mean `public-calls`\?\)/);
    expect(existsSync(join(dir, 'other'))).toBe(false);

    // A stream another file of the folder already maps would fail every run: refused, naming that file.
    writeFileSync(join(dir, 'mappings', 'calls.yml'), 'version: 1\nstreams:\n  public-calls:\n    object: engagement\n    fields: { externalId: id }\n');
    const taken = await runTargetCli(['init', '--input', sampleCalls, '--force'], { cwd: dir });
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/mappings\/calls\.yml already maps public-calls: a stream may be mapped in one file only/);

    const noSchema = await runTargetCli(['init', '--out', 'other'], { cwd: dir, input: '{"type":"STATE","value":{}}\n' });
    expect(noSchema.code).toBe(3);
    expect(noSchema.stderr).toContain('no stream to map: the input has no SCHEMA message');
    expect(existsSync(join(dir, 'other'))).toBe(false);
  });
  it('holds up on what breaks naive generators: same-named tables, clashing file names, odd key names, line breaks in codes, a few bad values', async () => {
    const dir = tempDir('target-siro-init-hostile-');
    const schema = (stream: string, props: Record<string, unknown>, keys: string[]) => ({ type: 'SCHEMA', stream, key_properties: keys, schema: { type: 'object', properties: props } });
    const rec = (stream: string, record: Record<string, unknown>) => ({ type: 'RECORD', stream, record });
    const calls = { id: { type: 'integer' }, started_at: { type: ['null', 'string'], format: 'date-time' }, kind: { type: ['null', 'string'] } };
    const starts = Array.from({ length: 40 }, (_, i) => `2026-02-${String(1 + (i % 27)).padStart(2, '0')}T10:00:00Z`);
    starts[7] = '2026-02-30T10:00:00Z'; // one impossible date among forty
    const messages = [
      schema('public-calls', calls, ['id']),
      ...starts.map((started_at, i) => rec('public-calls', { id: i + 1, started_at, kind: i % 2 ? 'Phone\ncall' : 'visit' })),
      schema('archive-calls', calls, ['id']),
      rec('archive-calls', { id: 1, started_at: '2026-01-01T10:00:00Z', kind: 'visit' }),
      schema('crm/sheet', { 'Row ID': { type: 'string' }, title: { type: 'string' } }, ['Row ID']),
      rec('crm/sheet', { 'Row ID': 'r-1', title: 'First' }),
      schema('crm sheet', { id: { type: 'string' } }, ['id']),
      rec('crm sheet', { id: 'x' }),
    ];
    const input = join(dir, 'in.singer');
    writeFileSync(input, messages.map((m) => JSON.stringify(m)).join('\n') + '\n');
    const r = await runTargetCli(['init', '--input', input, '--stream', 'public-calls', 'archive-calls', 'crm/sheet', 'crm sheet', 'public-calls'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const read = (name: string) => readFileSync(join(dir, 'mappings', name), 'utf8');
    // Tables of the same name in two schemas: each stream's whole name in front of its ids.
    expect(fieldsOf(read('public-calls.yml'), 'public-calls').externalId).toEqual({ template: 'public-calls-{{ id }}' });
    expect(fieldsOf(read('archive-calls.yml'), 'archive-calls').externalId).toEqual({ template: 'archive-calls-{{ id }}' });
    // Two stream names that make one file name: two files.
    expect(fieldsOf(read('crm_sheet.yml'), 'crm/sheet').externalId).toBe('["Row ID"]');
    expect(fieldsOf(read('crm_sheet-2.yml'), 'crm sheet').externalId).toEqual({ template: 'crm-sheet-{{ id }}' });
    // A code with a line break stays one quoted map key; one bad date keeps the field and is named.
    const text = read('public-calls.yml');
    const publicCalls = fieldsOf(text, 'public-calls');
    expect(Object.keys(publicCalls.engagementType.activityType.map)).toEqual(['Phone\ncall', 'visit']);
    expect(publicCalls.startTime).toEqual({ column: 'started_at', type: 'datetime' });
    expect(text).toMatch(/# startTime rejects 1 of 40 sampled rows \(e\.g\. value "2026-02-30T10:00:00Z" of column "started_at" is not a datetime/);
    expect(r.stderr).toMatch(/public-calls → engagement: \d+ fields; 39 of 40 sampled records map/);
    const validate = await runTargetCli(['validate'], { cwd: dir, env: { TARGET_SIRO_MAPPINGS: 'mappings' } });
    expect(validate.code, validate.stderr).toBe(0);

    const folder = await runTargetCli(['init', '--input', dir, '--out', 'x'], { cwd: dir });
    expect(folder.code).toBe(2);
    expect(folder.stderr).toMatch(/--input .* is a folder/);
  });
});
