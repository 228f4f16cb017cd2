import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../connector/core/errors.js';
import { packageRoot } from '../../connector/core/paths.js';
import { openWarehouse, type WarehouseConnection } from '../../connector/warehouse/dialect.js';
import { discoverStreams } from '../../connector/warehouse/discovery.js';
import { SingerWriter } from '../../connector/warehouse/singer-writer.js';
import { emptyState, parseState } from '../../connector/warehouse/state.js';
import { runSync } from '../../connector/warehouse/sync.js';
import { startPostgres } from '../support/postgres.js';
import { outputOf, runTapWith, settingsFor, silentLog } from './tap-harness.js';

/**
 * tap-warehouse against what real warehouses hold and do: NULL, BC, tied and out-of-range keys, NaN,
 * multi-dimensional arrays, dropped connections, role timeouts, pasted SQL. One Postgres for the file.
 */

const CLI = join(packageRoot, 'dist', 'connector', 'warehouse', 'cli.js');

let db: { url: string; stop(): Promise<void> };
let sql: pg.Client;
let warehouse: WarehouseConnection;
let dir: string;

beforeAll(async () => {
  db = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'tap-warehouse-real-'));
  sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  await sql.query(`
    CREATE TABLE edge (
      id int PRIMARY KEY,
      at timestamptz,
      at_local timestamp,
      day date,
      n numeric NOT NULL,
      f float8 NOT NULL,
      r real,
      grid int[],
      words text[] NOT NULL,
      doc jsonb
    );
    INSERT INTO edge VALUES
      (1, '2026-01-01 00:00:00+00', '2026-01-01 00:00:00', '2026-01-01', 1.5, 1, 1, '{{1,2},{3,4}}', '{{a,b},{c,NULL}}', '{"a": [1, 2]}'),
      (2, NULL, NULL, NULL, 'NaN', 'NaN', 'NaN', '{{{1},{2}},{{3},{NULL}}}', '{}', 'null'),
      (3, '0100-01-01 00:00:00+00 BC', '0100-01-01 00:00:00 BC', '0100-01-01 BC', 2, 'Infinity', '-Infinity', '{1,NULL}', '{x}', NULL),
      (4, '0050-06-01 12:00:00+00 BC', '0050-06-01 12:00:00 BC', '0050-06-01 BC', 3, '-Infinity', 0, '[0:1]={5,6}', '{y}', '[]'),
      (5, '0100-01-01 00:00:00+00 BC', NULL, '0100-01-01 BC', 4, 0, NULL, NULL, '{"a,b"}', '"s"'),
      (6, '2026-01-01 00:00:00+00', '2026-01-01 00:00:00', '2026-01-01', 5, -0.0, 1, '{}', '{}', '1'),
      (7, '12000-01-01 00:00:00+00', '12000-06-01 00:00:00', '12000-01-01', 6, 1e308, 3.4e38, NULL, '{}', NULL),
      (8, NULL, NULL, NULL, 7, 2, 2, NULL, '{}', NULL),
      (9, 'infinity', '-infinity', 'infinity', 8, 3, 3, NULL, '{}', NULL),
      (10, '-infinity', 'infinity', '-infinity', 9, 4, 4, NULL, '{}', NULL),
      (11, '9999-12-31 23:59:59.999999+00', '9999-12-31 23:59:59.999999', '9999-12-31', 10, 5, 5, NULL, '{}', NULL),
      (12, '12000-01-01 00:00:00+00', NULL, '0001-01-01', 11, 6, 6, NULL, '{}', NULL);
    CREATE TABLE lots AS SELECT g AS id, repeat('x', 100) AS filler FROM generate_series(1, 20000) g;
    CREATE VIEW slow_view AS SELECT id, pg_sleep(0.4)::text AS waited FROM lots WHERE id <= 2;
  `);
  warehouse = await openWarehouse('postgres', { connection: db.url, log: silentLog });
});

