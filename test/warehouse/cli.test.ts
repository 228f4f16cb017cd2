import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../connector/core/paths.js';
import { startPostgres } from '../support/postgres.js';
import { outputOf } from './tap-harness.js';

const CLI = join(packageRoot, 'dist', 'connector', 'warehouse', 'cli.js');

let db: { url: string; stop(): Promise<void> };
let dir: string;

beforeAll(async () => {
  db = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'tap-warehouse-cli-'));
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query(`
    CREATE TABLE calls (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, amount numeric);
    INSERT INTO calls VALUES
      (1, '2026-03-01 10:00:00+00', 1.5),
      (2, '2026-03-02 10:00:00.654321+00', 12345678901234567.123456789),
      (3, '2026-03-03 10:00:00+00', NULL);
    CREATE TABLE agents (id int PRIMARY KEY, name text);
    INSERT INTO agents VALUES (1, 'Ada'), (2, 'Grace');
    CREATE TABLE lots AS SELECT g::bigint AS id, repeat('x', 100) AS filler FROM generate_series(1, 50000) g;
  `);
  await c.end();
});

afterAll(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  await db?.stop();
});

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAP_WAREHOUSE_')));
  return spawn(process.execPath, [CLI, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function finish(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const run = (args: string[], env?: Record<string, string>) => finish(start(args, env));

const streams = [
  { table: 'calls', key_properties: ['id'], replication_key: 'updated_at' },
  { table: 'agents', key_properties: ['id'], replication_method: 'FULL_TABLE' },
];

describe('tap-warehouse CLI', () => {
  it('--discover prints the catalog on stdout, logs on stderr', async () => {
    const config = file('discover.json', { connection: db.url, streams });
    const r = await run(['--config', config, '--discover']);
    expect(r.code).toBe(0);
    const catalog = JSON.parse(r.stdout);
    expect(catalog.streams.map((s: { tap_stream_id: string }) => s.tap_stream_id)).toEqual(['public-calls', 'public-agents']);
    expect(catalog.streams[0].schema.properties.amount).toEqual({ type: ['number', 'null'] });
    expect(r.stderr).toMatch(/connecting/);
  });

  it('syncs, then resumes from a Meltano state file, skipping deselected streams', async () => {
    const config = file('run.json', { connection: db.url, streams });
    const first = await run(['--config', config]);
    expect(first.code).toBe(0);
    const out = outputOf(first.stdout);
    expect(out.records('public-calls').map((r) => r.id)).toEqual([1, 2, 3]);
    expect(out.records('public-agents')).toEqual([{ id: 1, name: 'Ada' }, { id: 2, name: 'Grace' }]);
    expect(first.stdout).toContain('"amount":12345678901234567.123456789');
    expect(first.stdout).toContain('"updated_at":"2026-03-02T10:00:00.654321+00:00"');
    expect(out.messages.filter((m) => m.type === 'ACTIVATE_VERSION')).toHaveLength(2);

    const state = file('state.json', {
      singer_state: { bookmarks: { 'public-calls': { replication_key: 'updated_at', replication_key_value: '2026-03-02T10:00:00.654321+00:00' } } },
    });
    const catalog = file('catalog.json', {
      streams: [{ tap_stream_id: 'public-agents', stream: 'public-agents', metadata: [{ breadcrumb: [], metadata: { selected: false } }] }],
    });
    const second = await run(['--config', config, '--state', state, '--catalog', catalog]);
    expect(second.code).toBe(0);
    const resumed = outputOf(second.stdout);
    expect(resumed.records('public-calls').map((r) => r.id)).toEqual([2, 3]);
    expect(resumed.records('public-agents')).toEqual([]);
    expect(resumed.lastState()).toEqual({
      bookmarks: { 'public-calls': { replication_key: 'updated_at', replication_key_value: '2026-03-03T10:00:00.000000+00:00' } },
      currently_syncing: null,
    });
  });

  it('fails clearly on a wrong password without printing it', async () => {
    const url = new URL(db.url);
    const password = 'Wr0ng-Pa55word-xyz';
    const env = {
      TAP_WAREHOUSE_CONNECTION: JSON.stringify({ host: url.hostname, port: Number(url.port), user: url.username, database: url.pathname.slice(1) }),
      TAP_WAREHOUSE_CONNECTION_PASSWORD: password,
      TAP_WAREHOUSE_STREAMS: JSON.stringify(streams),
      TAP_WAREHOUSE_LOG_LEVEL: 'debug',
    };
    const r = await run([], env);
    // 6: cannot connect, as target-siro says it.
    expect(r.code).toBe(6);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/tap-warehouse: cannot connect to postgres at .*password authentication failed/);
    expect(r.stderr).not.toContain(password);

    // A password inside a URL is not printed either, whatever the failure.
    const badUrl = new URL(db.url);
    badUrl.password = password;
    badUrl.port = '1';
    const refused = await run(['--config', file('refused.json', { connection: badUrl.toString(), streams })]);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(/ECONNREFUSED/);
    expect(refused.stderr + refused.stdout).not.toContain(password);
  });

  it('exits 6 when it cannot connect: a database that does not exist, SSL the server refuses', async () => {
    const missing = new URL(db.url);
    missing.pathname = '/no_such_database';
    const noDb = await run(['--config', file('no-db.json', { connection: missing.toString(), streams })]);
    expect(noDb.code, noDb.stderr).toBe(6);
    expect(noDb.stderr).toMatch(/tap-warehouse: cannot connect to postgres at .*no_such_database.*does not exist/);
    const url = new URL(db.url);
    const connection = { host: url.hostname, port: Number(url.port), user: url.username, password: decodeURIComponent(url.password), database: url.pathname.slice(1) };
    // The test server has no SSL (or, as a CI service, a certificate nobody trusts): both are "cannot connect".
    const ssl = await run(['--config', file('ssl.json', { connection: { ...connection, ssl: true }, streams })]);
    expect(ssl.code, ssl.stderr).toBe(6);
    expect(ssl.stderr).toMatch(/tap-warehouse: cannot connect to postgres at .*(SSL|certificate)/i);
    expect(ssl.stdout).toBe('');
  });

  it('exits 2 for a table or column that is not there, naming the one meant', async () => {
    const table = await run(['--config', file('no-table.json', { connection: db.url, streams: [{ table: 'cals', key_properties: ['id'] }] })]);
    expect(table.code, table.stderr).toBe(2);
    expect(table.stderr).toContain('tap-warehouse: stream "public-cals": table or view "public"."cals" not found in ');
    expect(table.stderr).toContain('(did you mean `calls`?)');
    expect(table.stdout).toBe('');
    const column = await run(['--config', file('no-column.json', { connection: db.url, streams: [{ table: 'calls', key_properties: ['idd'] }] })]);
    expect(column.code, column.stderr).toBe(2);
    expect(column.stderr).toContain('tap-warehouse: stream "public-calls": key property "idd" is not a column (did you mean `id`?)');
    const sql = await run(['--config', file('bad-sql.json', { connection: db.url, streams: [{ name: 'q', sql: 'SELECT id FROM agentz', key_properties: ['id'] }] })]);
    expect(sql.code, sql.stderr).toBe(2);
    expect(sql.stderr).toMatch(/tap-warehouse: stream "q": the sql query failed: relation "agentz" does not exist/);
  });

  it('exits 3 when the database refuses a value while reading', async () => {
    const query = "SELECT id, (CASE WHEN id = 2 THEN 'two' ELSE '1' END)::int AS v FROM agents ORDER BY id";
    const r = await run(['--config', file('bad-data.json', { connection: db.url, streams: [{ name: 'casts', sql: query, key_properties: ['id'] }] })]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/tap-warehouse: stream "casts" \(sql\): reading rows failed: invalid input syntax for type integer/);
  });

  it('names the setting meant, the env var a bad value came from, and where a config file is not JSON (exit 2)', async () => {
    const typo = await run(['--config', file('typo.json', { connection: db.url, strams: streams, state_every_row: 5 })]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown setting "strams" (did you mean `streams`?)');
    expect(typo.stderr).toContain('unknown setting "state_every_row" (did you mean `state_every_rows`?)');
    const nested = await run(['--config', file('nested.json', { connection: db.url, streams: [{ tabel: 'calls', key_properties: ['id'] }] })]);
    expect(nested.code).toBe(2);
    expect(nested.stderr).toContain('unknown setting "tabel" in "streams.0" (did you mean `table`?)');

    const env = await run(['--config', file('env.json', { connection: db.url, streams })], { TAP_WAREHOUSE_STATE_EVERY_ROWS: 'abc' });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('setting "state_every_rows" (env var TAP_WAREHOUSE_STATE_EVERY_ROWS): expected integer ≥ 1, got "abc"');

    const broken = file('broken.json', '{\n  "connection": "postgres://u:s3cret-pw@h/d",\n  "streams": []\n  "log_level": "info"\n}\n');
    const json = await run(['--config', broken]);
    expect(json.code).toBe(2);
    expect(json.stderr).toContain(`tap-warehouse: config file ${broken}:4:3: not valid JSON: Expected ',' or '}' after property value`);
    expect(json.stderr).not.toContain('s3cret-pw');
    // The --state file too (a file of state lines: the position is in the whole file).
    const state = file('broken-state.json', '{"bookmarks": {}}\n{"bookmarks": {"public-calls": {"replication_key_value": }}}\n');
    const badState = await run(['--config', file('ok.json', { connection: db.url, streams }), '--state', state]);
    expect(badState.code).toBe(2);
    expect(badState.stderr).toMatch(new RegExp(`tap-warehouse: state file ${state}:2:\\d+: not valid JSON: `));

    const option = await run(['--confg', broken]);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/unknown option '--confg'/);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:[\s\S]*6 +cannot connect/);
  });

  it('exits 2 naming the setting when the config is invalid', async () => {
    const r = await run(['--config', file('bad.json', { connection: db.url, streams: [{ table: 'calls' }] })]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/setting "streams.0.key_properties"/);
    expect(r.stdout).toBe('');
  });

  it('stops on SIGTERM with a STATE that resumes where it stopped', async () => {
    const config = file('lots.json', { connection: db.url, streams: [{ table: 'lots', key_properties: ['id'], replication_key: 'id' }] });
    const child = start(['--config', config]);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    // Nobody reads stdout yet: the pipe fills and the tap waits for it to drain.
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (stderr.includes('stream sync starting')) {
          clearInterval(check);
          setTimeout(resolve, 300);
        }
      }, 20);
    });
    child.kill('SIGTERM');
    let stdout = '';
    child.stdout!.on('data', (d) => (stdout += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    const out = outputOf(stdout);
    const ids = out.records().map((r) => Number(r.id));
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.length).toBeLessThan(50000);
    const last = out.lastState();
    expect(last.currently_syncing).toBe('public-lots');
    expect(Number(last.bookmarks['public-lots'].replication_key_value)).toBe(ids.at(-1));

    const rest = await run(['--config', config, '--state', file('lots-state.json', last)]);
    expect(rest.code).toBe(0);
    const restIds = outputOf(rest.stdout).records().map((r) => Number(r.id));
    expect(restIds[0]).toBe(ids.at(-1));
    expect(restIds.at(-1)).toBe(50000);
    expect(new Set([...ids, ...restIds]).size).toBe(50000);
  });
});
