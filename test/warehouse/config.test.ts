import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../connector/core/errors.js';
import { connectionSecrets, describeConnection, loadSettings } from '../../connector/warehouse/config.js';
import { readDeselectedStreams } from '../../connector/warehouse/discovery.js';
import { bookmarkParameter, readStateFile } from '../../connector/warehouse/state.js';

const dir = mkdtempSync(join(tmpdir(), 'tap-warehouse-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
function file(content: unknown): string {
  const path = join(dir, `f${fileNo++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const PASSWORD = 'Sup3r-Secret!pw';
const stream = { table: 'calls', key_properties: ['id'], replication_key: 'updated_at' };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('tap-warehouse settings', () => {
  it('applies defaults and names streams like tap-postgres', () => {
    const s = loadSettings({
      configFile: file({
        connection: `postgres://app:${PASSWORD}@db.example:5432/dw`,
        streams: [stream, { name: 'recent', sql: 'select 1 as id;  ', key_properties: ['id'] }, { table: 't', schema: 'sales', key_properties: [] }],
      }),
      env: {},
    });
    expect(s.dialect).toBe('postgres');
    expect(s.defaultSchema).toBe('public');
    expect(s.stateEveryRows).toBe(1000);
    expect(s.streams.map((x) => x.name)).toEqual(['public-calls', 'recent', 'sales-t']);
    expect(s.streams[0]).toMatchObject({ replicationMethod: 'INCREMENTAL', replicationKey: 'updated_at' });
    expect(s.streams[1]).toMatchObject({ replicationMethod: 'FULL_TABLE', source: { kind: 'sql', sql: 'select 1 as id' } });
    expect(s.streams[1]!.replicationKey).toBeUndefined();
  });

  it('reads TAP_WAREHOUSE_* env vars, over the file, including connection parts', () => {
    const s = loadSettings({
      configFile: file({ connection: { host: 'h', user: 'u', database: 'd' }, streams: [stream], state_every_rows: 5 }),
      env: {
        TAP_WAREHOUSE_STATE_EVERY_ROWS: '7',
        TAP_WAREHOUSE_DEFAULT_SCHEMA: 'analytics',
        TAP_WAREHOUSE_CONNECTION_PASSWORD: PASSWORD,
        TAP_WAREHOUSE_CONNECTION_PORT: '6543',
      },
    });
    expect(s.stateEveryRows).toBe(7);
    expect(s.connection).toEqual({ host: 'h', user: 'u', database: 'd', password: PASSWORD, port: 6543 });
    expect(s.streams[0]!.name).toBe('analytics-calls');

    const fromEnvOnly = loadSettings({
      env: { TAP_WAREHOUSE_CONNECTION: 'postgres://u@h/d', TAP_WAREHOUSE_STREAMS: JSON.stringify([stream]) },
    });
    expect(fromEnvOnly.connection).toBe('postgres://u@h/d');

    // Text that the setting accepts stays text: a numeric password or schema name is not turned into a number.
    const digits = loadSettings({
      env: {
        TAP_WAREHOUSE_CONNECTION: '{"host":"h","user":"u","database":"d"}',
        TAP_WAREHOUSE_CONNECTION_PASSWORD: '123456',
        TAP_WAREHOUSE_DEFAULT_SCHEMA: '2024',
        TAP_WAREHOUSE_STREAMS: JSON.stringify([stream]),
      },
    });
    expect(digits.connection).toMatchObject({ password: '123456', port: 5432 });
    expect(digits.streams[0]!.name).toBe('2024-calls');
  });

  it('explains invalid settings by name, without echoing the password', () => {
    const e = configError(() =>
      loadSettings({
        configFile: file({
          connection: { host: 'h', user: 'u', database: 'd', password: PASSWORD, prot: 1 },
          state_every_rows: 0,
          streams: [
            { table: 'a', sql: 'select 1', key_properties: [] },
            { sql: 'select 1', key_properties: ['id'] },
            { table: 'b', key_properties: [], replication_method: 'INCREMENTAL' },
          ],
          colour: 'blue',
        }),
        env: {},
      }),
    );
    expect(e.message).toMatch(/unknown setting "prot" in "connection"/);
    expect(e.message).toMatch(/setting "state_every_rows"/);
    expect(e.message).toMatch(/exactly one of "table" or "sql"/);
    expect(e.message).toMatch(/setting "streams.1.name": a "sql" stream needs a "name"/);
    expect(e.message).toMatch(/setting "streams.2.replication_key": INCREMENTAL streams need/);
    expect(e.message).toMatch(/unknown setting "colour"/);
    expect(e.message).not.toContain(PASSWORD);

    expect(configError(() => loadSettings({ env: {} })).message).toMatch(/setting "connection" must be a URL string or an object/);
    const notUrl = configError(() => loadSettings({ configFile: file({ connection: 'db.example:5432', streams: [stream] }), env: {} }));
    expect(notUrl.message).toMatch(/setting "connection": a URL like postgres:\/\//);
    const dup = configError(() =>
      loadSettings({ configFile: file({ connection: 'postgres://h/d', streams: [stream, stream] }), env: {} }),
    );
    expect(dup.message).toMatch(/two streams are named "public-calls"/);
    expect(configError(() => loadSettings({ configFile: file('{oops'), env: {} })).message).toMatch(/not valid JSON/);
  });

  it('knows the secrets of a connection and describes it without them', () => {
    const url = `postgres://app:${encodeURIComponent(PASSWORD)}@db.example:5432/dw`;
    expect(connectionSecrets(url)).toContain(PASSWORD);
    expect(describeConnection(url)).toBe('app@db.example:5432/dw');
    expect(describeConnection({ host: 'h', port: 1, user: 'u', database: 'd', password: PASSWORD })).toBe('u@h:1/d');
  });
});

