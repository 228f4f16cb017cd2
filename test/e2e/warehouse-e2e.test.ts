import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadMappings } from '../../connector/mapping/index.js';
import { DEFAULT_SANDBOX_TOKEN, startSandbox, type Sandbox } from '../../connector/sandbox/server.js';
import { parseExact, stringifyExact } from '../../connector/singer/exact-json.js';
import { childEnv, runPipeline, tapBin, type PipelineOptions, type PipelineResult } from '../../demo/pipeline.js';
import { generateSample, type SampleSize } from '../../demo/sample-data.js';
import { changeSampleWarehouse, countRows, idsAtBookmark, loadSampleWarehouse, type WarehouseSchemas } from '../../demo/sample-warehouse.js';
import { writeCounts, writtenBetween } from '../../demo/sandbox-readback.js';
import { runTotals } from '../../demo/show.js';
import { startPostgres } from '../support/postgres.js';
import { repoRoot, startCli, tempDir, writeJson } from '../support/cli.js';
import { targetConfig } from '../support/target-config.js';

/**
 * End to end against a real Postgres and the sandbox: the built tap-warehouse and target-siro run as two
 * child processes piped together (demo/pipeline.ts), the way cron runs `tap | target`. What Siro ends up
 * holding is compared in full with what the mapping makes of the warehouse rows.
 */

const DEFAULT_MAPPING = join(repoRoot, 'mappings', 'default.yml');
const SMALL: SampleSize = { reps: 6, accounts: 60, opportunities: 80, calls: 400, appointments: 200 };

let db: pg.Client;
let stopPostgres: () => Promise<void>;
let databaseUrl: string;
let sandbox: Sandbox;

beforeAll(async () => {
  const postgres = await startPostgres();
  databaseUrl = postgres.url;
  stopPostgres = () => postgres.stop();
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  sandbox = await startSandbox();
});

afterAll(async () => {
  await sandbox?.close();
  await db?.end();
  await stopPostgres?.();
});

beforeEach(() => {
  sandbox.reset();
  sandbox.setFaults({});
});

interface Workspace {
  dir: string;
  tapConfig: string;
  targetConfig: string;
  stateFile: string;
}

/** A temp folder with tap.json, config.json and an empty state file (the documented cron layout). */
function workspace(tap: Record<string, unknown>, settings: Record<string, unknown> = {}): Workspace {
  const dir = tempDir('warehouse-e2e-');
  mkdirSync(join(dir, 'state'));
  const tapConfig = writeJson(join(dir, 'tap.json'), { connection: databaseUrl, ...tap });
  // The target's files (state, rejects, ledger, reports) in state/, its config.json next to tap.json.
  const target = targetConfig(
    { api_token: DEFAULT_SANDBOX_TOKEN.token, base_url: sandbox.url, mappings: DEFAULT_MAPPING, ...settings },
    { dir: join(dir, 'state'), file: join(dir, 'config.json'), stateFile: true, logLevel: 'info' },
  );
  writeFileSync(target.stateFile, '');
  return { dir, tapConfig, targetConfig: target.config, stateFile: target.stateFile };
}

function viewStreams(views: string, method: 'INCREMENTAL' | 'FULL_TABLE' = 'INCREMENTAL'): Record<string, unknown>[] {
  return ['calls', 'appointments'].map((table) =>
    method === 'INCREMENTAL'
      ? { table, schema: views, key_properties: ['id'], replication_key: 'updated_at' }
      : { table, schema: views, key_properties: ['id'], replication_method: 'FULL_TABLE' },
  );
}

/** `tap-warehouse --config tap.json --state state.json | target-siro --config config.json` */
async function pipe(ws: Workspace, extra: Partial<PipelineOptions> = {}): Promise<PipelineResult> {
  return runPipeline({
    tapArgs: ['--config', ws.tapConfig, '--state', ws.stateFile],
    targetArgs: ['--config', ws.targetConfig],
    cwd: ws.dir,
    env: childEnv(),
    timeoutMs: 45_000,
    ...extra,
  });
}

function expectSuccess(result: PipelineResult): void {
  if (result.tap.code !== 0 || result.target.code !== 0) {
    throw new Error(`pipeline failed: tap ${result.tap.code} target ${result.target.code}\n${result.tap.stderr}\n${result.target.stderr}`);
  }
}

