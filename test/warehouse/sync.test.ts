import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarehouse, type WarehouseConnection } from '../../connector/warehouse/dialect.js';
import { discoverStreams } from '../../connector/warehouse/discovery.js';
import { SingerWriter } from '../../connector/warehouse/singer-writer.js';
import { emptyState } from '../../connector/warehouse/state.js';
import { runSync } from '../../connector/warehouse/sync.js';
import { startPostgres } from '../support/postgres.js';
import { runTap, runTapWith, settingsFor, silentLog } from './tap-harness.js';

let db: { url: string; stop(): Promise<void> };
let sql: pg.Client;
let warehouse: WarehouseConnection;

beforeAll(async () => {
  db = await startPostgres();
  sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  await sql.query(`
    CREATE TABLE calls (
      id bigint PRIMARY KEY,
      updated_at timestamptz NOT NULL,
      amount numeric(12, 2),
      note text
    );
    INSERT INTO calls VALUES
      (1, '2026-03-01 10:00:00.000001+00', 10.50, 'first'),
      (2, '2026-03-02 10:00:00.25+00', 20.00, 'second'),
      (3, '2026-03-03 10:00:00+00', NULL, NULL),
      (4, '2026-03-03 10:00:00+00', 40.10, 'same time as 3'),
      (5, '2026-03-04 14:00:00.123456+00', 50.00, 'fifth');

    CREATE TABLE exact (
      id int8 PRIMARY KEY,
      big numeric(20, 0),
      amount numeric,
      at timestamptz,
      at_local timestamp,
      day date,
      doc jsonb,
      tags text[]
    );
    INSERT INTO exact VALUES
      (9223372036854775806, 12345678901234567889, 12345678901234567.123456788, '2026-03-04 13:59:59.999999+00', '2026-03-04 13:59:59', '2026-03-03', '{"n": 1}', '{}'),
      (9223372036854775807, 12345678901234567890, 12345678901234567.123456789, '2026-03-04 14:00:00.123456+00', '2026-03-04 14:00:00.5', '2026-03-04',
       '{"big": 123456789012345678901234567890, "dec": 0.1000000000000000055511151231257827, "list": [1, "x"]}', '{"a,b","c"}');

    CREATE TABLE lots AS SELECT g AS id, repeat('x', 200) AS filler FROM generate_series(1, 30000) g;
  `);
  warehouse = await openWarehouse('postgres', { connection: db.url, log: silentLog });
});

afterAll(async () => {
  await warehouse?.close();
  await sql?.end();
  await db?.stop();
});

const callsIncremental = { table: 'calls', key_properties: ['id'], replication_key: 'updated_at' };

