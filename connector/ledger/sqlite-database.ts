import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { SqlDatabase, SqlRunner, SqlValue } from './database.js';
import { LEDGER_MIGRATIONS_TABLE, ledgerMigrationsKey, ledgerMigrationNames } from './migrations.js';

/**
 * The SQLite ledger through better-sqlite3 directly: the store's SQL runs on one connection, one statement
 * or transaction at a time (as knex's single SQLite connection did). Its schema comes from the migrations
 * in migrations.ts, run by knex's migrator, which loads only when the file needs one: a file that is up to
 * date opens without it, and a new file gets the schema the migrator makes, as captured at build time
 * (SQLITE_SCHEMA_FILE, written by scripts/post-build.mjs).
 */

/** What the migrations make in a new SQLite ledger, captured at build time next to the built module. */
export const SQLITE_SCHEMA_FILE = 'sqlite-schema.generated.json';

export interface SqliteSchemaSnapshot {
  /** ledgerMigrationsKey() of the migrations it was made by: any other key means it is stale. */
  migrationsKey: string;
  /** The migrations it holds, in the order they ran. */
  migrations: string[];
  /** `CREATE …` of every table and index, in the order the migrator made them. */
  statements: string[];
}

/** Statements prepared once per SQL text; the store's texts vary only with chunk sizes, so few are kept. */
const MAX_CACHED_STATEMENTS = 200;

export class SqliteDatabase implements SqlDatabase {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  readonly file: string;
  private conn: Database.Database | undefined;
  private readonly statements = new Map<string, Database.Statement>();
  /** Statements and transactions run one at a time: the connection is one. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly inTransaction: SqlRunner = {
    all: async (sql, params) => this.allNow(sql, params),
    run: async (sql, params) => this.runNow(sql, params),
  };

  /** Resolves the file and makes its folder (throws when it cannot: no database is opened yet). */
  constructor(path: string) {
    this.file = resolve(path);
    this.location = `SQLite ${this.file}`;
    mkdirSync(dirname(this.file), { recursive: true });
  }

