import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import knex, { type Knex } from 'knex';
import type { Settings } from '../config/settings.js';
import { redact } from '../core/secrets.js';
import { ConfigError, TargetError, ioCause } from '../core/errors.js';
import { parseExact } from '../singer/exact-json.js';
import { LEDGER_MIGRATIONS_TABLE, LedgerMigrationSource } from './migrations.js';

/**
 * The ledger: per (object, externalId) what Siro last acknowledged (fingerprint, payload, Siro id), the last
 * refusal, and the full-table pass the row was last seen in; plus one row per run. A SQLite file by default,
 * or a schema in Postgres (e.g. the warehouse itself). Every operation is bulk and chunked, so a run over
 * millions of rows costs a few thousand statements, not millions.
 */

export interface LedgerOpenOptions {
  /** Postgres URL: the ledger lives in `schema` there. Without it, the SQLite file `path` is used. */
  url?: string;
  /** Postgres schema, created if missing. Default target_siro. */
  schema?: string;
  /** SQLite file, created with its folder if missing. Default state/ledger.sqlite. */
  path?: string;
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
  readonly exitCode = 7;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerError';
  }
}

/** The columns of a recorded refusal, cleared: an acknowledged payload makes any refusal moot. */
const NO_REJECTION = {
  last_rejection_reason: null,
  last_rejected_at: null,
  rejected_status: null,
  rejected_payload: null,
  rejected_run_id: null,
  rejected_stage: null,
  rejected_record: null,
} as const;

/** Bound parameters per statement stay well under SQLite's (32766) and Postgres's (65535) limits. */
const LOOKUP_CHUNK = 500;
const UPSERT_CHUNK = 200;
const MAX_REASON_CHARS = 4000;

const TABLE = 'ledger_objects';