/** The records a full read of the tap emits (no state), parsed with exact integers. */
async function tapRecords(ws: Workspace): Promise<{ stream: string; record: Record<string, unknown> }[]> {
  const { done } = startCli(tapBin, ['--config', ws.tapConfig], { timeoutMs: 30_000 });
  const result = await done;
  expect(result.code, result.stderr).toBe(0);
  return result.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => parseExact(l) as { type: string; stream: string; record: Record<string, unknown> })
    .filter((m) => m.type === 'RECORD');
}

/** As JSON carries it to Siro (and as the sandbox stores it). */
function asSent(value: unknown): unknown {
  return JSON.parse(stringifyExact(value));
}

/** What Siro should hold: every record of a full tap read through the mapping, last write per externalId. */
async function expectedEngagements(ws: Workspace, mappingPath = DEFAULT_MAPPING): Promise<Record<string, unknown>> {
  const mappings = loadMappings(mappingPath);
  const expected: Record<string, unknown> = {};
  const refused: string[] = [];
  for (const { stream, record } of await tapRecords(ws)) {
    const result = mappings.forStream(stream)!.map(record);
    if (result.ok) expected[result.externalId] = asSent(result.payload);
    else refused.push(`${stream} ${String(record.id)}: ${result.reasons.join('; ')}`);
  }
  // The sample data is meant to be valid throughout; a refusal here is a mapping or data regression.
  expect(refused).toEqual([]);
  return expected;
}

function heldEngagements(): Record<string, unknown> {
  return Object.fromEntries(sandbox.engagements().map((r) => [r.externalId, r.body]));
}

async function sample(schemas: WarehouseSchemas, size: SampleSize, seed: number) {
  const data = generateSample(seed, size);
  await loadSampleWarehouse(db, data, schemas);
  return data;
}

function bookmarkOf(stateFile: string, stream: string): string {
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { bookmarks: Record<string, { replication_key_value?: string }> };
  const value = state.bookmarks[stream]?.replication_key_value;
  if (typeof value !== 'string') throw new Error(`no bookmark for ${stream} in ${readFileSync(stateFile, 'utf8')}`);
  return value;
}

