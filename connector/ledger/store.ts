import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Settings } from '../config/settings.js';
import { ConfigError, EXIT_CODES, TargetError, ioCause } from '../core/errors.js';
import { parseExact } from '../singer/exact-json.js';
import { placeholders, type SqlDatabase, type SqlRunner, type SqlValue } from './database.js';

/**
 * The ledger: per (object, externalId) what Siro last acknowledged (fingerprint, payload, Siro id), the last
 * refusal, and the full-table pass the row was last seen in; plus one row per run. A SQLite file by default,
 * or a schema in Postgres (e.g. the warehouse itself). Every operation is bulk and chunked, so a run over
 * millions of rows costs a few thousand statements, not millions. Each query is written here once, in the
 * SQL both backends speak (database.ts); sqlite-database.ts and knex-database.ts run it.
 */

export interface LedgerOpenOptions {
  /** Postgres URL: the ledger lives in `schema` there. Without it, the SQLite file `path` is used. */
  url?: string;
  /** Postgres schema, created if missing. Default target_siro. */
  schema?: string;
  /** SQLite file, created with its folder if missing. Default state/ledger.sqlite. */
  path?: string;
  /**
   * Setting sync_log_retention_days: at the end of a run (finishRun), sync log rows of runs that started
   * more than this many days ago are deleted; 0 keeps them forever. Default 90.
   */
  syncLogRetentionDays?: number;
}

/** What the ledger knows of one externalId, as change detection needs it. */
export interface KnownRow {
  /** Fingerprint of the payload Siro last acknowledged; null when it never acknowledged one. */
  fingerprint: string | null;
  /** A refusal is recorded and no payload was acknowledged since. */
  rejected: boolean;
  /** Soft-deleted by the target (deletedAt sent and acknowledged). */
  deleted: boolean;
}

export interface LedgerRow {
  object: string;
  externalId: string;
  stream: string;
  fingerprint: string | null;
  siroId: string | null;
  ackedAt: string | null;
  runId: string | null;
  payload: Record<string, unknown> | null;
  lastPass: string | null;
  deletedAt: string | null;
  lastRejectionReason: string | null;
  lastRejectedAt: string | null;
  rejectedStatus: number | null;
  rejectedPayload: Record<string, unknown> | null;
  rejectedRunId: string | null;
  /** Where the last refusal happened: `schema` or `mapping` (before delivery), `siro`; null before 002. */
  rejectedStage: RejectionStage | null;
  /** The source record of a row refused before delivery (its mapping can be run again). */
  rejectedRecord: Record<string, unknown> | null;
}

export type RejectionStage = 'schema' | 'mapping' | 'siro';

/** One change to the ledger; a batch of them is written in one transaction by `write`. */
export type LedgerWrite =
  | {
      kind: 'ack';
      object: string;
      externalId: string;
      stream: string;
      fingerprint: string;
      siroId?: string;
      /** The acknowledged payload as JSON text. */
      payload: string;
      runId: string;
      /** The pass the row was read in (record items); keeps the row's mark otherwise. */
      pass?: string;
      /** Set for an acknowledged soft delete; an acknowledged upsert clears it. */
      deletedAt: string | null;
      at: string;
    }
  | {
      kind: 'reject';
      object: string;
      externalId: string;
      stream: string;
      reason: string;
      status?: number;
      /** The refused payload as JSON text, for a retry; null when there is none worth retrying. */
      payload: string | null;
      stage?: RejectionStage;
      /** The source record as JSON text, for a row refused before delivery (re-mapped on retry). */
      record?: string | null;
      runId: string;
      pass?: string;
      at: string;
    }
  /** Siro already holds the row's payload again: a recorded refusal is moot. */
  | { kind: 'clear-rejection'; object: string; externalId: string };

export type RunStatus = 'running' | 'ok' | 'failed' | 'interrupted';

/**
 * What the target did with a row in a run, as the sync log records it: the change decision (change.ts) of
 * a row it sent (create, update, resurrect, delete) or did not send (unchanged), or `reject` for a row it
 * refused itself before delivery (its stream's schema, the mapping).
 */