export class LedgerStore {
  /**
   * Transactions of this process run one at a time: a lookup marking rows and a write of acks for the
   * same rows could otherwise lock them in opposite orders (a Postgres deadlock). SQLite has one
   * connection anyway.
   */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: Knex,
    readonly kind: 'sqlite' | 'postgres',
    /** Where the ledger is, for logs: never the URL (it may hold a password). */
    readonly location: string,
  ) {}

  /** Opens (creating if needed) the ledger and brings its schema up to date. */
  static async open(opts: LedgerOpenOptions = {}): Promise<LedgerStore> {
    let opened: Opened;
    try {
      opened = opts.url ? openPostgres(opts.url, opts.schema ?? 'target_siro') : openSqlite(opts.path ?? 'state/ledger.sqlite');
    } catch (e) {
      // The SQLite file's folder cannot be made (a file in the way, no permission): one line, the path named.
      throw new ConfigError(`cannot open the ledger (ledger_path ${opts.path ?? 'state/ledger.sqlite'}): ${ioCause(e)}`);
    }
    const store = new LedgerStore(opened.db, opened.kind, opened.location);
    try {
      if (store.kind === 'postgres') {
        await store.db.raw('CREATE SCHEMA IF NOT EXISTS ??', [opts.schema ?? 'target_siro']);
      }
      await store.db.migrate.latest({
        migrationSource: new LedgerMigrationSource(),
        tableName: LEDGER_MIGRATIONS_TABLE,
        ...(store.kind === 'postgres' ? { schemaName: opts.schema ?? 'target_siro' } : {}),
      });
    } catch (e) {
      await store.db.destroy().catch(() => undefined);
      throw new ConfigError(`cannot open the ledger (${store.location}): ${redactUrl((e as Error).message, opts.url)}`);
    }
    return store;
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  private transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => this.db.transaction(work));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * What the ledger knows of these externalIds of one object, looked up in chunks; with `mark`, the rows
   * found are marked as read in that pass of that stream (a row moves to the stream that last read it), in
   * the same transaction.
   */
  async lookup(object: string, externalIds: readonly string[], mark?: { pass: string; stream: string }): Promise<Map<string, KnownRow>> {
    const found = new Map<string, KnownRow>();
    const ids = [...new Set(externalIds)];
    if (ids.length === 0) return found;
    await this.transaction(async (trx) => {
      for (const part of chunks(ids, LOOKUP_CHUNK)) {
        const rows: { external_id: string; fingerprint: string | null; acked_at: unknown; last_rejected_at: unknown; deleted_at: unknown }[] =
          await trx(TABLE)
            .select('external_id', 'fingerprint', 'acked_at', 'last_rejected_at', 'deleted_at')
            .where('object', object)
            .whereIn('external_id', part);
        for (const r of rows) {
          found.set(r.external_id, {
            fingerprint: r.acked_at == null ? null : r.fingerprint,
            rejected: r.last_rejected_at != null,
            deleted: r.deleted_at != null,
          });
        }
        if (mark !== undefined && rows.length > 0) {
          await trx(TABLE)
            .update({ last_pass: mark.pass, stream: mark.stream })
            .where('object', object)
            .whereIn(
              'external_id',
              rows.map((r) => r.external_id),
            );
        }
      }
    });
    return found;
  }

  /** Marks rows of a stream as read in `pass` (records the target refused before delivery: still in the table). */
  async markSeen(stream: string, externalIds: readonly string[], pass: string): Promise<void> {
    const ids = [...new Set(externalIds)];
    if (ids.length === 0) return;
    await this.transaction(async (trx) => {
      for (const part of chunks(ids, LOOKUP_CHUNK)) {
        await trx(TABLE).update({ last_pass: pass }).where('stream', stream).whereIn('external_id', part);
      }
    });
  }

  /** The object the ledger files a stream's rows under, if it has any. */
  async objectOfStream(stream: string): Promise<string | undefined> {
    const row: { object: string } | undefined = await this.db(TABLE).select('object').where('stream', stream).first();
    return row?.object;
  }

  /** Applies a batch of acks, refusals and cleared refusals in one transaction. */
  async write(writes: readonly LedgerWrite[]): Promise<void> {
    if (writes.length === 0) return;
    await this.transaction(async (trx) => {
      // One upsert statement may not touch a key twice (Postgres refuses): split where a key repeats,
      // keeping the order, so a later outcome of the same key wins.
      for (const segment of uniqueKeySegments(writes)) await this.writeSegment(trx, segment);
    });
  }

  private async writeSegment(trx: Knex.Transaction, writes: LedgerWrite[]): Promise<void> {
    const acks: Record<string, unknown>[] = [];
    const rejects: Record<string, unknown>[] = [];
    const clears = new Map<string, string[]>();
    for (const w of writes) {
      if (w.kind === 'ack') {
        acks.push({
          object: w.object,
          external_id: w.externalId,
          stream: w.stream,
          fingerprint: w.fingerprint,
          siro_id: w.siroId ?? null,
          acked_at: w.at,
          run_id: w.runId,
          payload: w.payload,
          last_pass: w.pass ?? null,
          deleted_at: w.deletedAt,
          ...NO_REJECTION,
        });
      } else if (w.kind === 'reject') {
        rejects.push({
          object: w.object,
          external_id: w.externalId,
          stream: w.stream,
          last_pass: w.pass ?? null,
          last_rejection_reason: w.reason.length > MAX_REASON_CHARS ? w.reason.slice(0, MAX_REASON_CHARS) + '…' : w.reason,
          last_rejected_at: w.at,
          rejected_status: w.status ?? null,
          rejected_payload: w.payload,
          rejected_run_id: w.runId,
          rejected_stage: w.stage ?? null,
          rejected_record: w.record ?? null,
        });
      } else {
        const ids = clears.get(w.object) ?? [];
        ids.push(w.externalId);
        clears.set(w.object, ids);
      }
    }
    const keep = (column: string) => trx.raw('COALESCE(??, ??)', [`excluded.${column}`, `${TABLE}.${column}`]);
    for (const part of chunks(acks, UPSERT_CHUNK)) {
      await trx(TABLE)
        .insert(part)
        .onConflict(['object', 'external_id'])
        .merge({
          stream: trx.raw('??', ['excluded.stream']),
          fingerprint: trx.raw('??', ['excluded.fingerprint']),
          siro_id: keep('siro_id'),
          acked_at: trx.raw('??', ['excluded.acked_at']),
          run_id: trx.raw('??', ['excluded.run_id']),
          payload: trx.raw('??', ['excluded.payload']),
          last_pass: keep('last_pass'),
          deleted_at: trx.raw('??', ['excluded.deleted_at']),
          ...NO_REJECTION,
        });
    }
    for (const part of chunks(rejects, UPSERT_CHUNK)) {
      await trx(TABLE)
        .insert(part)
        .onConflict(['object', 'external_id'])
        .merge({
          last_pass: keep('last_pass'),
          last_rejection_reason: trx.raw('??', ['excluded.last_rejection_reason']),
          last_rejected_at: trx.raw('??', ['excluded.last_rejected_at']),
          rejected_status: trx.raw('??', ['excluded.rejected_status']),
          rejected_payload: trx.raw('??', ['excluded.rejected_payload']),
          rejected_run_id: trx.raw('??', ['excluded.rejected_run_id']),
          rejected_stage: trx.raw('??', ['excluded.rejected_stage']),
          rejected_record: trx.raw('??', ['excluded.rejected_record']),
        });
    }
    for (const [object, ids] of clears) {
      for (const part of chunks(ids, LOOKUP_CHUNK)) {
        await trx(TABLE)
          .update(NO_REJECTION)
          .where('object', object)
          .whereIn('external_id', part);
      }
    }
  }

  async get(object: string, externalId: string): Promise<LedgerRow | undefined> {
    const row = await this.db(TABLE).where({ object, external_id: externalId }).first();
    return row ? toLedgerRow(row) : undefined;
  }

  /** Rows Siro holds (acknowledged, not soft-deleted) for a stream. */
  async countLive(stream: string): Promise<number> {
    return count(this.live(this.db(TABLE), stream).count({ n: '*' }));
  }

  /** Live rows of a stream that the pass `pass` did not read. */
  async countUnseen(stream: string, pass: string): Promise<number> {
    return count(this.unseen(this.db(TABLE), stream, pass).count({ n: '*' }));
  }

  /** A page of the live rows of a stream that the pass `pass` did not read, in key order. */
  async unseenPage(stream: string, pass: string, after: RowKey | undefined, limit: number): Promise<RowKey[]> {
    const q = this.unseen(this.db(TABLE).select('object', 'external_id'), stream, pass);
    return keys(await page(q, after, limit));
  }

  /** A page of the live rows of a stream, in key order (the dry run compares them with what it read). */
  async livePage(stream: string, after: RowKey | undefined, limit: number): Promise<RowKey[]> {
    const q = this.live(this.db(TABLE).select('object', 'external_id'), stream);
    return keys(await page(q, after, limit));
  }

  /** A page of rows with a recorded refusal, in key order. */
  async rejectedPage(query: RejectedQuery): Promise<LedgerRow[]> {
    const q = this.db(TABLE).select('*').whereNotNull('last_rejected_at');
    if (query.stream !== undefined) q.where('stream', query.stream);
    if (query.withPayload) q.where((w) => w.whereNotNull('rejected_payload').orWhereNotNull('rejected_record'));
    if (query.notSeenInRun !== undefined) {
      const prefix = `${query.notSeenInRun}:`;
      q.where((w) => w.whereNull('last_pass').orWhereRaw('substr(last_pass, 1, ?) <> ?', [prefix.length, prefix]));
    }
    return (await page(q, query.after, query.limit)).map(toLedgerRow);
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
    const q = this.db(TABLE).whereNotNull('last_rejected_at');
    if (stream !== undefined) q.where('stream', stream);
    return count(q.count({ n: '*' }));
  }

  async startRun(run: { runId: string; dryRun: boolean; kind?: string; startedAt?: string }): Promise<void> {
    await this.db('runs').insert({
      run_id: run.runId,
      kind: run.kind ?? 'sync',
      started_at: run.startedAt ?? new Date().toISOString(),
      status: 'running',
      dry_run: run.dryRun,
    });
  }

  async finishRun(
    runId: string,
    result: { status: Exclude<RunStatus, 'running'>; counts?: Partial<RunCounts>; lastState?: string | null; endedAt?: string },
  ): Promise<void> {
    const update: Record<string, unknown> = { status: result.status, ended_at: result.endedAt ?? new Date().toISOString() };
    for (const [k, v] of Object.entries(result.counts ?? {})) if (v !== undefined) update[k] = v;
    if (result.lastState !== undefined) update.last_state = result.lastState;
    await this.db('runs').update(update).where('run_id', runId);
  }

  async getRun(runId: string): Promise<RunRow | undefined> {
    const row = await this.db('runs').where('run_id', runId).first();
    return row ? toRunRow(row) : undefined;
  }

  private live(q: Knex.QueryBuilder, stream: string): Knex.QueryBuilder {
    return q.where('stream', stream).whereNotNull('acked_at').whereNull('deleted_at');
  }

  private unseen(q: Knex.QueryBuilder, stream: string, pass: string): Knex.QueryBuilder {
    return this.live(q, stream).where((w) => w.whereNull('last_pass').orWhereNot('last_pass', pass));
  }
}

