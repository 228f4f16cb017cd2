/**
 * What the ledger store needs of a database: plain SQL with `?` parameters, written once in store.ts and
 * run by either backend. SQLite goes through better-sqlite3 directly (sqlite-database.ts), Postgres through
 * knex (knex-database.ts); each loads only when a ledger of its kind is opened, so a run with the default
 * SQLite ledger never loads knex (unless the file needs a migration).
 *
 * The SQL is the common part of both dialects: identifiers in double quotes, `ON CONFLICT … DO UPDATE`
 * with `excluded`, `LIMIT ?`. Values are strings, numbers, null and booleans (SQLite stores those as 1/0).
 */

export type SqlValue = string | number | boolean | null;

export interface SqlRunner {
  /** The rows a query returns. */
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a statement that returns no rows. */
  run(sql: string, params?: readonly SqlValue[]): Promise<void>;
}

export interface SqlDatabase extends SqlRunner {
  readonly kind: 'sqlite' | 'postgres';
  /** Where the database is, for logs: never a URL (it may hold a password). */
  readonly location: string;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** `(?, ?, ?)`: the placeholders of one row of `n` values (or of an IN list). */
export function placeholders(n: number): string {
  return `(${new Array<string>(n).fill('?').join(', ')})`;
}
