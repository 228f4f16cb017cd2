import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

/**
 * Singer output shaped like a Meltano singer-sdk tap (MeltanoLabs tap-postgres) reading a wide
 * `public.appointments` table, for the shipped default mapping. What differs from singer-io taps:
 *
 * - SCHEMA: `$schema` draft 2020-12 with `required`, types as `["integer"]` / `[type, "null"]`, numerics as
 *   plain `number`, jsonb as any JSON (`{}`), `format: date`, and `text[]` columns whose items are declared
 *   non-nullable strings although the tap sends null elements.
 * - RECORD: numerics with trailing zeros (`64100.00`), six-digit fractions with `+00:00`, jsonb as native
 *   JSON; a resumed run starts by echoing its input STATE; intermediate STATEs carry extra keys.
 * - BATCH (with the tap's `batch_config`): one bare record object per line in jsonl files, plain or gzip,
 *   named by `file://` URLs; a zero fraction is dropped (`64100`), timestamps are naive.
 * - LOG_BASED (wal2json): every column nullable plus `_sdc_deleted_at` and `_sdc_lsn`, timestamps in
 *   Postgres text form (`2025-04-19 13:15:00+00`), numerics without scale, jsonb as a JSON string; a hard
 *   delete is a RECORD with only the key, `_sdc_deleted_at` and `_sdc_lsn`.
 */

export const SDK_STREAM = 'public-appointments';

const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, 'null'], ...extra });

export function sdkSchemaMessage(opts: { logBased?: boolean } = {}): Record<string, unknown> {
  const properties: Record<string, Record<string, unknown>> = {
    id: { type: ['integer'] },
    subject: nullable('string'),
    notes: nullable('string'),
    kind: nullable('string'),
    started_at: nullable('string', { format: 'date-time' }),
    ended_at: nullable('string', { format: 'date-time' }),
    timezone: nullable('string'),
    account_id: nullable('string'),
    account_name: nullable('string'),
    street: nullable('string'),
    city: nullable('string'),
    state: nullable('string'),
    zip: nullable('string'),
    country: nullable('string'),
    phone: nullable('string'),
    rep_id: nullable('integer'),
    rep_email: nullable('string'),
    rep_name: nullable('string'),
    opportunity_id: nullable('string'),
    amount: nullable('number'),
    status: nullable('string'),
    created_at: nullable('string', { format: 'date-time' }),
    updated_at: nullable('string', { format: 'date-time' }),
    visit_day: nullable('string', { format: 'date' }),
    // text[]: the SDK declares the items non-nullable, then sends arrays with null elements.
    tags: { type: ['array', 'null'], items: { type: ['string'] } },
    // jsonb: any JSON value.
    meta: {},
  };
  if (opts.logBased) {
    for (const schema of Object.values(properties)) {
      if (Array.isArray(schema.type) && !schema.type.includes('null')) schema.type = [...schema.type, 'null'];
    }
    properties._sdc_deleted_at = nullable('string', { format: 'date-time' });
    properties._sdc_lsn = nullable('integer');
  }
  return {
    type: 'SCHEMA',
    stream: SDK_STREAM,
    schema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties, required: ['id'] },
    key_properties: ['id'],
    bookmark_properties: opts.logBased ? ['_sdc_lsn'] : ['updated_at'],
  };
}

/** Row `i` (1-based): valid for the default mapping; `tags` holds a null element every third row. */
export function sdkRow(i: number): Record<string, unknown> {
  const day = String(1 + (i % 27)).padStart(2, '0');
  return {
    id: i,
    subject: `Visit ${i}`,
    notes: i % 4 === 0 ? null : `notes ${i}`,
    kind: i % 5 === 0 ? 'meeting' : 'visit',
    started_at: `2025-04-${day}T13:15:00.123456+00:00`,
    ended_at: `2025-04-${day}T14:15:00.123456+00:00`,
    timezone: 'America/Phoenix',
    account_id: `acct-${i % 7}`,
    account_name: `Account ${i % 7}`,
    street: null,
    city: null,
    state: null,
    zip: null,
    country: null,
    phone: null,
    rep_id: 10 + (i % 3),
    rep_email: `rep${i % 3}@example.com`,
    rep_name: `Rep ${i % 3}`,
    opportunity_id: null,
    amount: null,
    status: null,
    created_at: `2025-04-${day}T09:00:00.000000+00:00`,
    updated_at: `2025-04-${day}T10:00:00.${String(i).padStart(6, '0')}+00:00`,
    visit_day: `2025-04-${day}`,
    tags: i % 3 === 0 ? ['vip', null] : ['new'],
    meta: { source: 'crm', score: i },
  };
}