describe('INCREMENTAL streams', () => {
  it('sends rows in replication-key order with bookmark states', async () => {
    const out = await runTapWith(warehouse, settingsFor(db.url, [callsIncremental], { TAP_WAREHOUSE_STATE_EVERY_ROWS: '2' }));
    expect(out.messages[0]).toMatchObject({
      type: 'SCHEMA',
      stream: 'public-calls',
      key_properties: ['id'],
      bookmark_properties: ['updated_at'],
    });
    expect(out.records().map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
    expect(out.records()[0]).toEqual({ id: 1, updated_at: '2026-03-01T10:00:00.000001+00:00', amount: 10.5, note: 'first' });
    expect(out.lines[1]).toContain('"amount":10.50,');
    expect(out.messages.map((m) => m.type)).toEqual(['SCHEMA', 'RECORD', 'RECORD', 'STATE', 'RECORD', 'RECORD', 'STATE', 'RECORD', 'STATE', 'STATE']);
    const bookmarks = out.states().map((s) => s.bookmarks['public-calls']?.replication_key_value);
    expect(bookmarks).toEqual([
      '2026-03-02T10:00:00.250000+00:00',
      '2026-03-03T10:00:00.000000+00:00',
      '2026-03-04T14:00:00.123456+00:00',
      '2026-03-04T14:00:00.123456+00:00',
    ]);
    expect(out.states()[0]).toEqual({
      bookmarks: { 'public-calls': { replication_key: 'updated_at', replication_key_value: '2026-03-02T10:00:00.250000+00:00' } },
      currently_syncing: 'public-calls',
    });
    expect(out.lastState().currently_syncing).toBeNull();
  });

  it('resumes from a state: re-sends the bookmark rows and everything after, nothing before', async () => {
    const settings = settingsFor(db.url, [callsIncremental], { TAP_WAREHOUSE_STATE_EVERY_ROWS: '2' });
    const first = await runTapWith(warehouse, settings);
    // The state after the second STATE (rows 3 and 4 share the bookmark value) as a target would print it.
    const midway = JSON.stringify(first.states()[1]);
    const resumed = await runTapWith(warehouse, settings, midway);
    expect(resumed.records().map((r) => r.id)).toEqual([3, 4, 5]);

    await sql.query(`INSERT INTO calls VALUES (6, '2026-03-05 00:00:00+00', 60, 'new'), (7, '2026-01-01 00:00:00+00', 70, 'late, older key')`);
    try {
      const next = await runTapWith(warehouse, settings, JSON.stringify({ singer_state: first.lastState() }));
      expect(next.records().map((r) => r.id)).toEqual([5, 6]);
      expect(next.lastState().bookmarks['public-calls'].replication_key_value).toBe('2026-03-05T00:00:00.000000+00:00');
    } finally {
      await sql.query('DELETE FROM calls WHERE id IN (6, 7)');
    }
  });

  it('keeps exact bookmarks: int8 and numeric keys resume at the very row', async () => {
    for (const [key, expected] of [
      ['id', '9223372036854775807'],
      ['amount', '12345678901234567.123456789'],
      ['big', '12345678901234567890'],
    ] as const) {
      const settings = settingsFor(db.url, [{ table: 'exact', key_properties: ['id'], replication_key: key }]);
      const first = await runTapWith(warehouse, settings);
      expect(first.records()).toHaveLength(2);
      const stateLine = first.lines.at(-1)!;
      expect(stateLine).toContain(`"replication_key":"${key}","replication_key_value":${expected}}`);
      const state = stateLine.slice(stateLine.indexOf('"value":') + 8, -1);
      const resumed = await runTapWith(warehouse, settings, state);
      // Only the last row: had the bookmark been rounded through a double, the row before it (or none) would come.
      expect(resumed.lines.filter((l) => l.includes('"type":"RECORD"')).map((l) => l.slice(l.indexOf('"id":'), l.indexOf(',"big"')))).toEqual([
        '"id":9223372036854775807',
      ]);
    }
  });

  it('copies the bookmarks of other streams through every STATE, exactly', async () => {
    const other = '{"other-stream":{"replication_key":"id","replication_key_value":123456789012345678901234567890.5}}';
    const state = `{"bookmarks":${other.slice(0, -1)},"public-calls":{"replication_key":"updated_at","replication_key_value":"2026-03-04T14:00:00.123456+00:00"}}}`;
    const out = await runTapWith(warehouse, settingsFor(db.url, [callsIncremental]), state);
    expect(out.records().map((r) => r.id)).toEqual([5]);
    const stateLines = out.lines.filter((l) => l.startsWith('{"type":"STATE"'));
    expect(stateLines.length).toBeGreaterThan(0);
    for (const line of stateLines) expect(line).toContain(other.slice(1, -1));
  });
});

describe('FULL_TABLE streams', () => {
  it('wraps the rows in ACTIVATE_VERSION messages of a new version', async () => {
    const settings = settingsFor(db.url, [{ table: 'calls', key_properties: ['id'], replication_method: 'FULL_TABLE' }]);
    const out = await runTapWith(warehouse, settings);
    const types = out.messages.map((m) => m.type);
    expect(types).toEqual(['SCHEMA', 'STATE', 'ACTIVATE_VERSION', 'RECORD', 'RECORD', 'RECORD', 'RECORD', 'RECORD', 'ACTIVATE_VERSION', 'STATE', 'STATE']);
    const version = out.messages[2]!.version;
    expect(typeof version).toBe('number');
    expect(Math.abs(version - Date.now())).toBeLessThan(60_000);
    expect(out.messages.at(-3)).toEqual({ type: 'ACTIVATE_VERSION', stream: 'public-calls', version });
    for (const m of out.messages.filter((x) => x.type === 'RECORD')) expect(m.version).toBe(version);
    expect(out.lastState().bookmarks['public-calls']).toEqual({ version });
    expect(out.messages[0]!.bookmark_properties).toBeUndefined();

    // The next run gets a newer version, even within the same millisecond.
    const again = await runTapWith(warehouse, settings, JSON.stringify(out.lastState()));
    expect(again.messages[2]!.version).toBeGreaterThan(version);
    expect(again.records()).toHaveLength(5);
  });
});

describe('values', () => {
  it('writes bigint, numeric, timestamps, dates, jsonb and arrays byte-exact', async () => {
    const out = await runTapWith(warehouse, settingsFor(db.url, [{ table: 'exact', key_properties: ['id'], replication_method: 'FULL_TABLE' }]));
    const line = out.lines.find((l) => l.includes('"id":9223372036854775807'))!;
    expect(line).toContain(
      '"record":{"id":9223372036854775807,"big":12345678901234567890,"amount":12345678901234567.123456789,' +
        '"at":"2026-03-04T14:00:00.123456+00:00","at_local":"2026-03-04T14:00:00.500000+00:00","day":"2026-03-04",' +
        '"doc":{"big": 123456789012345678901234567890, "dec": 0.1000000000000000055511151231257827, "list": [1, "x"]},' +
        '"tags":["a,b","c"]}',
    );
    const record = out.records().find((r) => r.id === 9223372036854775807n)!;
    expect(record.doc.big).toBe(123456789012345678901234567890n);
    expect(out.records()[0]!.tags).toEqual([]);
  });
});

describe('sql streams', () => {
  it('run incrementally over a query (the ? of jsonb operators is not a placeholder)', async () => {
    const stream = {
      name: 'noted_calls',
      sql: `SELECT c.id, c.updated_at AS changed, upper(c.note) AS note
              FROM calls c WHERE c.note IS NOT NULL AND '{"k": 1}'::jsonb ? 'k';`,
      key_properties: ['id'],
      replication_key: 'changed',
    };
    const settings = settingsFor(db.url, [stream]);
    const out = await runTapWith(warehouse, settings);
    expect(out.messages[0]).toMatchObject({ type: 'SCHEMA', stream: 'noted_calls', bookmark_properties: ['changed'] });
    expect(out.records().map((r) => [r.id, r.note])).toEqual([
      [1, 'FIRST'],
      [2, 'SECOND'],
      [4, 'SAME TIME AS 3'],
      [5, 'FIFTH'],
    ]);
    const state = JSON.stringify({
      bookmarks: { noted_calls: { replication_key: 'changed', replication_key_value: '2026-03-03T10:00:00.000000+00:00' } },
    });
    const resumed = await runTapWith(warehouse, settings, state);
    expect(resumed.records().map((r) => r.id)).toEqual([4, 5]);
  });

  it('run as FULL_TABLE, several streams in one run', async () => {
    const out = await runTap(
      settingsFor(db.url, [
        { name: 'totals', sql: 'SELECT count(*) AS n, sum(amount) AS total FROM calls', key_properties: [] },
        callsIncremental,
      ]),
    );
    expect(out.records('totals')).toEqual([{ n: 5, total: 120.6 }]);
    expect(out.lines.find((l) => l.includes('"stream":"totals","record"'))).toContain('"record":{"n":5,"total":120.60}');
    expect(out.records('public-calls')).toHaveLength(5);
    expect(Object.keys(out.lastState().bookmarks).sort()).toEqual(['public-calls', 'totals']);
  });
});

describe('streaming', () => {
  it('waits for a slow consumer instead of reading the whole table into memory', async () => {
    const settings = settingsFor(db.url, [{ table: 'lots', key_properties: ['id'], replication_method: 'FULL_TABLE' }]);
    const streams = await discoverStreams(warehouse, settings.streams);
    let rowsRead = 0;
    const counting: WarehouseConnection = {
      ...warehouse,
      async *streamRows(plan) {
        for await (const row of warehouse.streamRows(plan)) {
          rowsRead++;
          yield row;
        }
      },
    };
    let release: (() => void) | undefined;
    let bytes = 0;
    // A consumer that takes the first chunk and then stalls until released.
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk, _enc, cb) {
        bytes += chunk.length;
        if (release === undefined) release = cb;
        else cb();
      },
    });
    const sync = runSync({
      warehouse: counting,
      streams,
      state: emptyState(),
      writer: new SingerWriter(slow),
      stateEveryRows: 1000,
      log: silentLog,
    });
    await new Promise((r) => setTimeout(r, 400));
    expect(release).toBeDefined();
    // One 64 KiB chunk is about 300 of these rows; the cursor reads ahead at most a couple of batches.
    expect(rowsRead).toBeGreaterThan(0);
    expect(rowsRead).toBeLessThan(5000);
    // While stalled, the cursor is open on the server between two FETCHes: rows come a batch at a time,
    // not all at once, and the server is not working (a statement_timeout runs per FETCH only).
    const activity = await sql.query(`SELECT state, query FROM pg_stat_activity WHERE application_name = 'tap-warehouse' AND backend_type = 'client backend' AND query LIKE 'FETCH%'`);
    expect(activity.rows).toEqual([{ state: 'idle in transaction', query: 'FETCH 1000 FROM tap_warehouse_rows' }]);
    release!();
    const result = await sync;
    expect(result.rows['public-lots']).toBe(30000);
    expect(rowsRead).toBe(30000);
    expect(bytes).toBeGreaterThan(30000 * 200);
  });
});