export type SyncOperation = 'create' | 'update' | 'resurrect' | 'delete' | 'unchanged' | 'reject';
/** What came of it: Siro acknowledged it, it was not sent (Siro already holds it), or it was refused. */
export type SyncStatus = 'acked' | 'unchanged' | 'rejected';

/** One row of the sync log (table sync_log; README "The sync log"). */
export interface SyncLogRow {
  id: number;
  runId: string;
  stream: string;
  object: string;
  externalId: string;
  operation: SyncOperation;
  status: SyncStatus;
  /** The HTTP status of Siro's refusal; null otherwise. */
  httpStatus: number | null;
  /** Where a refusal happened (schema, mapping, siro); null otherwise. */
  stage: RejectionStage | null;
  /** Siro's message or the rejection reason; null otherwise. */
  message: string | null;
  at: string;
}

export interface SyncLogQuery {
  externalId: string;
  object?: string;
  stream?: string;
  limit: number;
}

/**
 * Sync log rows gathered for one `write`, as flat column values (the hot path: one small array push per row,
 * no object per row).
 */
export class SyncLogBatch {
  /** Values in SYNC_LOG_COLUMNS order, row after row. */
  readonly values: SqlValue[] = [];

  get size(): number {
    return this.values.length / SYNC_LOG_COLUMNS.length;
  }

  constructor(
    readonly runId: string,
    readonly at: string,
  ) {}

  add(
    row: { stream: string; object: string; externalId: string },
    operation: SyncOperation,
    status: SyncStatus,
    detail?: { httpStatus?: number; stage?: RejectionStage; message?: string },
  ): void {
    this.values.push(
      this.runId,
      row.stream,
      row.object,
      row.externalId,
      operation,
      status,
      detail?.httpStatus ?? null,
      detail?.stage ?? null,
      detail?.message === undefined ? null : clip(detail.message),
      this.at,
    );
  }
}

export interface RunCounts {
  read: number;
  sent: number;
  unchanged: number;
  rejected: number;
  deleted: number;
}

export interface RunRow extends RunCounts {
  runId: string;
  kind: string;
  startedAt: string;
  endedAt: string | null;
  status: RunStatus;
  dryRun: boolean;
  lastState: string | null;
}

export interface RowKey {
  object: string;
  externalId: string;
}

export interface RejectedQuery {
  stream?: string;
  /** Only rows with something to retry: a refused payload, or a source record to map again. */
  withPayload?: boolean;
  /** Leave out rows read in this run (their new payload wins over the refused one). */
  notSeenInRun?: string;
  after?: RowKey;
  limit: number;
}

/** The ledger failed during a run (disk full, database gone): the run stops without printing further states. */
export class LedgerError extends TargetError {
  /** The ledger is where outcomes are recorded: failing to use it is an output failure (see OutputError). */
  readonly exitCode = EXIT_CODES.output;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerError';
  }
}

/** The columns of a recorded refusal: an acknowledged payload clears them, as any refusal is then moot. */
const REJECTION_COLUMNS = [
  'last_rejection_reason',
  'last_rejected_at',
  'rejected_status',
  'rejected_payload',
  'rejected_run_id',
  'rejected_stage',
  'rejected_record',
] as const;

/** Bound parameters per statement stay well under SQLite's (32766) and Postgres's (65535) limits. */
const LOOKUP_CHUNK = 500;
const UPSERT_CHUNK = 200;
const MAX_REASON_CHARS = 4000;

const TABLE = 'ledger_objects';
const SYNC_LOG = 'sync_log';
/** The columns a sync log row is written with (id is the database's). */
const SYNC_LOG_COLUMNS = ['run_id', 'stream', 'object', 'external_id', 'operation', 'status', 'http_status', 'stage', 'message', 'at'] as const;
/** Rows per sync log INSERT (5,000 parameters): a chunk of the ledger sink is one statement. */
const SYNC_LOG_CHUNK = 500;
export const DEFAULT_SYNC_LOG_RETENTION_DAYS = 90;
const DAY_MS = 86_400_000;
const CLEAR_REJECTION = REJECTION_COLUMNS.map((c) => `${c} = NULL`).join(', ');

