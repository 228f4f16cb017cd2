import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../connector/core/errors.js';
import { openWarehouse, type WarehouseConnection } from '../../connector/warehouse/dialect.js';
import { catalogOf, discoverStreams } from '../../connector/warehouse/discovery.js';
import { startPostgres } from '../support/postgres.js';
import { settingsFor, silentLog } from './tap-harness.js';

let db: { url: string; stop(): Promise<void> };
let warehouse: WarehouseConnection;

beforeAll(async () => {
  db = await startPostgres();
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query(`
    CREATE TYPE mood AS ENUM ('sad', 'happy');
    CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
    CREATE SCHEMA sales;
    CREATE TABLE sales.all_types (
      id bigint PRIMARY KEY,
      c_smallint smallint NOT NULL,
      c_integer integer,
      c_bigint bigint,
      c_numeric numeric(20, 0),
      c_decimal decimal,
      c_real real,
      c_double double precision NOT NULL,
      c_text text NOT NULL,
      c_varchar varchar(10),
      c_char char(3),
      c_uuid uuid,
      c_boolean boolean NOT NULL,
      c_date date,
      c_timestamp timestamp,
      c_timestamptz timestamptz NOT NULL,
      c_time time,
      c_json json,
      c_jsonb jsonb NOT NULL,
      c_int_array int4[],
      c_text_array text[] NOT NULL,
      c_enum mood,
      c_domain positive_int
    );
    CREATE VIEW public.recent AS SELECT id, c_text, c_timestamptz FROM sales.all_types;
  `);
  await c.end();
  warehouse = await openWarehouse('postgres', { connection: db.url, log: silentLog });
});

afterAll(async () => {
  await warehouse?.close();
  await db?.stop();
});

const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, 'null'], ...extra });
const required = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type], ...extra });
/** Array elements: nullable values or, for up to 6 dimensions (Postgres's MAXDIM), arrays of them. */
const elements = (type: string, depth = 6): Record<string, unknown> =>
  depth <= 1 ? nullable(type) : { type: [type, 'null', 'array'], items: elements(type, depth - 1) };

