import type { Logger } from '../core/log.js';
import type { ConnectionSetting, DialectName } from './config.js';

/**
 * The seam between the tap and a database. Sync and discovery only see these types; everything that
 * depends on the database (SQL text, catalog queries, the text form of values, cursors) lives in one
 * implementation per dialect. Postgres is the first; MySQL or SQLite would add a file and an entry in
 * `openWarehouse`.
 */

/** What a column's values are, independent of the database: drives the JSON Schema and the encoding. */
export type ValueKind =
  /** Integers that a JS number holds exactly (smallint, integer, oid). */
  | { type: 'integer' }
  /** 64-bit and wider integers: written with their exact digits. */
  | { type: 'bigint' }
  /** Exact decimals (numeric/decimal): written with their exact digits, never through a double. */
  | { type: 'decimal' }
  | { type: 'float' }
  | { type: 'boolean' }
  | { type: 'string'; format?: 'uuid' }
  | { type: 'date' }
  /** A timestamp without time zone (written as UTC, the tap-postgres convention). */
  | { type: 'timestamp' }
  | { type: 'timestamptz' }
  /** Any JSON value (json/jsonb). */
  | { type: 'json' }
  /** `delimiter`: the element separator of the dialect's array text, when it has one. */
  | { type: 'array'; items: ValueKind; delimiter?: string };

export interface ColumnDescription {
  name: string;
  /** The database's own name of the type, e.g. `timestamp with time zone`, `integer[]`, `numeric(20,0)`. */
  sqlType: string;
  kind: ValueKind;
  nullable: boolean;
}

export interface TableDescription {
  columns: ColumnDescription[];
  isView: boolean;
}

export type StreamSource = { kind: 'table'; schema: string; table: string } | { kind: 'sql'; sql: string };

/** What to read for one stream. */
export interface ReadPlan {
  source: StreamSource;
  /** Column names, in the order the row arrays must follow. */
  columns: string[];
  /** Incremental streams: rows come ordered by this column. */
  replicationKey?: string;
  /**
   * With replicationKey: only rows whose key is >= this value (the bookmark row itself is sent again),
   * and rows whose key is NULL (they come first, in every run: NULL has no place in the key order).
   */
  bookmark?: string;
}

/** One row: values aligned with ReadPlan.columns, in the dialect's raw form (null for SQL NULL). */
export type RawRow = readonly unknown[];

/** Turns a non-null raw value into JSON text. */
export type JsonEncoder = (raw: unknown) => string;

export interface WarehouseConnection {
  readonly dialect: DialectName;
  /** Connects once, so a wrong host or password fails early with a clear message. */
  check(): Promise<void>;
  describeTable(schema: string, table: string): Promise<TableDescription>;
  /** The columns a query returns (every column is reported nullable: a query's nullability is unknown). */
  describeQuery(sql: string): Promise<ColumnDescription[]>;
  /**
   * Rows through a server-side cursor: memory stays flat however large the result is. Aborting `signal`
   * ends the read at once, even while the server is still working (the iteration then just ends).
   */
  streamRows(plan: ReadPlan, signal?: AbortSignal): AsyncIterable<RawRow>;
  /** Encoder of non-null raw values of this kind into JSON text (exact numbers, ISO-8601 times). */
  encoderFor(kind: ValueKind): JsonEncoder;
  /**
   * The bookmark (state) value of a non-null replication-key value: a string, or an exact number
   * (lossless-json LosslessNumber), as written into STATE.
   */
  bookmarkValue(kind: ValueKind, raw: unknown): unknown;
  close(): Promise<void>;
}

export interface OpenOptions {
  connection: ConnectionSetting;
  log: Logger;
}

export async function openWarehouse(dialect: DialectName, options: OpenOptions): Promise<WarehouseConnection> {
  switch (dialect) {
    case 'postgres': {
      const { openPostgres } = await import('./postgres-dialect.js');
      return openPostgres(options);
    }
  }
}

/** Kinds that can order rows and be compared with a bookmark. */
export function isOrderable(kind: ValueKind): boolean {
  return kind.type !== 'json' && kind.type !== 'array' && kind.type !== 'boolean';
}