/** An acknowledged payload: what Siro holds now, and no refusal. */
const ACK_COLUMNS = ['object', 'external_id', 'stream', 'fingerprint', 'siro_id', 'acked_at', 'run_id', 'payload', 'last_pass', 'deleted_at'] as const;
const ACK_UPSERT = upsert(
  ACK_COLUMNS,
  `stream = excluded.stream, fingerprint = excluded.fingerprint, siro_id = ${keep('siro_id')}, acked_at = excluded.acked_at, ` +
    `run_id = excluded.run_id, payload = excluded.payload, last_pass = ${keep('last_pass')}, deleted_at = excluded.deleted_at, ${CLEAR_REJECTION}`,
);

/** A refusal: recorded next to whatever Siro holds. */
const REJECT_COLUMNS = ['object', 'external_id', 'stream', 'last_pass', ...REJECTION_COLUMNS] as const;
const REJECT_UPSERT = upsert(
  REJECT_COLUMNS,
  [`last_pass = ${keep('last_pass')}`, ...REJECTION_COLUMNS.map((c) => `${c} = excluded.${c}`)].join(', '),
);

/** The run counts a run row holds, each its own column. */
const RUN_COUNT_COLUMNS: readonly (keyof RunCounts)[] = ['read', 'sent', 'unchanged', 'rejected', 'deleted'];

/** Rows Siro holds (acknowledged, not soft-deleted) of a stream (one parameter: the stream). */
const LIVE = 'stream = ? AND acked_at IS NOT NULL AND deleted_at IS NULL';
/** Live rows of a stream that a pass did not read (parameters: the stream, the pass). */
const UNSEEN = `${LIVE} AND (last_pass IS NULL OR NOT last_pass = ?)`;

