import knex, { type Knex } from 'knex';
import { redact } from '../core/secrets.js';
import type { SqlDatabase, SqlRunner, SqlValue } from './database.js';
import { LEDGER_MIGRATIONS_TABLE, LedgerMigrationSource } from './migrations.js';

/**
 * knex's side of the ledger: the Postgres ledger (the store's SQL through `knex.raw`, knex's pool and
 * search_path), and the one migrator of both backends (knex's, over the migrations in migrations.ts).
 * Loaded only for a Postgres ledger or a SQLite file that needs a migration.
 */

/**
 * knex's own messages (a failed pool acquire, deprecations) go to stderr, one redacted line each: its
 * default logger writes to stdout, which carries the state lines. The failures themselves reach the run as
 * errors; these lines are only context.
 */
const KNEX_LOG = {
  warn: (m: unknown) => knexLine('warning', m),
  error: (m: unknown) => knexLine('error', m),
  deprecate: (m: unknown) => knexLine('deprecation', m),
  debug: () => undefined,
};

function knexLine(kind: string, m: unknown): void {
  const text = m instanceof Error ? m.message : typeof m === 'string' ? m : JSON.stringify(m);
  process.stderr.write(`target-siro: ledger ${kind}: ${redact(String(text).split('\n')[0]!)}\n`);
}

/** Brings the ledger's schema up to date (in `schema`, created if missing, for Postgres). */
export async function migrateLedger(db: Knex, schema?: string): Promise<void> {
  if (schema !== undefined) await db.raw('CREATE SCHEMA IF NOT EXISTS ??', [schema]);
  await db.migrate.latest({
    migrationSource: new LedgerMigrationSource(),
    tableName: LEDGER_MIGRATIONS_TABLE,
    ...(schema !== undefined ? { schemaName: schema } : {}),
  });
}

/** knex on a SQLite file, for its migrator (sqlite-database.ts runs the queries). */
export function knexSqlite(file: string): Knex {
  return knex({
    client: 'better-sqlite3',
    connection: { filename: file },
    useNullAsDefault: true,
    log: KNEX_LOG,
    pool: {
      afterCreate(conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
        try {
          // As sqlite-database.ts opens its connection.
          conn.pragma('journal_mode = WAL');
          conn.pragma('synchronous = NORMAL');
          conn.pragma('busy_timeout = 10000');
          done(null, conn);
        } catch (e) {
          done(e as Error, conn);
        }
      },
    },
  });
}

/** The Postgres ledger: a schema (created if missing) that holds the ledger's tables. */
export class PostgresDatabase implements SqlDatabase {
  readonly kind = 'postgres' as const;
  readonly location: string;
  private readonly db: Knex;

  constructor(
    url: string,
    private readonly schema: string,
  ) {
    this.db = knex({
      client: 'pg',
      connection: url,
      searchPath: [schema],
      log: KNEX_LOG,
      pool: { min: 0, max: 4 },
    });
    let host = 'Postgres';
    try {
      const u = new URL(url);
      host = `Postgres ${u.hostname}${u.port ? ':' + u.port : ''}${u.pathname}`;
    } catch {
      // not a URL (a libpq keyword string): say only that it is Postgres
    }
    this.location = `${host}, schema ${schema}`;
  }

  open(): Promise<void> {
    return migrateLedger(this.db, this.schema);
  }

  all<T = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return allOn<T>(this.db, sql, params);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    await this.db.raw(sql, params as SqlValue[]);
  }

  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.db.transaction((trx) =>
      work({
        all: (sql, params = []) => allOn(trx, sql, params),
        run: async (sql, params = []) => {
          await trx.raw(sql, params as SqlValue[]);
        },
      }),
    );
  }

  close(): Promise<void> {
    return this.db.destroy();
  }
}

async function allOn<T>(db: Knex | Knex.Transaction, sql: string, params: readonly SqlValue[]): Promise<T[]> {
  const result = (await db.raw(sql, params as SqlValue[])) as { rows: T[] };
  return result.rows;
}