describe('discovery (postgres)', () => {
  it('maps every column type to JSON Schema, with nullability', async () => {
    const settings = settingsFor(db.url, [
      { table: 'all_types', schema: 'sales', key_properties: ['id'], replication_key: 'c_timestamptz' },
    ]);
    const [stream] = await discoverStreams(warehouse, settings.streams);
    expect(stream!.config.name).toBe('sales-all_types');
    expect(stream!.schema).toEqual({
      type: 'object',
      properties: {
        id: required('integer'),
        c_smallint: required('integer'),
        c_integer: nullable('integer'),
        c_bigint: nullable('integer'),
        c_numeric: nullable('number'),
        c_decimal: nullable('number'),
        c_real: nullable('number'),
        // NaN and ±Infinity are written as null: numbers are nullable even when the column is NOT NULL.
        c_double: nullable('number'),
        c_text: required('string'),
        c_varchar: nullable('string'),
        c_char: nullable('string'),
        c_uuid: nullable('string', { format: 'uuid' }),
        c_boolean: required('boolean'),
        c_date: nullable('string', { format: 'date' }),
        c_timestamp: nullable('string', { format: 'date-time' }),
        c_timestamptz: required('string', { format: 'date-time' }),
        c_time: nullable('string'),
        c_json: { type: ['object', 'array', 'string', 'number', 'boolean', 'null'] },
        c_jsonb: { type: ['object', 'array', 'string', 'number', 'boolean', 'null'] },
        c_int_array: { type: ['array', 'null'], items: elements('integer') },
        c_text_array: { type: ['array'], items: elements('string') },
        c_enum: nullable('string'),
        c_domain: nullable('integer'),
      },
    });
  });

  it('builds a Singer catalog with tap-postgres style metadata', async () => {
    const settings = settingsFor(db.url, [
      { table: 'all_types', schema: 'sales', key_properties: ['id'], replication_key: 'c_timestamptz' },
      { table: 'recent', key_properties: ['id'], replication_method: 'FULL_TABLE' },
    ]);
    const catalog = catalogOf(await discoverStreams(warehouse, settings.streams));
    expect(catalog.streams.map((s) => s.tap_stream_id)).toEqual(['sales-all_types', 'public-recent']);
    const [table, view] = catalog.streams;
    expect(table!.key_properties).toEqual(['id']);
    expect(table!.metadata[0]).toEqual({
      breadcrumb: [],
      metadata: {
        'table-key-properties': ['id'],
        'forced-replication-method': 'INCREMENTAL',
        'replication-method': 'INCREMENTAL',
        'replication-key': 'c_timestamptz',
        'selected-by-default': true,
        'schema-name': 'sales',
        'table-name': 'all_types',
        'is-view': false,
      },
    });
    const column = (name: string) => table!.metadata.find((m) => m.breadcrumb[1] === name)!.metadata;
    expect(column('id')).toEqual({ 'sql-datatype': 'bigint', inclusion: 'automatic', 'selected-by-default': true });
    expect(column('c_timestamptz')).toMatchObject({ 'sql-datatype': 'timestamp with time zone', inclusion: 'automatic' });
    expect(column('c_numeric')).toMatchObject({ 'sql-datatype': 'numeric(20,0)', inclusion: 'available' });
    expect(column('c_int_array')['sql-datatype']).toBe('integer[]');
    expect(view!.metadata[0]!.metadata['is-view']).toBe(true);
    // Columns of a view cannot be declared NOT NULL, so all are nullable.
    expect(view!.schema).toMatchObject({ properties: { id: nullable('integer') } });
  });

  it('describes sql streams from the result columns (all nullable)', async () => {
    const settings = settingsFor(db.url, [
      {
        name: 'calls_by_day',
        sql: `SELECT id, c_numeric::numeric(10,2) AS amount, c_timestamptz AS at, ARRAY[id]::bigint[] AS ids,
                     c_jsonb -> 'x' AS x, c_domain AS d
                FROM sales.all_types;`,
        key_properties: ['id'],
        replication_key: 'at',
      },
    ]);
    const [stream] = await discoverStreams(warehouse, settings.streams);
    expect(stream!.schema).toEqual({
      type: 'object',
      properties: {
        id: nullable('integer'),
        amount: nullable('number'),
        at: nullable('string', { format: 'date-time' }),
        ids: { type: ['array', 'null'], items: elements('integer') },
        x: { type: ['object', 'array', 'string', 'number', 'boolean', 'null'] },
        d: nullable('integer'),
      },
    });
    expect(stream!.columns.map((c) => c.sqlType)).toEqual([
      'bigint',
      'numeric(10,2)',
      'timestamp with time zone',
      'bigint[]',
      'jsonb',
      'integer',
    ]);
  });

  it('refuses streams that do not match the database, naming the problem', async () => {
    const discover = (stream: Record<string, unknown>) => discoverStreams(warehouse, settingsFor(db.url, [stream]).streams);
    // A table that is not there is a configuration error (exit 2), like a column that is not there.
    await expect(discover({ table: 'nope', key_properties: [] })).rejects.toThrow(ConfigError);
    await expect(discover({ table: 'nope', key_properties: [] })).rejects.toThrow(/"public"."nope" not found/);
    await expect(discover({ table: 'all_types', schema: 'sales', key_properties: ['idd'] })).rejects.toThrow(
      /key property "idd" is not a column/,
    );
    await expect(discover({ table: 'all_types', schema: 'sales', key_properties: [], replication_key: 'c_jsonb' })).rejects.toThrow(
      ConfigError,
    );
    await expect(discover({ name: 'dup', sql: 'SELECT 1 AS a, 2 AS a', key_properties: [] })).rejects.toThrow(/two columns named "a"/);
    await expect(discover({ name: 'bad', sql: 'SELECT * FROM nowhere', key_properties: [] })).rejects.toThrow(
      /^stream "bad": the sql query failed: relation "nowhere" does not exist/,
    );
    await expect(discover({ name: 'bad', sql: 'SELECT 1 +', key_properties: [] })).rejects.toThrow(ConfigError);
    // Not a SELECT at all: refused with the settings, before any query.
    expect(() => discover({ name: 'bad', sql: 'SELEC 1', key_properties: [] })).toThrow(/exactly one read-only SELECT .*not SELEC/);
  });
});