export class LedgerStore {
  /**
   * Transactions of this process run one at a time: a lookup marking rows and a write of acks for the
   * same rows could otherwise lock them in opposite orders (a Postgres deadlock). SQLite has one
   * connection anyway.
   */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: SqlDatabase,
    private readonly syncLogRetentionDays: number,
  ) {}

  get kind(): 'sqlite' | 'postgres' {
    return this.db.kind;
  }

  /** Where the ledger is, for logs: never the URL (it may hold a password). */
  get location(): string {
    return this.db.location;
  }

  /**
   * Opens (creating if needed) the ledger and brings its schema up to date. The database layer of its kind
   * loads here: better-sqlite3 for the SQLite file, knex and pg for a Postgres URL.
   */
  static async open(opts: LedgerOpenOptions = {}): Promise<LedgerStore> {
    const path = opts.path ?? 'state/ledger.sqlite';
    const url = opts.url;
    let db: SqlDatabase & { open(): Promise<void> };
    try {
      if (url) {
        const { PostgresDatabase } = await import('./knex-database.js');
        db = new PostgresDatabase(url, opts.schema ?? 'target_siro');
      } else {
        const { SqliteDatabase } = await import('./sqlite-database.js');
        db = new SqliteDatabase(path);
      }
    } catch (e) {
      // The SQLite file's folder cannot be made (a file in the way, no permission): one line, the path named.
      throw new ConfigError(`cannot open the ledger (ledger_path ${path}): ${ioCause(e)}`);
    }
    try {
      await db.open();
    } catch (e) {
      await db.close().catch(() => undefined);
      throw new ConfigError(`cannot open the ledger (${db.location}): ${redactUrl((e as Error).message, url)}`);
    }
    return new LedgerStore(db, opts.syncLogRetentionDays ?? DEFAULT_SYNC_LOG_RETENTION_DAYS);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  private transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => this.db.transaction(work));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * What the ledger knows of these externalIds of one object, looked up in chunks; with `mark`, the rows
   * found (`every`: soft deletes need them all; otherwise only rows with a refusal, for the retry sweep) are
   * marked as read in that pass of that stream (a row moves to the stream that last read it), in the same
   * transaction.
   */
  async lookup(object: string, externalIds: readonly string[], mark?: { pass: string; stream: string; every: boolean }): Promise<Map<string, KnownRow>> {
    const found = new Map<string, KnownRow>();
    const ids = [...new Set(externalIds)];
    if (ids.length === 0) return found;
    await this.transaction(async (tx) => {
      for (const part of chunks(ids, LOOKUP_CHUNK)) {
        const rows = await tx.all<{ external_id: string; fingerprint: string | null; acked_at: unknown; last_rejected_at: unknown; deleted_at: unknown }>(
          `SELECT external_id, fingerprint, acked_at, last_rejected_at, deleted_at FROM ${TABLE} WHERE object = ? AND external_id IN ${placeholders(part.length)}`,
          [object, ...part],
        );
        for (const r of rows) {
          found.set(r.external_id, {
            fingerprint: r.acked_at == null ? null : r.fingerprint,
            rejected: r.last_rejected_at != null,
            deleted: r.deleted_at != null,
          });
        }
        // Only soft deletes need every row marked; the retry sweep needs the refused ones. Marking every row
        // rewrote the whole ledger on each unchanged re-run.
        const marked = mark === undefined ? [] : mark.every ? rows : rows.filter((r) => r.last_rejected_at != null);
        if (mark !== undefined && marked.length > 0) {
          await tx.run(`UPDATE ${TABLE} SET last_pass = ?, stream = ? WHERE object = ? AND external_id IN ${placeholders(marked.length)}`, [
            mark.pass,
            mark.stream,
            object,
            ...marked.map((r) => r.external_id),
          ]);
        }
      }
    });
    return found;
  }

  /** Marks rows of a stream as read in `pass` (records the target refused before delivery: still in the table). */
  async markSeen(stream: string, externalIds: readonly string[], pass: string): Promise<void> {
    const ids = [...new Set(externalIds)];
    if (ids.length === 0) return;
    await this.transaction(async (tx) => {
      for (const part of chunks(ids, LOOKUP_CHUNK)) {
        await tx.run(`UPDATE ${TABLE} SET last_pass = ? WHERE stream = ? AND external_id IN ${placeholders(part.length)}`, [pass, stream, ...part]);
      }
    });
  }

  /** The object the ledger files a stream's rows under, if it has any. */
  async objectOfStream(stream: string): Promise<string | undefined> {
    const rows = await this.db.all<{ object: string }>(`SELECT object FROM ${TABLE} WHERE stream = ? LIMIT 1`, [stream]);
    return rows[0]?.object;
  }

  /**
   * Applies a batch of acks, refusals and cleared refusals, and appends the sync log rows that tell of
   * them, in one transaction: the log never claims what the ledger does not.
   */
  async write(writes: readonly LedgerWrite[], log?: SyncLogBatch): Promise<void> {
    if (writes.length === 0 && !(log && log.size > 0)) return;
    await this.transaction(async (tx) => {
      // One upsert statement may not touch a key twice (Postgres refuses): split where a key repeats,
      // keeping the order, so a later outcome of the same key wins.
      for (const segment of uniqueKeySegments(writes)) await this.writeSegment(tx, segment);
      if (log) await appendSyncLog(tx, log.values);
    });
  }

  private async writeSegment(tx: SqlRunner, writes: LedgerWrite[]): Promise<void> {
    const acks: SqlValue[][] = [];
    const rejects: SqlValue[][] = [];
    const clears = new Map<string, string[]>();
    for (const w of writes) {
      if (w.kind === 'ack') {
        // In ACK_COLUMNS order.
        acks.push([w.object, w.externalId, w.stream, w.fingerprint, w.siroId ?? null, w.at, w.runId, w.payload, w.pass ?? null, w.deletedAt]);
      } else if (w.kind === 'reject') {
        // In REJECT_COLUMNS order.
        rejects.push([
          w.object,
          w.externalId,
          w.stream,
          w.pass ?? null,
          w.reason.length > MAX_REASON_CHARS ? w.reason.slice(0, MAX_REASON_CHARS) + '…' : w.reason,
          w.at,
          w.status ?? null,
          w.payload,
          w.runId,
          w.stage ?? null,
          w.record ?? null,
        ]);
      } else {
        const ids = clears.get(w.object) ?? [];
        ids.push(w.externalId);
        clears.set(w.object, ids);
      }
    }
    for (const part of chunks(acks, UPSERT_CHUNK)) await tx.run(ACK_UPSERT(part.length), part.flat());
    for (const part of chunks(rejects, UPSERT_CHUNK)) await tx.run(REJECT_UPSERT(part.length), part.flat());
    for (const [object, ids] of clears) {
      for (const part of chunks(ids, LOOKUP_CHUNK)) {
        await tx.run(`UPDATE ${TABLE} SET ${CLEAR_REJECTION} WHERE object = ? AND external_id IN ${placeholders(part.length)}`, [object, ...part]);
      }
    }
  }

  async get(object: string, externalId: string): Promise<LedgerRow | undefined> {
    const rows = await this.db.all(`SELECT * FROM ${TABLE} WHERE object = ? AND external_id = ? LIMIT 1`, [object, externalId]);
    return rows[0] ? toLedgerRow(rows[0]) : undefined;
  }

  /** Rows Siro holds (acknowledged, not soft-deleted) for a stream. */
  async countLive(stream: string): Promise<number> {
    return this.count(`SELECT count(*) AS n FROM ${TABLE} WHERE ${LIVE}`, [stream]);
  }

  /** Live rows of a stream that the pass `pass` did not read. */
  async countUnseen(stream: string, pass: string): Promise<number> {
    return this.count(`SELECT count(*) AS n FROM ${TABLE} WHERE ${UNSEEN}`, [stream, pass]);
  }

  /** A page of the live rows of a stream that the pass `pass` did not read, in key order. */
  async unseenPage(stream: string, pass: string, after: RowKey | undefined, limit: number): Promise<RowKey[]> {
    return keys(await this.page(`SELECT object, external_id FROM ${TABLE} WHERE ${UNSEEN}`, [stream, pass], after, limit));
  }

  /** A page of the live rows of a stream, in key order (the dry run compares them with what it read). */
  async livePage(stream: string, after: RowKey | undefined, limit: number): Promise<RowKey[]> {
    return keys(await this.page(`SELECT object, external_id FROM ${TABLE} WHERE ${LIVE}`, [stream], after, limit));
  }

  /** A page of rows with a recorded refusal, in key order. */
  async rejectedPage(query: RejectedQuery): Promise<LedgerRow[]> {
    let sql = `SELECT * FROM ${TABLE} WHERE last_rejected_at IS NOT NULL`;
    const params: SqlValue[] = [];
    if (query.stream !== undefined) {
      sql += ' AND stream = ?';
      params.push(query.stream);
    }
    if (query.withPayload) sql += ' AND (rejected_payload IS NOT NULL OR rejected_record IS NOT NULL)';
    if (query.notSeenInRun !== undefined) {
      const prefix = `${query.notSeenInRun}:`;
      sql += ' AND (last_pass IS NULL OR substr(last_pass, 1, ?) <> ?)';
      params.push(prefix.length, prefix);
    }
    return (await this.page(sql, params, query.after, query.limit)).map(toLedgerRow);
  }

  /** Every row with a recorded refusal, page by page (memory stays flat). */
  async *rejectedRows(query: Omit<RejectedQuery, 'after' | 'limit'>, pageSize = 500): AsyncGenerator<LedgerRow> {
    let after: RowKey | undefined;
    for (;;) {
      const rows = await this.rejectedPage({ ...query, after, limit: pageSize });
      yield* rows;
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1]!;
      after = { object: last.object, externalId: last.externalId };
    }
  }

  async countRejected(stream?: string): Promise<number> {
    if (stream === undefined) return this.count(`SELECT count(*) AS n FROM ${TABLE} WHERE last_rejected_at IS NOT NULL`, []);
    return this.count(`SELECT count(*) AS n FROM ${TABLE} WHERE last_rejected_at IS NOT NULL AND stream = ?`, [stream]);
  }

  async startRun(run: { runId: string; dryRun: boolean; kind?: string; startedAt?: string }): Promise<void> {
    await this.db.run('INSERT INTO runs (run_id, kind, started_at, status, dry_run) VALUES (?, ?, ?, ?, ?)', [
      run.runId,
      run.kind ?? 'sync',
      run.startedAt ?? new Date().toISOString(),
      'running',
      run.dryRun,
    ]);
  }

  async finishRun(
    runId: string,
    result: { status: Exclude<RunStatus, 'running'>; counts?: Partial<RunCounts>; lastState?: string | null; endedAt?: string },
  ): Promise<void> {
    const set = ['status = ?', 'ended_at = ?'];
    const params: SqlValue[] = [result.status, result.endedAt ?? new Date().toISOString()];
    for (const column of RUN_COUNT_COLUMNS) {
      const n = result.counts?.[column];
      if (n === undefined) continue;
      set.push(`${column} = ?`);
      params.push(n);
    }
    if (result.lastState !== undefined) {
      set.push('last_state = ?');
      params.push(result.lastState);
    }
    await this.db.run(`UPDATE runs SET ${set.join(', ')} WHERE run_id = ?`, [...params, runId]);
    await this.pruneSyncLog(runId, result.endedAt);
  }

  /**
   * Deletes the sync log rows of runs that started more than sync_log_retention_days before `now` (none
   * with 0), run by run through the log's run index. Not after a dry run: a dry run writes nothing.
   */
  private async pruneSyncLog(runId: string, now: string | undefined): Promise<void> {
    if (this.syncLogRetentionDays <= 0) return;
    const run = await this.db.all<{ dry_run: unknown }>('SELECT dry_run FROM runs WHERE run_id = ?', [runId]);
    if (run[0] && (run[0].dry_run === true || run[0].dry_run === 1)) return;
    const cutoff = new Date((now ? Date.parse(now) : Date.now()) - this.syncLogRetentionDays * DAY_MS).toISOString();
    await this.db.run(`DELETE FROM ${SYNC_LOG} WHERE run_id IN (SELECT run_id FROM runs WHERE started_at < ?)`, [cutoff]);
  }

  /** The newest runs first. */
  async recentRuns(limit: number): Promise<RunRow[]> {
    const rows = await this.db.all('SELECT * FROM runs ORDER BY started_at DESC, run_id LIMIT ?', [limit]);
    return rows.map(toRunRow);
  }

  /** One row's sync log, newest first (by its externalId; object and stream narrow it). */
  async syncLog(query: SyncLogQuery): Promise<SyncLogRow[]> {
    const { where, params } = syncLogFilter(query);
    const rows = await this.db.all(`SELECT * FROM ${SYNC_LOG} WHERE ${where} ORDER BY id DESC LIMIT ?`, [...params, query.limit]);
    return rows.map(toSyncLogRow);
  }

  /** How many sync log rows match (the same filters as syncLog, without the limit). */
  async countSyncLog(query: Omit<SyncLogQuery, 'limit'>): Promise<number> {
    const { where, params } = syncLogFilter(query);
    return this.count(`SELECT count(*) AS n FROM ${SYNC_LOG} WHERE ${where}`, params);
  }

  /** The sync log rows of one run, in the order they were written (tests, audits). */
  async syncLogOfRun(runId: string): Promise<SyncLogRow[]> {
    const rows = await this.db.all(`SELECT * FROM ${SYNC_LOG} WHERE run_id = ? ORDER BY id`, [runId]);
    return rows.map(toSyncLogRow);
  }

  async getRun(runId: string): Promise<RunRow | undefined> {
    const rows = await this.db.all('SELECT * FROM runs WHERE run_id = ? LIMIT 1', [runId]);
    return rows[0] ? toRunRow(rows[0]) : undefined;
  }

  private async count(sql: string, params: SqlValue[]): Promise<number> {
    const rows = await this.db.all<{ n: number | string }>(sql, params);
    return Number(rows[0]?.n ?? 0);
  }

  /** A page of a query's rows after a key, in key order. */
  private page(sql: string, params: SqlValue[], after: RowKey | undefined, limit: number): Promise<Record<string, unknown>[]> {
    if (after) {
      sql += ' AND (object > ? OR (object = ? AND external_id > ?))';
      params = [...params, after.object, after.object, after.externalId];
    }
    return this.db.all(`${sql} ORDER BY object, external_id LIMIT ?`, [...params, limit]);
  }
}