  /**
   * Opens the file (creating it if needed) and brings its schema up to date. `snapshot` (tests): the schema
   * of a new file; by default the one captured at build time, if any.
   */
  async open(snapshot?: SqliteSchemaSnapshot | null): Promise<void> {
    const conn = new Database(this.file);
    this.conn = conn;
    // WAL: readers (rejects list, audits) do not block the run; NORMAL sync is durable in WAL mode except
    // for the last transactions before a power cut, which a rerun re-sends.
    conn.pragma('journal_mode = WAL');
    conn.pragma('synchronous = NORMAL');
    conn.pragma('busy_timeout = 10000');
    // 4 MB of page cache, not better-sqlite3's 16 MB default: the ledger reads each row about once per run,
    // so a bigger cache only adds to peak memory (measured: −12 MB peak RSS, same CPU).
    conn.pragma('cache_size = -4000');
    if (this.upToDate()) return;
    const schema = snapshot === undefined ? builtSnapshot() : snapshot;
    if (schema && this.createFrom(schema)) return;
    await this.migrateWithKnex();
  }

  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.exclusive(() => this.allNow<T>(sql, params));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<void> {
    return this.exclusive(() => this.runNow(sql, params));
  }

  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const conn = this.connection();
      conn.exec('BEGIN');
      try {
        const result = await work(this.inTransaction);
        conn.exec('COMMIT');
        return result;
      } catch (e) {
        if (conn.open && conn.inTransaction) conn.exec('ROLLBACK');
        throw e;
      }
    });
  }

  async close(): Promise<void> {
    await this.queue;
    this.statements.clear();
    this.conn?.close();
  }

  private exclusive<T>(work: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private connection(): Database.Database {
    // A closed connection throws better-sqlite3's own error at its next statement.
    if (!this.conn) throw new TypeError('The database connection is not open');
    return this.conn;
  }

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.connection().prepare(sql);
      if (this.statements.size >= MAX_CACHED_STATEMENTS) this.statements.clear();
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private allNow<T>(sql: string, params: readonly SqlValue[] = []): T[] {
    return this.prepare(sql).all(params.map(bindable)) as T[];
  }

  private runNow(sql: string, params: readonly SqlValue[] = []): void {
    this.prepare(sql).run(params.map(bindable));
  }

  /** Every migration ran (and none is running): knex's migrator would do nothing, so it is not loaded. */
  private upToDate(): boolean {
    const conn = this.connection();
    const tables = conn.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)`).pluck().all(LEDGER_MIGRATIONS_TABLE, `${LEDGER_MIGRATIONS_TABLE}_lock`);
    if (tables.length < 2) return false;
    const done = conn.prepare(`SELECT name FROM "${LEDGER_MIGRATIONS_TABLE}" ORDER BY id`).pluck().all() as string[];
    const locked = conn.prepare(`SELECT count(*) FROM "${LEDGER_MIGRATIONS_TABLE}_lock" WHERE is_locked = 1`).pluck().get() as number;
    const names = ledgerMigrationNames();
    return locked === 0 && done.length === names.length && names.every((name) => done.includes(name));
  }

  /**
   * A new, empty file gets the schema of `snapshot` in one transaction, recorded as knex's migrator records
   * its work (one batch, and its lock row), so later versions migrate it as any other. False when the file
   * is not empty (another process made it meanwhile) or the snapshot is stale.
   */
  private createFrom(snapshot: SqliteSchemaSnapshot): boolean {
    if (snapshot.migrationsKey !== ledgerMigrationsKey()) return false;
    const conn = this.connection();
    conn.exec('BEGIN IMMEDIATE');
    try {
      const objects = conn.prepare('SELECT count(*) FROM sqlite_master').pluck().get() as number;
      if (objects > 0) {
        conn.exec('ROLLBACK');
        return false;
      }
      for (const statement of snapshot.statements) conn.exec(statement);
      // knex binds the Date of migration_time as its milliseconds in SQLite.
      const record = conn.prepare(`INSERT INTO "${LEDGER_MIGRATIONS_TABLE}" ("name", "batch", "migration_time") VALUES (?, 1, ?)`);
      const now = Date.now();
      for (const name of snapshot.migrations) record.run(name, now);
      conn.prepare(`INSERT INTO "${LEDGER_MIGRATIONS_TABLE}_lock" ("is_locked") VALUES (0)`).run();
      conn.exec('COMMIT');
      return true;
    } catch (e) {
      if (conn.inTransaction) conn.exec('ROLLBACK');
      throw e;
    }
  }

  private async migrateWithKnex(): Promise<void> {
    const { knexSqlite, migrateLedger } = await import('./knex-database.js');
    const db = knexSqlite(this.file);
    try {
      await migrateLedger(db);
    } finally {
      await db.destroy();
    }
  }
}

/** better-sqlite3 binds no booleans: 1 and 0, as knex stored them. */
function bindable(v: SqlValue): string | number | null {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

let snapshotFile: SqliteSchemaSnapshot | null | undefined;

function builtSnapshot(): SqliteSchemaSnapshot | null {
  if (snapshotFile === undefined) {
    const file = fileURLToPath(new URL(SQLITE_SCHEMA_FILE, import.meta.url));
    snapshotFile = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SqliteSchemaSnapshot) : null;
  }
  return snapshotFile;
}

/**
 * The schema knex's migrator makes in a new SQLite ledger: every migration run on an empty database, and
 * what it made read back. For the build, and for the tests that compare the two ways of making a file.
 */
export async function sqliteSchemaSnapshot(): Promise<SqliteSchemaSnapshot> {
  const { knexSqlite, migrateLedger } = await import('./knex-database.js');
  const db = knexSqlite(':memory:');
  try {
    await migrateLedger(db);
    const objects = (await db.raw(`SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND substr(name, 1, 7) <> 'sqlite_' ORDER BY rowid`)) as { sql: string }[];
    const done = (await db.raw(`SELECT name FROM "${LEDGER_MIGRATIONS_TABLE}" ORDER BY id`)) as { name: string }[];
    return { migrationsKey: ledgerMigrationsKey(), migrations: done.map((r) => r.name), statements: objects.map((o) => o.sql) };
  } finally {
    await db.destroy();
  }
}