/** The ledger the settings ask for, or undefined when `ledger` is false. */
export async function openLedgerFromSettings(settings: Settings): Promise<LedgerStore | undefined> {
  if (!settings.ledger) return undefined;
  return LedgerStore.open(ledgerOpenOptions(settings));
}

export function ledgerOpenOptions(settings: Settings): LedgerOpenOptions {
  return { url: settings.ledger_url, schema: settings.ledger_schema, path: settings.ledger_path };
}

interface Opened {
  db: Knex;
  kind: 'sqlite' | 'postgres';
  location: string;
}

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

function openSqlite(path: string): Opened {
  const file = resolve(path);
  mkdirSync(dirname(file), { recursive: true });
  const db = knex({
    client: 'better-sqlite3',
    connection: { filename: file },
    useNullAsDefault: true,
    log: KNEX_LOG,
    pool: {
      afterCreate(conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
        try {
          // WAL: readers (rejects list, audits) do not block the run; NORMAL sync is durable in WAL mode
          // except for the last transactions before a power cut, which a rerun re-sends.
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
  return { db, kind: 'sqlite', location: `SQLite ${file}` };
}

function openPostgres(url: string, schema: string): Opened {
  const db = knex({
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
  return { db, kind: 'postgres', location: `${host}, schema ${schema}` };
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

async function page(q: Knex.QueryBuilder, after: RowKey | undefined, limit: number): Promise<Record<string, unknown>[]> {
  if (after) {
    q.where((w) =>
      w.where('object', '>', after.object).orWhere((w2) => w2.where('object', after.object).andWhere('external_id', '>', after.externalId)),
    );
  }
  return q.orderBy('object').orderBy('external_id').limit(limit);
}

function keys(rows: Record<string, unknown>[]): RowKey[] {
  return rows.map((r) => ({ object: r.object as string, externalId: r.external_id as string }));
}

async function count(q: Knex.QueryBuilder): Promise<number> {
  const rows = (await q) as { n: number | string }[];
  return Number(rows[0]?.n ?? 0);
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