describe('tap-warehouse | target-siro against Postgres and the sandbox', () => {
  it('delivers the warehouse as the mapping says, then only the changed rows in the next run', async () => {
    const schemas = { views: 'wh_a', raw: 'wh_a_raw' };
    const data = await sample(schemas, SMALL, 7);
    const ws = workspace({ streams: viewStreams('wh_a') });
    const rows = await countRows(db, schemas);

    const run1 = await pipe(ws);
    expectSuccess(run1);
    const expected1 = await expectedEngagements(ws);
    expect(Object.keys(expected1)).toHaveLength(rows.calls + rows.appointments);
    expect(heldEngagements()).toEqual(expected1);
    const afterRun1 = writeCounts(sandbox.engagements());
    // The rows at run 1's bookmarks, read again by the next run (Singer convention: `updated_at >= bookmark`).
    const rereadable = new Set([
      ...(await idsAtBookmark(db, 'calls', bookmarkOf(ws.stateFile, 'wh_a-calls'), schemas)),
      ...(await idsAtBookmark(db, 'appointments', bookmarkOf(ws.stateFile, 'wh_a-appointments'), schemas)),
    ]);
    expect(rereadable.size).toBe(2);

    const changes = await changeSampleWarehouse(db, data, schemas);
    const changed = new Set(changes.flatMap((c) => c.ids));
    expect(changed.size).toBeGreaterThan(8);
    const run2 = await pipe(ws);
    expectSuccess(run2);

    // Run 2 reads the changed rows and the bookmark rows, and sends exactly the changed ones: the ledger
    // knows Siro already holds the bookmark rows' payloads.
    const written = writtenBetween(afterRun1, writeCounts(sandbox.engagements()));
    expect([...written].sort()).toEqual([...changed].sort());
    expect(runTotals(run2.target.stderr)).toMatchObject({ read: changed.size + rereadable.size, delivered: changed.size, unchanged: rereadable.size });

    // And Siro now holds exactly what a full read of the changed warehouse maps to.
    expect(heldEngagements()).toEqual(await expectedEngagements(ws));
    const deleted = changes.find((c) => c.what.includes('deleted'))!.ids[0]!;
    expect((heldEngagements()[deleted] as { deletedAt: unknown }).deletedAt).toBe('2026-04-01T15:00:09.000Z');
  });

  it('a run resumed from the state of an interrupted run re-sends nothing Siro acknowledged, except the bookmark row', async () => {
    const schemas = { views: 'wh_b', raw: 'wh_b_raw' };
    await sample(schemas, { ...SMALL, calls: 1500, appointments: 300 }, 11);
    // No ledger: this checks the Singer state alone (with a ledger, the bookmark row is not even re-sent).
    // Small batches, one at a time, behind a slow Siro: the tap is still reading when it is stopped.
    const ws = workspace({ streams: viewStreams('wh_b'), state_every_rows: 50 }, { ledger: false, batch_size: 10, max_concurrency: 1, rate_limit_per_minute: 100_000 });
    sandbox.setFaults({ latencyMs: 15, rateLimitPerMinute: 0 });
    const total = await countRows(db, schemas);

    let records = 0;
    const run1 = await pipe(ws, {
      onTapLine: (line, tap) => {
        if (line.startsWith('{"type":"RECORD"') && ++records === 200) tap.kill('SIGTERM');
      },
    });
    expect(run1.tap.code, run1.tap.stderr).toBe(130); // interrupted: stopped after the current row, resumable state
    expect(run1.target.code, run1.target.stderr).toBe(0);
    const w1 = writeCounts(sandbox.engagements());
    expect(w1.size).toBeGreaterThanOrEqual(200);
    expect(w1.size).toBeLessThan(total.calls); // the calls stream was cut short; appointments never started
    expect([...w1.values()].every((n) => n === 1)).toBe(true);
    const bookmarkIds = await idsAtBookmark(db, 'calls', bookmarkOf(ws.stateFile, 'wh_b-calls'), schemas);
    expect(bookmarkIds).toHaveLength(1);
    expect(w1.has(bookmarkIds[0]!)).toBe(true);

    sandbox.setFaults({ rateLimitPerMinute: 0 });
    const run2 = await pipe(ws);
    expectSuccess(run2);
    const w2 = writeCounts(sandbox.engagements());
    expect(w2.size).toBe(total.calls + total.appointments);
    // Every row written once in all, except the bookmark row: acknowledged in run 1 and read again.
    const writtenTwice = [...w2].filter(([, n]) => n !== 1);
    expect(writtenTwice).toEqual([[bookmarkIds[0], 2]]);
    expect(heldEngagements()).toEqual(await expectedEngagements(ws));
  });

  it('full-table streams go through with ACTIVATE_VERSION, run after run', async () => {
    const schemas = { views: 'wh_c', raw: 'wh_c_raw' };
    await sample(schemas, { reps: 3, accounts: 20, opportunities: 20, calls: 60, appointments: 30 }, 3);
    const ws = workspace({ streams: viewStreams('wh_c', 'FULL_TABLE') });

    const runAndWatch = async () => {
      const activations: { stream: string; version: number }[] = [];
      let versioned = 0;
      const result = await pipe(ws, {
        onTapLine: (line) => {
          if (line.startsWith('{"type":"ACTIVATE_VERSION"')) activations.push(JSON.parse(line) as { stream: string; version: number });
          else if (line.startsWith('{"type":"RECORD"') && /"version":\d+/.test(line)) versioned++;
        },
      });
      expectSuccess(result);
      return { result, activations, versioned };
    };

    const first = await runAndWatch();
    const v1 = first.activations.find((a) => a.stream === 'wh_c-calls')!.version;
    expect(first.activations.map((a) => a.stream)).toEqual(['wh_c-calls', 'wh_c-calls', 'wh_c-appointments', 'wh_c-appointments']);
    expect(first.versioned).toBe(90);
    const state1 = JSON.parse(readFileSync(ws.stateFile, 'utf8')) as { bookmarks: Record<string, { version: number }> };
    expect(state1.bookmarks['wh_c-calls']!.version).toBe(v1);
    expect(heldEngagements()).toEqual(await expectedEngagements(ws));

    const second = await runAndWatch();
    const v2 = second.activations.find((a) => a.stream === 'wh_c-calls')!.version;
    expect(v2).toBeGreaterThan(v1);
    const state2 = JSON.parse(readFileSync(ws.stateFile, 'utf8')) as { bookmarks: Record<string, { version: number }> };
    expect(state2.bookmarks['wh_c-calls']!.version).toBe(v2);
    // The whole table is read again under the new version; the ledger sends none of the unchanged rows.
    expect(runTotals(second.result.target.stderr)).toMatchObject({ read: 90, delivered: 0, unchanged: 90, rejected: 0 });
    expect([...writeCounts(sandbox.engagements()).values()].every((n) => n === 1)).toBe(true);
    expect(heldEngagements()).toEqual(await expectedEngagements(ws));
  });

  it('keeps bigint ids, numeric amounts, time zones and big integers inside jsonb exact, end to end', async () => {
    await db.query(`
      CREATE SCHEMA exact;
      CREATE TABLE exact.visits (
        id bigint PRIMARY KEY, started_at timestamptz NOT NULL, tz text, amount numeric(14,2), deal_id numeric(20,0),
        payload jsonb, updated_at timestamptz NOT NULL);
      INSERT INTO exact.visits VALUES
        (9223372036854775807, '2026-03-08 01:30:00-08', 'America/Los_Angeles', 1234567.89, 18446744073709551617,
         '{"crm": {"owner": {"id": 123456789012345678901, "email": "ana@example.com"}, "stage": "won"}}', '2026-03-09 00:00:01+00'),
        (9007199254740993, '2026-03-08 10:30:00+00', 'America/New_York', 0.10, NULL,
         '{"crm": {"owner": {"id": 9007199254740993}}}', '2026-03-09 00:00:02+00'),
        (42, '2026-11-01 06:59:59.999+00', 'America/Chicago', 999999999999.99, 7, '{"crm": {}}', '2026-03-09 00:00:03+00'),
        (1, '2026-01-01 00:00:00+00', NULL, NULL, 5, NULL, '2026-03-09 00:00:04+00');`);
    const ws = workspace({ streams: [{ table: 'visits', schema: 'exact', key_properties: ['id'], replication_key: 'updated_at' }] });
    const mapping = join(ws.dir, 'visits.yml');
    writeFileSync(
      mapping,
      [
        'version: 1',
        'streams:',
        '  exact-visits:',
        '    object: engagement',
        '    fields:',
        '      externalId: id',
        '      startTime: { column: started_at, type: datetime }',
        '      startTimeLocalized: { column: started_at, type: localdatetime, timezone: { column: tz } }',
        '      engagementUsers:',
        '        - externalId: payload.crm.owner.id',
        '          email: payload.crm.owner.email',
        '      opportunity:',
        '        externalId: deal_id',
        '        amount: { column: amount, type: number }',
        '',
      ].join('\n'),
    );
    writeJson(ws.targetConfig, { ...(JSON.parse(readFileSync(ws.targetConfig, 'utf8')) as object), mappings: mapping });

    const tapLines: string[] = [];
    const result = await pipe(ws, { onTapLine: (line) => tapLines.push(line) });
    expectSuccess(result);
    // On the wire between the two programs, the integers are bare and complete.
    const wire = tapLines.join('\n');
    expect(wire).toContain('"id":9223372036854775807');
    expect(wire).toContain('"deal_id":18446744073709551617');
    expect(wire).toMatch(/"id":\s*123456789012345678901\b/); // jsonb text as Postgres prints it

    expect(heldEngagements()).toEqual({
      '9223372036854775807': {
        externalId: '9223372036854775807',
        startTime: '2026-03-08T09:30:00.000Z',
        startTimeLocalized: '2026-03-08T01:30:00', // still PST: the clocks change at 02:00 that night
        engagementUsers: [{ externalId: '123456789012345678901', email: 'ana@example.com' }],
        opportunity: { externalId: '18446744073709551617', amount: 1234567.89 },
      },
      '9007199254740993': {
        externalId: '9007199254740993',
        startTime: '2026-03-08T10:30:00.000Z',
        startTimeLocalized: '2026-03-08T06:30:00', // EDT (UTC-4) since 07:00 UTC that day
        engagementUsers: [{ externalId: '9007199254740993' }],
        // no deal id: the opportunity is left out, although an amount is there
      },
      '42': {
        externalId: '42',
        startTime: '2026-11-01T06:59:59.999Z',
        startTimeLocalized: '2026-11-01T01:59:59', // the last CDT second before the clocks go back
        opportunity: { externalId: '7', amount: 999999999999.99 },
      },
      '1': {
        externalId: '1',
        startTime: '2026-01-01T00:00:00.000Z',
        startTimeLocalized: '2026-01-01T00:00:00', // no time zone: UTC
        opportunity: { externalId: '5' },
      },
    });
  });
});