/** The ledger the settings ask for, or undefined when `ledger` is false. */
export async function openLedgerFromSettings(settings: Settings): Promise<LedgerStore | undefined> {
  if (!settings.ledger) return undefined;
  return LedgerStore.open(ledgerOpenOptions(settings));
}

/**
 * The ledger the settings name, to read only: a SQLite file that does not exist yet is not created (the
 * store is then undefined). `location` says where it is (or would be), for messages. Throws a ConfigError
 * when the ledger is turned off.
 */
export async function openLedgerToRead(settings: Settings): Promise<{ store?: LedgerStore; location: string }> {
  if (!settings.ledger) throw new ConfigError('the ledger is turned off (setting "ledger" is false): there is no record of runs or of rows sent');
  if (!settings.ledger_url && !existsSync(resolve(settings.ledger_path))) {
    return { location: `SQLite ${resolve(settings.ledger_path)}, which does not exist yet` };
  }
  const store = await LedgerStore.open(ledgerOpenOptions(settings));
  return { store, location: store.location };
}

export function ledgerOpenOptions(settings: Settings): LedgerOpenOptions {
  return {
    url: settings.ledger_url,
    schema: settings.ledger_schema,
    path: settings.ledger_path,
    syncLogRetentionDays: settings.sync_log_retention_days,
  };
}