describe('state and catalog files', () => {
  it('reads plain, Meltano-wrapped and message-shaped state, keeping numbers exact', () => {
    const plain = readStateFile(file('{"bookmarks":{"s":{"replication_key":"id","replication_key_value":12345678901234567.123456789}}}'));
    expect(bookmarkParameter(plain.bookmarks.s!.replication_key_value)).toBe('12345678901234567.123456789');
    expect(plain.currently_syncing).toBeNull();
    const wrapped = readStateFile(file('{"singer_state":{"bookmarks":{"s":{"replication_key_value":9223372036854775807}},"currently_syncing":"s"}}'));
    expect(bookmarkParameter(wrapped.bookmarks.s!.replication_key_value)).toBe('9223372036854775807');
    expect(wrapped.currently_syncing).toBe('s');
    const message = readStateFile(file('{"type":"STATE","value":{"bookmarks":{"s":{"replication_key_value":"2026-01-01"}}}}'));
    expect(message.bookmarks.s!.replication_key_value).toBe('2026-01-01');
    const lines = readStateFile(file('{"bookmarks":{"s":{"replication_key_value":1}}}\n{"bookmarks":{"s":{"replication_key_value":2}}}\n'));
    expect(lines.bookmarks.s!.replication_key_value).toBe(2);
    expect(readStateFile(file('')).bookmarks).toEqual({});
    expect(configError(() => readStateFile(file('{"bookmarks":[]}'))).message).toMatch(/"bookmarks" must be an object/);
  });

  it('finds the streams a catalog deselects', () => {
    const off = readDeselectedStreams(
      file({
        streams: [
          { tap_stream_id: 'a', stream: 'a', metadata: [{ breadcrumb: [], metadata: { selected: false } }] },
          { tap_stream_id: 'b', stream: 'b', metadata: [{ breadcrumb: [], metadata: { selected: true } }] },
          { tap_stream_id: 'c', stream: 'c', metadata: [{ breadcrumb: ['properties', 'x'], metadata: { selected: false } }] },
          { tap_stream_id: 'd', stream: 'd', selected: false },
        ],
      }),
    );
    expect([...off].sort()).toEqual(['a', 'd']);
  });
});
