import knex, { type Knex } from 'knex';
import type pg from 'pg';
import type { ConnectionSetting } from './config.js';
import { connectionSecrets, describeConnection } from './config.js';
import type {
  ColumnDescription,
  JsonEncoder,
  OpenOptions,
  RawRow,
  ReadPlan,
  TableDescription,
  ValueKind,
  WarehouseConnection,
} from './dialect.js';
import { ConfigError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { failureKind, redact, WarehouseConnectError, warehouseError } from './errors.js';
import { postgresBookmarkValue, postgresEncoder } from './postgres-text.js';
import { kindOfType, missingTypeOids, type PgTypeRow } from './postgres-types.js';

/**
 * Postgres through knex (pool, connection settings) and pg (cursor streaming). The connections of this
 * pool parse nothing: a per-client `types` option hands every value over as the server's text, which
 * postgres-text.ts turns into exact JSON. The process-wide pg type parsers are left alone.
 */

const TEXT_AS_IS = { getTypeParser: () => (value: string) => value };

/**
 * Session settings that fix the text form of values: UTC offsets, ISO dates, shortest exact floats
 * (also on servers older than 12), ISO-8601 intervals. The session is read-only: a tap never writes.
 * A read holds a transaction open while the tap waits for its consumer (the target), so a role's
 * idle_in_transaction_session_timeout would kill a read for the target's pace: it is off for the tap's
 * own sessions (statement_timeout stays as the role has it, and applies to each FETCH).
 */
const SESSION_SETUP = [
  "SET TIME ZONE 'UTC'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'iso_8601'",
  'SET extra_float_digits = 3',
  'SET default_transaction_read_only = on',
  'SET idle_in_transaction_session_timeout = 0',
].join('; ');

/** Rows per FETCH: at most this many rows of a stream are in memory at once. */
const CURSOR_BATCH = 1000;

const SUBQUERY_ALIAS = 'tap_warehouse_q';
const CURSOR_NAME = 'tap_warehouse_rows';

/** The extended protocol (Parse/Bind/Execute): one statement per message, the server refuses a second. */
const EXTENDED = { queryMode: 'extended' } as Record<string, unknown>;

/** A `sql` stream's text as a subquery; the line breaks keep a trailing `--` comment from eating the alias. */
function subquery(sql: string): string {
  return `(\n${sql}\n) AS ${SUBQUERY_ALIAS}`;
}

export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** The SELECT that reads a stream: explicit columns, bookmark filter and key order for incremental plans. */
export function selectSql(plan: ReadPlan): { text: string; values: string[] } {
  const from =
    plan.source.kind === 'table'
      ? `${quoteIdent(plan.source.schema)}.${quoteIdent(plan.source.table)}`
      : subquery(plan.source.sql);
  const columns = plan.columns.map(quoteIdent).join(', ');
  let text = `SELECT ${columns} FROM ${from}`;
  const values: string[] = [];
  if (plan.replicationKey !== undefined) {
    const key = quoteIdent(plan.replicationKey);
    if (plan.bookmark !== undefined) {
      values.push(plan.bookmark);
      // The parameter takes the key column's type, so the bookmark text is compared as a timestamp, number ...
      // Rows whose key is NULL have no place in the key order: they are read in every run, first, before
      // any bookmark can move past them (README: "NULL replication keys").
      text += ` WHERE (${key} >= $1 OR ${key} IS NULL)`;
    }
    text += ` ORDER BY ${key} NULLS FIRST`;
  }
  return { text, values };
}

function pgConnectionConfig(connection: ConnectionSetting): pg.ClientConfig {
  // keepAlive: a connection whose peer vanished without a word (a failover, a NAT dropping it) errors
  // after the kernel's keepalive probes instead of waiting forever.
  const common = { types: TEXT_AS_IS, application_name: 'tap-warehouse', connectionTimeoutMillis: 30_000, keepAlive: true, keepAliveInitialDelayMillis: 10_000 };
  if (typeof connection === 'string') return { connectionString: connection, ...common };
  return {
    host: connection.host,
    port: connection.port,
    user: connection.user,
    password: connection.password,
    database: connection.database,
    ...(connection.ssl !== undefined ? { ssl: connection.ssl } : {}),
    ...common,
  };
}

type PgClient = pg.Client;

export async function openPostgres(options: OpenOptions): Promise<WarehouseConnection> {
  const { log } = options;
  const secrets = connectionSecrets(options.connection);
  const where = describeConnection(options.connection);
  const db: Knex = knex({
    client: 'pg',
    connection: pgConnectionConfig(options.connection) as Knex.PgConnectionConfig,
    pool: {
      min: 0,
      max: 2,
      afterCreate(conn: PgClient, done: (err: Error | null, conn: PgClient) => void) {
        conn.query(SESSION_SETUP).then(
          () => done(null, conn),
          (e: Error) => done(e, conn),
        );
      },
    },
    acquireConnectionTimeout: 60_000,
    // knex's own messages must not reach stdout (it carries Singer messages only). Its warnings repeat
    // errors the tap reports itself (with a stack), so they go to the debug log, scrubbed of secrets.
    log: {
      warn: (m: unknown) => log.debug({ knex: redact(String(m), secrets) }, 'knex warning'),
      error: (m: unknown) => log.error({ knex: redact(String(m), secrets) }, 'knex error'),
      deprecate: (m: unknown) => log.debug({ knex: String(m) }, 'knex deprecation'),
      debug: (m: unknown) => log.debug({ knex: redact(String(m), secrets) }, 'knex debug'),
    },
  });

  // The error's class (exit code) follows what the driver's error means: connect (6), config (2), data (3).
  const fail = (what: string, e: unknown) => warehouseError(redact(`${what}: ${(e as Error)?.message ?? String(e)}`, secrets), e);

  async function acquire(): Promise<PgClient> {
    try {
      return (await db.client.acquireConnection()) as PgClient;
    } catch (e) {
      throw fail(`cannot connect to postgres at ${where}`, e);
    }
  }

  async function withConnection<T>(fn: (c: PgClient) => Promise<T>): Promise<T> {
    const conn = await acquire();
    try {
      return await fn(conn);
    } finally {
      await db.client.releaseConnection(conn);
    }
  }

  async function rows(c: PgClient, text: string, values: unknown[] = []): Promise<Record<string, string | null>[]> {
    return (await c.query(text, values)).rows as Record<string, string | null>[];
  }

  /** pg_type rows for the OIDs and every type they lead to (domain bases, array elements). */
  async function loadTypes(c: PgClient, oids: number[]): Promise<Map<number, PgTypeRow>> {
    const types = new Map<number, PgTypeRow>();
    let want = [...new Set(oids)];
    while (want.length > 0) {
      const found = await rows(
        c,
        `SELECT oid::int8 AS oid, typname, typtype, typcategory, typelem::int8 AS typelem,
                typbasetype::int8 AS typbasetype, typdelim
           FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])`,
        [want],
      );
      for (const r of found) {
        const t: PgTypeRow = {
          oid: Number(r.oid),
          typname: r.typname!,
          typtype: r.typtype!,
          typcategory: r.typcategory!,
          typelem: Number(r.typelem),
          typbasetype: Number(r.typbasetype),
          typdelim: r.typdelim!,
        };
        types.set(t.oid, t);
      }
      const tried = new Set(want);
      want = missingTypeOids(types).filter((o) => !tried.has(o));
    }
    return types;
  }

  return {
    dialect: 'postgres',

    async check() {
      await withConnection(async (c) => {
        try {
          await c.query('SELECT 1');
        } catch (e) {
          throw fail(`cannot query postgres at ${where}`, e);
        }
      });
    },

    async describeTable(schema: string, table: string): Promise<TableDescription> {
      return withConnection(async (c) => {
        const cols = await rows(
          c,
          `SELECT a.attname, a.atttypid::int8 AS atttypid, a.attnotnull,
                  pg_catalog.format_type(a.atttypid, a.atttypmod) AS sql_type, cl.relkind
             FROM pg_catalog.pg_class cl
             JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
             LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = $1 AND cl.relname = $2 AND cl.relkind IN ('r', 'p', 'v', 'm', 'f')
            ORDER BY a.attnum`,
          [schema, table],
        ).catch((e) => {
          throw fail(`cannot read the columns of ${schema}.${table}`, e);
        });
        if (cols.length === 0) {
          const names = await rows(
            c,
            `SELECT cl.relname FROM pg_catalog.pg_class cl JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
              WHERE n.nspname = $1 AND cl.relkind IN ('r', 'p', 'v', 'm', 'f')`,
            [schema],
          ).catch(() => []);
          const hint = didYouMean(table, names.map((r) => r.relname!));
          throw new ConfigError(`table or view "${schema}"."${table}" not found in ${where} (or not visible to this user)${hint}`);
        }
        const types = await loadTypes(
          c,
          cols.filter((r) => r.attname !== null).map((r) => Number(r.atttypid)),
        );
        return {
          isView: cols[0]!.relkind === 'v' || cols[0]!.relkind === 'm',
          columns: cols
            .filter((r) => r.attname !== null)
            .map((r) => ({
              name: r.attname!,
              sqlType: r.sql_type!,
              kind: kindOfType(Number(r.atttypid), types),
              nullable: r.attnotnull !== 't',
            })),
        };
      });
    },

    async describeQuery(sql: string): Promise<ColumnDescription[]> {
      return withConnection(async (c) => {
        let fields: pg.FieldDef[];
        // One prepared statement (a second one is refused by the server) in a read-only transaction that
        // is rolled back: whatever the text holds, describing it changes nothing.
        try {
          await c.query('BEGIN TRANSACTION READ ONLY');
          try {
            fields = (await c.query({ text: `SELECT * FROM ${subquery(sql)} LIMIT 0`, ...EXTENDED })).fields;
          } finally {
            await c.query('ROLLBACK');
          }
        } catch (e) {
          const error = fail('the sql query failed', e);
          // Anything the database refuses here (syntax, names, rights, a data-modifying WITH) is the query's fault.
          throw error instanceof WarehouseConnectError ? error : new ConfigError(error.message);
        }
        if (!Array.isArray(fields)) throw new ConfigError('the sql query returns no columns; a "sql" stream is one SELECT');
        const names = new Set<string>();
        for (const f of fields) {
          if (names.has(f.name)) throw new ConfigError(`the sql query returns two columns named "${f.name}"; give them distinct aliases`);
          names.add(f.name);
        }
        const types = await loadTypes(
          c,
          fields.map((f) => f.dataTypeID),
        );
        const formatted = await rows(
          c,
          `SELECT pg_catalog.format_type(t.o, t.m) AS sql_type
             FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS t(o, m, n) ORDER BY t.n`,
          [fields.map((f) => f.dataTypeID), fields.map((f) => f.dataTypeModifier)],
        );
        return fields.map((f, k) => ({
          name: f.name,
          sqlType: formatted[k]?.sql_type ?? String(f.dataTypeID),
          kind: kindOfType(f.dataTypeID, types),
          nullable: true,
        }));
      });
    },

    async *streamRows(plan: ReadPlan, signal?: AbortSignal): AsyncIterable<RawRow> {
      const { text, values } = selectSql(plan);
      const conn = await acquire();
      // A cursor read with FETCH: each FETCH is a statement of its own, so a role's statement_timeout
      // bounds the server's work per batch, never the time the tap waits for its consumer.
      let lost: unknown;
      const onLost = (e?: unknown) => (lost ??= e ?? new Error('Connection terminated unexpectedly'));
      conn.on('error', onLost);
      conn.on('end', onLost);
      // SIGTERM while a FETCH waits on the server: drop the connection, the read ends now.
      const onAbort = () => void conn.end().catch(() => undefined);
      signal?.addEventListener('abort', onAbort);
      let open = false;
      try {
        try {
          await conn.query('BEGIN TRANSACTION READ ONLY');
          open = true;
          await conn.query({ text: `DECLARE ${CURSOR_NAME} NO SCROLL CURSOR FOR ${text}`, values, ...EXTENDED });
          const fetch = { text: `FETCH ${CURSOR_BATCH} FROM ${CURSOR_NAME}`, rowMode: 'array' as const };
          for (;;) {
            if (signal?.aborted) return;
            const batch = (await conn.query(fetch)).rows as RawRow[];
            for (const row of batch) yield row;
            if (batch.length < CURSOR_BATCH) break;
          }
        } catch (e) {
          if (signal?.aborted) return;
          if (lost !== undefined && failureKind(e) !== 'connect') {
            throw new WarehouseConnectError(redact(`reading rows failed: the connection was lost: ${(e as Error)?.message ?? String(e)}`, secrets));
          }
          throw fail('reading rows failed', e);
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
        if (open && lost === undefined && !signal?.aborted) await conn.query('ROLLBACK').catch(() => undefined);
        conn.off('error', onLost);
        conn.off('end', onLost);
        await db.client.releaseConnection(conn);
      }
    },

    encoderFor(kind: ValueKind): JsonEncoder {
      return postgresEncoder(kind);
    },

    bookmarkValue(kind: ValueKind, raw: unknown): unknown {
      return postgresBookmarkValue(kind, raw);
    },

    async close() {
      await db.destroy();
    },
  };
}