/** Appends sync log rows (flat values, SYNC_LOG_COLUMNS order), SYNC_LOG_CHUNK rows per statement. */
async function appendSyncLog(tx: SqlRunner, values: readonly SqlValue[]): Promise<void> {
  const width = SYNC_LOG_COLUMNS.length;
  const step = SYNC_LOG_CHUNK * width;
  for (let at = 0; at < values.length; at += step) {
    const part = values.length <= step ? values : values.slice(at, at + step);
    await tx.run(syncLogInsert(part.length / width), part);
  }
}

let fullSyncLogInsert: string | undefined;

function syncLogInsert(rows: number): string {
  if (rows === SYNC_LOG_CHUNK && fullSyncLogInsert !== undefined) return fullSyncLogInsert;
  const row = placeholders(SYNC_LOG_COLUMNS.length);
  const sql = `INSERT INTO ${SYNC_LOG} (${SYNC_LOG_COLUMNS.join(', ')}) VALUES ${new Array<string>(rows).fill(row).join(', ')}`;
  if (rows === SYNC_LOG_CHUNK) fullSyncLogInsert = sql;
  return sql;
}

function clip(text: string): string {
  return text.length > MAX_REASON_CHARS ? text.slice(0, MAX_REASON_CHARS) + '…' : text;
}