afterAll(async () => {
  await warehouse?.close();
  await sql?.end();
  await db?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAP_WAREHOUSE_')));
  return spawn(process.execPath, [CLI, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The child's end, or a SIGKILL after `limitMs` (then `signal` is SIGKILL: the tap hung). */
function ended(child: ChildProcess, limitMs: number, readStdout = true): Promise<Ended> & { stdout(): string; stderr(): string; readStdout(): void } {
  let stdout = '';
  let stderr = '';
  const began = Date.now();
  child.stderr!.on('data', (d) => (stderr += d));
  const read = () => child.stdout!.on('data', (d) => (stdout += d));
  if (readStdout) read();
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const done = new Promise<Ended>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - began });
    }),
  );
  return Object.assign(done, { stdout: () => stdout, stderr: () => stderr, readStdout: read });
}

async function until(check: () => boolean, limitMs = 10_000): Promise<void> {
  const began = Date.now();
  while (!check()) {
    if (Date.now() - began > limitMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('1. a lost connection or a signal never hangs the tap', () => {
  it('exits 7 with one line when its consumer goes away (the target killed)', async () => {
    const child = start(['--config', file('gone.json', { connection: db.url, streams: [{ table: 'lots', key_properties: ['id'], replication_method: 'FULL_TABLE' }] })]);
    const end = ended(child, 10_000, false);
    child.stdout!.once('data', () => child.stdout!.destroy());
    const r = await end;
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/^tap-warehouse: .*cannot write stdout: /m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('ends with exit 6 naming the stream when its backend is terminated mid-read; the last STATE resumes', async () => {
    const config = file('lots.json', { connection: db.url, streams: [{ table: 'lots', key_properties: ['id'], replication_key: 'id' }] });
    const child = start(['--config', config]);
    // Nobody reads stdout at first: the pipe fills, the tap waits on it mid-read.
    const end = ended(child, 15_000, false);
    await until(() => end.stderr().includes('stream sync starting'));
    await new Promise((r) => setTimeout(r, 200));
    const killed = await sql.query(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'tap-warehouse'`);
    expect(killed.rows.length).toBeGreaterThan(0);
    end.readStdout();
    const r = await end;
    expect(r.signal, 'the tap hung and was killed').toBeNull();
    expect(r.code, r.stderr).toBe(6);
    const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('tap-warehouse:'));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(/stream "public-lots" \(table "public"\."lots"\).*connection/i);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // Whatever was printed resumes: the rest of the table comes, nothing lost.
    const out = outputOf(r.stdout);
    const before = out.records().map((x) => Number(x.id));
    const last = out.states().at(-1);
    const rest = await runTapWith(warehouse, settingsFor(db.url, [{ table: 'lots', key_properties: ['id'], replication_key: 'id' }]), last ? JSON.stringify(last) : undefined);
    const all = new Set([...before, ...rest.records().map((x) => Number(x.id))]);
    expect(all.size).toBe(20000);
  });

  it('SIGTERM ends it in every phase: while connecting, while a query runs, while stdout is full', async () => {
    // A server that accepts connections and never answers (a hung pooler).
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as { port: number }).port;
      const connecting = start(['--config', file('silent.json', { connection: `postgres://u:p@127.0.0.1:${port}/d`, streams: [{ table: 'lots', key_properties: ['id'] }] })]);
      const c = ended(connecting, 10_000);
      await until(() => c.stderr().includes('connecting'));
      connecting.kill('SIGTERM');
      const r1 = await c;
      expect(r1.code, r1.stderr).toBe(130);
      expect(r1.ms).toBeLessThan(5000);
    } finally {
      silent.close();
    }

    const querying = start(['--config', file('sleep.json', { connection: db.url, streams: [{ name: 'sleepy', sql: 'SELECT 1 AS id, pg_sleep(30)::text AS s', key_properties: ['id'] }] })]);
    const q = ended(querying, 10_000);
    await until(() => q.stderr().includes('stream sync starting'));
    await new Promise((r) => setTimeout(r, 200));
    querying.kill('SIGTERM');
    const r2 = await q;
    expect(r2.code, r2.stderr).toBe(130);
    expect(r2.ms).toBeLessThan(8000);
    expect(outputOf(r2.stdout).lastState().currently_syncing).toBe('sleepy');

    // A consumer that never reads again.
    const blocked = start(['--config', file('blocked.json', { connection: db.url, streams: [{ table: 'lots', key_properties: ['id'], replication_method: 'FULL_TABLE' }] })]);
    const b = ended(blocked, 15_000, false);
    await until(() => b.stderr().includes('stream sync starting'));
    await new Promise((r) => setTimeout(r, 300));
    blocked.kill('SIGTERM');
    const r3 = await b;
    expect(r3.signal).toBeNull();
    expect(r3.code, r3.stderr).toBe(130);
  });
});

/** Every stream's output, cut after each of its STATE messages and resumed from there, loses no row. */
async function everyCutResumes(stream: Record<string, unknown>, ids: number[]): Promise<void> {
  const settings = settingsFor(db.url, [stream], { TAP_WAREHOUSE_STATE_EVERY_ROWS: '1' });
  const full = await runTapWith(warehouse, settings);
  expect(new Set(full.records().map((r) => Number(r.id)))).toEqual(new Set(ids));
  const seen: number[] = [];
  let cuts = 0;
  for (const m of full.messages) {
    if (m.type === 'RECORD') seen.push(Number(m.record.id));
    if (m.type !== 'STATE') continue;
    cuts++;
    // Killed right after this STATE: the next run starts from it (as a target would have saved it).
    const resumed = await runTapWith(warehouse, settings, JSON.stringify(m.value));
    const got = new Set([...seen, ...resumed.records().map((r) => Number(r.id))]);
    const lost = ids.filter((id) => !got.has(id));
    expect(lost, `cut after STATE ${cuts} (${JSON.stringify(m.value.bookmarks)})`).toEqual([]);
  }
  expect(cuts).toBeGreaterThan(ids.length);
}

describe('2 and 3. INCREMENTAL with NULL, BC, tied and out-of-range keys', () => {
  const ids = Array.from({ length: 12 }, (_, k) => k + 1);

  it('2. rows whose key is NULL are read in every run, so no interruption loses them', async () => {
    await everyCutResumes({ table: 'edge', key_properties: ['id'], replication_key: 'at' }, ids);
    // A finished run's state still reads the NULL-key rows (and the bookmark rows) again.
    const settings = settingsFor(db.url, [{ table: 'edge', key_properties: ['id'], replication_key: 'at' }]);
    const first = await runTapWith(warehouse, settings);
    const again = await runTapWith(warehouse, settings, JSON.stringify(first.lastState()));
    expect(again.records().map((r) => r.id).sort()).toEqual([2, 8, 9]);
  });

  it('3. BC, infinite and year-10000 bookmarks round-trip exactly (timestamptz, timestamp, date keys)', async () => {
    for (const key of ['at', 'at_local', 'day']) {
      await everyCutResumes({ table: 'edge', key_properties: ['id'], replication_key: key }, ids);
    }
    // Resuming at the first BC key sends every row with that key, not the year-1 AD ones only.
    const state = { bookmarks: { 'public-edge': { replication_key: 'at', replication_key_value: '0100-01-01 00:00:00+00 BC' } } };
    const out = await runTapWith(warehouse, settingsFor(db.url, [{ table: 'edge', key_properties: ['id'], replication_key: 'at' }]), JSON.stringify(state));
    expect(out.records().map((r) => r.id)).toEqual(expect.arrayContaining([3, 4, 5, 7, 12]));
    const bookmarks = (await runTapWith(warehouse, settingsFor(db.url, [{ table: 'edge', key_properties: ['id'], replication_key: 'at' }], { TAP_WAREHOUSE_STATE_EVERY_ROWS: '1' })))
      .states()
      .map((s) => s.bookmarks['public-edge']?.replication_key_value)
      .filter((v) => v !== undefined);
    expect(bookmarks).toContain('0100-01-01 00:00:00+00 BC');
    expect(bookmarks).toContain('12000-01-01 00:00:00+00');
    expect(bookmarks).toContain('2026-01-01T00:00:00.000000+00:00');
  });
});

describe('4. every record validates against the SCHEMA the tap wrote', () => {
  it('holds for NaN, ±Infinity, years above 9999, BC, infinity and multi-dimensional arrays', async () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats.default(ajv);
    for (const stream of [
      { table: 'edge', key_properties: ['id'], replication_method: 'FULL_TABLE' },
      { name: 'edge_sql', sql: 'SELECT * FROM edge', key_properties: ['id'] },
    ]) {
      const out = await runTapWith(warehouse, settingsFor(db.url, [stream]));
      const schema = out.messages.find((m) => m.type === 'SCHEMA')!.schema;
      const validate = ajv.compile(JSON.parse(JSON.stringify(schema)));
      const lines = out.lines.filter((l) => l.startsWith('{"type":"RECORD"'));
      expect(lines).toHaveLength(12);
      for (const line of lines) {
        const record = JSON.parse(line).record;
        expect(validate(record), `${line}\n${JSON.stringify(validate.errors)}`).toBe(true);
      }
      const byId = new Map(lines.map((l) => [JSON.parse(l).record.id, JSON.parse(l).record]));
      expect(byId.get(7).at).toBe('9999-12-31T23:59:59.999999+00:00');
      expect(byId.get(7).day).toBe('9999-12-31');
      expect(byId.get(2).grid).toEqual([[[1], [2]], [[3], [null]]]);
      expect(byId.get(2).n).toBeNull();
    }
  });
});

describe('5 and 6. sql streams: exactly one read-only SELECT, pasted as people write it', () => {
  it('5. refuses several statements or a statement that is not a SELECT, before touching the database', async () => {
    const attempts = [
      'select 1 as id) as q; commit; begin transaction read write; create table pwned (x int); select * from (select 1 as id',
      'select 1 as id; create table pwned (x int)',
      'insert into lots values (0, $$x$$) returning id',
      'select 1 as id) q cross join (select 2 as two',
    ];
    for (const text of attempts) {
      const r = await ended(start(['--config', file('evil.json', { connection: db.url, streams: [{ name: 'evil', sql: text, key_properties: ['id'] }] }), '--discover']), 10_000);
      expect(r.code, `${text}\n${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^tap-warehouse: invalid configuration[^\n]*:\n {2}setting "streams\.0\.sql": a "sql" stream must be exactly one read-only SELECT/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    // A data-modifying WITH passes the text check; the database refuses it as a subquery (exit 2, nothing written).
    const cte = await ended(
      start(['--config', file('cte.json', { connection: db.url, streams: [{ name: 'cte', sql: 'with d as (delete from lots where id = 1 returning id) select id from d', key_properties: ['id'] }] })]),
      10_000,
    );
    expect(cte.code, cte.stderr).toBe(2);
    expect(cte.stderr).toMatch(/tap-warehouse: stream "cte": /);
    const after = await sql.query(`SELECT to_regclass('public.pwned') AS t, (SELECT count(*) FROM lots WHERE id = 1) AS n`);
    expect(after.rows[0]).toEqual({ t: null, n: '1' });
  });

  it('6. accepts trailing comments and semicolons, and semicolons or parentheses inside strings and comments', async () => {
    const pasted = [
      "select id, ';' as semi, $x$ ) ; $x$ as dollar from lots where id <= 3 -- recent only",
      'select id from lots where id <= 3; -- recent only\n',
      'select id /* the key; ) */ from lots where id <= 3;\n/* done */ ;',
      "with recent as (select id from lots where id <= 3)\nselect id, E'\\'' as q from recent ; ",
    ];
    for (const text of pasted) {
      const out = await runTapWith(warehouse, settingsFor(db.url, [{ name: 'pasted', sql: text, key_properties: ['id'], replication_key: 'id' }]));
      expect(out.records().map((r) => Number(r.id)), text).toEqual([1, 2, 3]);
    }
  });
});

describe('7. a role statement_timeout applies to each fetch, not to the whole read', () => {
  it('reads a table slower than the timeout for a slow consumer, and names stream and table when a fetch times out', async () => {
    const url = new URL(db.url);
    url.searchParams.set('options', '-c statement_timeout=300');
    const timed = await openWarehouse('postgres', { connection: url.toString(), log: silentLog });
    try {
      const settings = settingsFor(url.toString(), [{ table: 'lots', key_properties: ['id'], replication_key: 'id' }]);
      const streams = await discoverStreams(timed, settings.streams);
      // A consumer that takes 25 ms per 64 KiB chunk: about 2.5 MB of rows take well over the 300 ms timeout.
      const slow = new Writable({
        highWaterMark: 16 * 1024,
        write(_chunk, _enc, cb) {
          setTimeout(cb, 25);
        },
      });
      const began = Date.now();
      const result = await runSync({ warehouse: timed, streams, state: emptyState(), writer: new SingerWriter(slow), stateEveryRows: 5000, log: silentLog });
      expect(Date.now() - began).toBeGreaterThan(600);
      expect(result.rows['public-lots']).toBe(20000);

      const view = settingsFor(url.toString(), [{ table: 'slow_view', key_properties: ['id'] }]);
      const error = await runTapWith(timed, view).catch((e: Error) => e);
      // The server canceled the read: the warehouse did not serve it (exit 6, a rerun resumes).
      expect((error as { exitCode?: number }).exitCode).toBe(6);
      expect((error as Error).message).toMatch(/^stream "public-slow_view" \(table "public"\."slow_view"\): reading rows failed: canceling statement due to statement timeout/);
    } finally {
      await timed.close();
    }
  });
});

describe('8. exit codes', () => {
  it('refuses an sslmode it does not know (exit 2) and keeps the documented codes', async () => {
    const bogus = new URL(db.url);
    bogus.searchParams.set('sslmode', 'bogus');
    const r = await ended(start(['--config', file('bogus-ssl.json', { connection: bogus.toString(), streams: [{ table: 'lots', key_properties: ['id'] }] }), '--discover']), 10_000);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/tap-warehouse: invalid configuration[^\n]*:\n {2}setting "connection": sslmode "bogus" is not one of disable, allow, prefer, require, verify-ca, verify-full/);
    const off = new URL(db.url);
    off.searchParams.set('sslmode', 'disable');
    const ok = await ended(start(['--config', file('ssl-off.json', { connection: off.toString(), streams: [{ table: 'edge', key_properties: ['id'] }] }), '--discover']), 10_000);
    expect(ok.code, ok.stderr).toBe(0);
    // A missing table and a missing key column are both configuration (2).
    const noTable = await ended(start(['--config', file('no-table.json', { connection: db.url, streams: [{ table: 'nope', key_properties: ['id'] }] }), '--discover']), 10_000);
    expect(noTable.code, noTable.stderr).toBe(2);
    const noKey = await ended(start(['--config', file('no-key.json', { connection: db.url, streams: [{ table: 'edge', key_properties: ['nope'] }] }), '--discover']), 10_000);
    expect(noKey.code, noKey.stderr).toBe(2);
  });
});

it('keeps the ConfigError class for a refused sql text (in-process)', () => {
  expect(() => settingsFor(db.url, [{ name: 'x', sql: 'select 1; select 2', key_properties: [] }])).toThrow(ConfigError);
  expect(parseState('{}')).toEqual(emptyState());
});
