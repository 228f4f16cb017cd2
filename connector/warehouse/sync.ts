import { TargetError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { ReadPlan, WarehouseConnection } from './dialect.js';
import type { DiscoveredStream } from './discovery.js';
import type { SingerWriter } from './singer-writer.js';
import { bookmarkParameter, type TapState } from './state.js';

/**
 * The sync loop. Each stream: SCHEMA, then its rows as RECORD lines.
 *
 * INCREMENTAL streams read `key >= bookmark ORDER BY key` (the bookmark row is sent again, the Singer
 * convention, so rows sharing the bookmark value are never lost), rows with a NULL key first and in every
 * run (they have no place in the key order, so no bookmark may pass them), and emit STATE every `stateEveryRows`
 * rows and at the end of the stream. FULL_TABLE streams are read whole under a new table version:
 * ACTIVATE_VERSION at the start and at the end, every RECORD carrying that version (as tap-postgres does).
 * Every STATE carries the bookmarks of all streams, including those not run this time.
 */

export interface SyncOptions {
  warehouse: WarehouseConnection;
  /** Streams to run, in order (a stream named by state.currently_syncing goes first, to resume it). */
  streams: DiscoveredStream[];
  state: TapState;
  writer: SingerWriter;
  stateEveryRows: number;
  log: Logger;
  /** Aborting stops after the current row; the STATE emitted then lets a later run resume. */
  signal?: AbortSignal;
  now?: () => number;
}

export interface SyncResult {
  state: TapState;
  /** Rows sent per stream. */
  rows: Record<string, number>;
  interrupted: boolean;
}

export async function runSync(opts: SyncOptions): Promise<SyncResult> {
  const { state, writer, log } = opts;
  const rows: Record<string, number> = {};
  const resumeFirst = opts.streams.findIndex((s) => s.config.name === state.currently_syncing);
  const ordered = resumeFirst > 0 ? [opts.streams[resumeFirst]!, ...opts.streams.filter((_, k) => k !== resumeFirst)] : opts.streams;
  for (const stream of ordered) {
    if (opts.signal?.aborted) break;
    rows[stream.config.name] = await syncStream(stream, opts);
  }
  const interrupted = opts.signal?.aborted === true;
  if (!interrupted) state.currently_syncing = null;
  await writer.message({ type: 'STATE', value: state });
  await writer.flush();
  if (interrupted) log.warn({ rows }, 'sync interrupted; the last STATE lets the next run resume');
  return { state, rows, interrupted };
}

async function syncStream(stream: DiscoveredStream, opts: SyncOptions): Promise<number> {
  const { warehouse, state, writer, log } = opts;
  const now = opts.now ?? Date.now;
  const { config, columns } = stream;
  const name = config.name;
  const started = now();
  state.currently_syncing = name;

  await writer.message({
    type: 'SCHEMA',
    stream: name,
    schema: stream.schema,
    key_properties: config.keyProperties,
    ...(config.replicationKey ? { bookmark_properties: [config.replicationKey] } : {}),
  });

  const plan: ReadPlan = { source: config.source, columns: columns.map((c) => c.name) };
  const previous = state.bookmarks[name] ?? {};
  const timeExtracted = JSON.stringify(new Date(started).toISOString());
  let recordEnd: string;
  let version: number | undefined;

  if (config.replicationMethod === 'FULL_TABLE') {
    const before = typeof previous.version === 'number' ? previous.version : 0;
    version = Math.max(started, before + 1);
    state.bookmarks[name] = { version };
    await writer.message({ type: 'STATE', value: state });
    await writer.message({ type: 'ACTIVATE_VERSION', stream: name, version });
    recordEnd = `},"version":${version},"time_extracted":${timeExtracted}}`;
  } else {
    plan.replicationKey = config.replicationKey;
    if (previous.replication_key === config.replicationKey && previous.replication_key_value != null) {
      plan.bookmark = bookmarkParameter(previous.replication_key_value);
    } else if (previous.replication_key !== undefined) {
      log.warn({ stream: name, was: previous.replication_key, now: config.replicationKey }, 'replication key changed; reading the stream from the start');
    }
    recordEnd = `},"time_extracted":${timeExtracted}}`;
  }

  const keyIndex = config.replicationKey !== undefined ? plan.columns.indexOf(config.replicationKey) : -1;
  const keyKind = keyIndex >= 0 ? columns[keyIndex]!.kind : undefined;
  const incremental = config.replicationMethod === 'INCREMENTAL';
  let lastKey: unknown = null;
  const saveBookmark = () => {
    if (lastKey === null || keyKind === undefined) return;
    state.bookmarks[name] = {
      ...(previous.replication_key === config.replicationKey ? previous : {}),
      replication_key: config.replicationKey,
      replication_key_value: warehouse.bookmarkValue(keyKind, lastKey),
    };
  };

  log.info({ stream: name, method: config.replicationMethod, bookmark: plan.bookmark, version }, 'stream sync starting');
  const prefix = `{"type":"RECORD","stream":${JSON.stringify(name)},"record":{`;
  const keys = columns.map((c, k) => (k > 0 ? ',' : '') + JSON.stringify(c.name) + ':');
  const encoders = columns.map((c) => warehouse.encoderFor(c.kind));
  const width = columns.length;
  let count = 0;

  try {
    for await (const row of warehouse.streamRows(plan, opts.signal)) {
      let line = prefix;
      for (let k = 0; k < width; k++) {
        const raw = row[k];
        line += keys[k]! + (raw === null || raw === undefined ? 'null' : encoders[k]!(raw));
      }
      await writer.line(line + recordEnd);
      count++;
      if (incremental) {
        const key = row[keyIndex];
        if (key !== null && key !== undefined) lastKey = key;
        if (count % opts.stateEveryRows === 0) {
          saveBookmark();
          await writer.message({ type: 'STATE', value: state });
          await writer.flush();
        }
      }
      if (opts.signal?.aborted) break;
    }
  } catch (e) {
    // Which stream and table failed: the database's message alone ("canceling statement due to
    // statement timeout") names neither.
    if (e instanceof TargetError) e.message = `${streamLabel(stream)}: ${e.message}`;
    throw e;
  }

  if (incremental) saveBookmark();
  if (version !== undefined && !opts.signal?.aborted) {
    await writer.message({ type: 'ACTIVATE_VERSION', stream: name, version });
  }
  await writer.message({ type: 'STATE', value: state });
  await writer.flush();
  log.info({ stream: name, rows: count, ms: now() - started }, 'stream sync finished');
  return count;
}

/** `stream "public-calls" (table "public"."calls")`, or `stream "q" (sql)`, for error messages. */
function streamLabel(stream: DiscoveredStream): string {
  const { name, source } = stream.config;
  return `stream "${name}" (${source.kind === 'table' ? `table "${source.schema}"."${source.table}"` : 'sql'})`;
}