/** `COALESCE(excluded.c, ledger_objects.c)`: the new value, else the one the row has. */
function keep(column: string): string {
  return `COALESCE(excluded.${column}, ${TABLE}.${column})`;
}

/** An upsert of rows of `columns` into the ledger (key: object, externalId), by the number of rows. */
function upsert(columns: readonly string[], onConflict: string): (rows: number) => string {
  const row = placeholders(columns.length);
  return (rows) =>
    `INSERT INTO ${TABLE} (${columns.join(', ')}) VALUES ${new Array<string>(rows).fill(row).join(', ')} ` +
    `ON CONFLICT (object, external_id) DO UPDATE SET ${onConflict}`;
}

/** Drivers may quote the connection string in errors; never let a password through. */
function redactUrl(text: string, url: string | undefined): string {
  if (!url) return text;
  let out = text.split(url).join('<ledger_url>');
  try {
    const password = new URL(url).password;
    if (password) out = out.split(password).join('***').split(decodeURIComponent(password)).join('***');
  } catch {
    // not a URL
  }
  return out;
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

function keyOf(w: LedgerWrite): string {
  return `${w.object}\u0000${w.externalId}`;
}

function uniqueKeySegments(writes: readonly LedgerWrite[]): LedgerWrite[][] {
  const segments: LedgerWrite[][] = [];
  let current: LedgerWrite[] = [];
  let seen = new Set<string>();
  for (const w of writes) {
    const k = keyOf(w);
    if (seen.has(k)) {
      segments.push(current);
      current = [];
      seen = new Set();
    }
    seen.add(k);
    current.push(w);
  }
  if (current.length > 0) segments.push(current);
  return segments;
}

function keys(rows: Record<string, unknown>[]): RowKey[] {
  return rows.map((r) => ({ object: r.object as string, externalId: r.external_id as string }));
}

function iso(v: unknown): string | null {
  if (v == null) return null;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

function json(v: unknown): Record<string, unknown> | null {
  if (v == null) return null;
  return parseExact(String(v)) as Record<string, unknown>;
}

function toLedgerRow(r: Record<string, unknown>): LedgerRow {
  return {
    object: r.object as string,
    externalId: r.external_id as string,
    stream: r.stream as string,
    fingerprint: (r.fingerprint as string | null) ?? null,
    siroId: (r.siro_id as string | null) ?? null,
    ackedAt: iso(r.acked_at),
    runId: (r.run_id as string | null) ?? null,
    payload: json(r.payload),
    lastPass: (r.last_pass as string | null) ?? null,
    deletedAt: iso(r.deleted_at),
    lastRejectionReason: (r.last_rejection_reason as string | null) ?? null,
    lastRejectedAt: iso(r.last_rejected_at),
    rejectedStatus: r.rejected_status == null ? null : Number(r.rejected_status),
    rejectedPayload: json(r.rejected_payload),
    rejectedRunId: (r.rejected_run_id as string | null) ?? null,
    rejectedStage: (r.rejected_stage as RejectionStage | null) ?? null,
    rejectedRecord: json(r.rejected_record),
  };
}

function toSyncLogRow(r: Record<string, unknown>): SyncLogRow {
  return {
    id: Number(r.id),
    runId: r.run_id as string,
    stream: r.stream as string,
    object: r.object as string,
    externalId: r.external_id as string,
    operation: r.operation as SyncOperation,
    status: r.status as SyncStatus,
    httpStatus: r.http_status == null ? null : Number(r.http_status),
    stage: (r.stage as RejectionStage | null) ?? null,
    message: (r.message as string | null) ?? null,
    at: iso(r.at)!,
  };
}

function toRunRow(r: Record<string, unknown>): RunRow {
  return {
    runId: r.run_id as string,
    kind: r.kind as string,
    startedAt: iso(r.started_at)!,
    endedAt: iso(r.ended_at),
    status: r.status as RunStatus,
    dryRun: r.dry_run === true || r.dry_run === 1,
    read: Number(r.read),
    sent: Number(r.sent),
    unchanged: Number(r.unchanged),
    rejected: Number(r.rejected),
    deleted: Number(r.deleted),
    lastState: (r.last_state as string | null) ?? null,
  };
}

/** The WHERE clause of one row's sync log: its externalId, narrowed by object and stream when given. */
function syncLogFilter(query: Omit<SyncLogQuery, 'limit'>): { where: string; params: SqlValue[] } {
  let where = 'external_id = ?';
  const params: SqlValue[] = [query.externalId];
  if (query.object !== undefined) {
    where += ' AND object = ?';
    params.push(query.object);
  }
  if (query.stream !== undefined) {
    where += ' AND stream = ?';
    params.push(query.stream);
  }
  return { where, params };
}