/** A RECORD line as the SDK writes it: the amount with its trailing zeros (`64100.00`) when given. */
export function sdkRecordLine(row: Record<string, unknown>, amount?: string): string {
  const record = amount === undefined ? row : { ...row, amount: '__AMOUNT__' };
  const text = JSON.stringify({ type: 'RECORD', stream: SDK_STREAM, record, time_extracted: '2025-04-28T00:00:00.000000+00:00' });
  return amount === undefined ? text : text.replace('"__AMOUNT__"', amount);
}

export function stateLine(value: unknown): string {
  return JSON.stringify({ type: 'STATE', value });
}

/** An SDK bookmark STATE, with the extra keys SDK taps put in intermediate states. */
export function sdkState(replicationKeyValue: string, extra: Record<string, unknown> = {}): string {
  return stateLine({
    bookmarks: { [SDK_STREAM]: { replication_key: 'updated_at', replication_key_value: replicationKeyValue, ...extra } },
  });
}

/** A batch file row as the SDK writes it: naive timestamps, the amount with its zero fraction dropped. */
export function batchRow(i: number): Record<string, unknown> {
  const row = sdkRow(i);
  for (const k of ['started_at', 'ended_at', 'created_at', 'updated_at']) row[k] = String(row[k]).replace('+00:00', '');
  return { ...row, amount: 64100 };
}

/** Writes rows `from..to` as one jsonl batch file (gzip when `gzip`) and returns its file:// URL. */
export function writeBatchFile(dir: string, name: string, from: number, to: number, gzip: boolean): string {
  const lines: string[] = [];
  for (let i = from; i <= to; i++) lines.push(JSON.stringify(batchRow(i)));
  const text = lines.join('\n') + '\n';
  const path = join(dir, gzip ? `${name}.json.gz` : `${name}.jsonl`);
  writeFileSync(path, gzip ? gzipSync(text) : text);
  return pathToFileURL(path).href;
}

export function batchLine(manifest: string[], gzip: boolean, format = 'jsonl'): string {
  return JSON.stringify({ type: 'BATCH', stream: SDK_STREAM, encoding: { format, compression: gzip ? 'gzip' : 'none' }, manifest });
}

/** A LOG_BASED (wal2json) change of row `i`: Postgres text timestamps, numerics without scale, jsonb as text. */
export function logBasedRecordLine(i: number, lsn: number): string {
  const row = sdkRow(i);
  for (const k of ['started_at', 'ended_at', 'created_at', 'updated_at']) {
    row[k] = String(row[k]).replace('T', ' ').replace(/\.\d+\+00:00$/, '+00');
  }
  row.meta = JSON.stringify(row.meta);
  const record = { ...row, amount: '__AMOUNT__', _sdc_deleted_at: null, _sdc_lsn: lsn };
  return JSON.stringify({ type: 'RECORD', stream: SDK_STREAM, record }).replace('"__AMOUNT__"', '64100');
}

/** A LOG_BASED hard delete: only the key, `_sdc_deleted_at` and `_sdc_lsn`. */
export function logBasedDeleteLine(i: number, lsn: number, deletedAt = '2025-04-21 08:00:00.5+00'): string {
  return JSON.stringify({ type: 'RECORD', stream: SDK_STREAM, record: { id: i, _sdc_deleted_at: deletedAt, _sdc_lsn: lsn } });
}
