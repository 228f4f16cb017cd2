import { ConfigError, MappingError, MappingErrors } from '../core/errors.js';
import type { MappingSet, StreamMapping } from '../mapping/index.js';
import { globToRegExp } from '../mapping/mapping-set.js';
import { didYouMean } from '../core/suggest.js';
import type { SchemaMessage } from '../singer/messages.js';
import { stringifyExact } from '../singer/exact-json.js';
import type { JsonObject, RecordMessage } from '../singer/messages.js';
import type { StreamInfo, Violation } from '../singer/streams.js';
import type { SiroObject } from '../siro/spec.js';

/**
 * The record step: what one RECORD becomes, decided once for the run and for `preview` alike. It is pure:
 * counters, the watermark, the rejects file and the sink stay with the caller, so a rule added here holds
 * for both.
 */

/** Where a record is refused before delivery: its key, its stream's schema, or its mapping (Siro's payload schema included). */
export type RecordRejectStage = 'input' | 'schema' | 'mapping';

export type RecordStepResult =
  /** No mapping names the stream. */
  | { kind: 'skip'; key: string; note: string }
  | {
      kind: 'reject';
      key: string;
      stage: RecordRejectStage;
      reasons: string[];
      /** Known once the mapping ran (stage `mapping`). */
      object?: SiroObject;
      payload?: Record<string, unknown>;
      externalId?: string;
    }
  | {
      kind: 'item';
      key: string;
      object: SiroObject;
      externalId: string;
      payload: Record<string, unknown>;
      /** Schema violations in columns the mapping does not read: warned about, not rejected. */
      warnings?: Violation[];
    };

export function recordStep(message: RecordMessage, stream: StreamInfo, mapping: StreamMapping | undefined): RecordStepResult {
  const record = message.record;
  const key = recordKey(record, stream);
  if (!mapping) return { kind: 'skip', key: key.text, note: unmappedStreamNote(stream.name) };
  if (key.missing.length > 0 || key.invalid.length > 0) {
    const reasons = [...key.missing.map((k) => `key property "${k}" is missing from the record`), ...key.invalid];
    return { kind: 'reject', key: key.text, stage: 'input', reasons };
  }
  const { blocking, warnings } = splitViolations(stream.violations(record), stream, mapping);
  if (blocking.length > 0) {
    // Which row it is, when the mapping can still tell: the ledger keeps the refusal under its externalId.
    const tried = mapping.map(record);
    const externalId = tried.ok ? tried.externalId : typeof tried.payload?.externalId === 'string' ? tried.payload.externalId : undefined;
    return { kind: 'reject', key: key.text, stage: 'schema', reasons: blocking.map((v) => v.text), object: mapping.object, externalId };
  }
  const mapped = isHardDelete(record, stream) ? mapping.mapDelete(record) : mapping.map(record);
  if (!mapped.ok) {
    const externalId = typeof mapped.payload?.externalId === 'string' ? mapped.payload.externalId : undefined;
    return { kind: 'reject', key: key.text, stage: 'mapping', reasons: mapped.reasons, object: mapping.object, payload: mapped.payload, externalId };
  }
  const item = { kind: 'item' as const, key: key.text, object: mapping.object, externalId: mapped.externalId, payload: mapped.payload };
  return warnings.length > 0 ? { ...item, warnings } : item;
}

/**
 * Only the columns a sync maps matter, as in Hightouch and Census: a violation in a column the mapping
 * never reads (a `text[]` the tap declares non-nullable and sends with nulls) is a warning, and the row goes
 * on. Violations of the record as a whole, in a key column or in a column the mapping reads reject it.
 */
function splitViolations(violations: Violation[], stream: StreamInfo, mapping: StreamMapping): { blocking: Violation[]; warnings: Violation[] } {
  if (violations.length === 0) return { blocking: violations, warnings: violations };
  const read = columnsRead(mapping);
  const blocking: Violation[] = [];
  const warnings: Violation[] = [];
  for (const v of violations) {
    const matters = v.column === undefined || read.has(v.column) || stream.keyProperties.includes(v.column);
    (matters ? blocking : warnings).push(v);
  }
  return { blocking, warnings };
}

const readColumns = new WeakMap<StreamMapping, Set<string>>();

function columnsRead(mapping: StreamMapping): Set<string> {
  let set = readColumns.get(mapping);
  if (!set) readColumns.set(mapping, (set = new Set(mapping.reads.map((r) => r.column))));
  return set;
}

/**
 * A log-based tap's hard delete: the row is gone, so the RECORD holds only its key, `_sdc_deleted_at` (set)
 * and other `_sdc_` columns. Mapping it like a row would send made-up values for every absent column.
 */
export function isHardDelete(record: JsonObject, stream: StreamInfo): boolean {
  const deletedAt = record._sdc_deleted_at;
  if (deletedAt === undefined || deletedAt === null || deletedAt === '') return false;
  for (const k of Object.keys(record)) if (!k.startsWith('_sdc_') && !stream.keyProperties.includes(k)) return false;
  return true;
}

export function unmappedStreamNote(stream: string): string {
  return `no mapping names stream "${stream}": a run skips it only when skip_streams lists it, and stops on it otherwise`;
}

/** The note for a stream the user skips on purpose (setting skip_streams). */
export function skippedStreamNote(stream: string): string {
  return `stream "${stream}" is in skip_streams: its records are read and skipped, never sent`;
}

/**
 * The rule for a stream no mapping names: skipped only when the user said so (setting skip_streams, names or
 * globs); otherwise an error, before any of its records is counted as done, since a typo in a mapping's
 * stream name would otherwise lose a whole table without a word. Undefined when the stream may go on.
 */
export function unmappedStreamError(stream: string, line: number, mappings: MappingSet, skipStreams: readonly string[]): ConfigError | undefined {
  if (mappings.forStream(stream) || isSkippedOnPurpose(stream, skipStreams)) return undefined;
  const names = mappings.patterns.length ? mappings.patterns.map((p) => `"${p}"`).join(', ') : 'none';
  return new ConfigError(
    `input line ${line}: no mapping names stream "${stream}"${didYouMean(stream, mappings.patterns)}; nothing of it was sent. ` +
      `Name it in a mapping (mappings name: ${names}), or list it in the skip_streams setting to skip it on purpose.`,
  );
}

/**
 * Every column the stream's mapping reads, checked against the SCHEMA's properties when it arrives, before
 * any record of the stream: `content: nots` or `{{ custmer_name }}` would otherwise yield nothing, silently.
 * `unchecked`: the schema lists no properties or allows any (additionalProperties, patternProperties), so no
 * column can be called unknown.
 */
export function unknownColumns(message: SchemaMessage, line: number, mapping: StreamMapping): { error?: MappingErrors; unchecked?: string } {
  const schema = message.schema as { properties?: unknown; additionalProperties?: unknown; patternProperties?: unknown };
  const properties = schema.properties !== null && typeof schema.properties === 'object' ? Object.keys(schema.properties) : [];
  const open = (schema.additionalProperties !== undefined && schema.additionalProperties !== false) || schema.patternProperties !== undefined;
  if (properties.length === 0 || open) {
    const why = properties.length === 0 ? 'lists no properties' : 'allows any property';
    return { unchecked: `stream "${message.stream}": its SCHEMA (input line ${line}) ${why}, so the columns its mapping reads cannot be checked` };
  }
  const known = new Set(properties);
  const errors: MappingError[] = [];
  const seen = new Set<string>();
  for (const read of mapping.reads) {
    // `_sdc_` columns are Singer metadata that taps add in some modes only (_sdc_deleted_at: log-based).
    if (read.column.startsWith('_sdc_')) continue;
    if (known.has(read.column) || seen.has(`${read.column}@${read.line}:${read.col}`)) continue;
    seen.add(`${read.column}@${read.line}:${read.col}`);
    errors.push(
      new MappingError(
        { file: read.file, line: read.line, column: read.col },
        `stream "${message.stream}" (SCHEMA at input line ${line}) has no column "${read.column}"${read.text !== read.column ? ` (read as ${read.text})` : ''}${didYouMean(read.column, properties)}`,
      ),
    );
  }
  return errors.length > 0 ? { error: new MappingErrors(errors) } : {};
}

export function isSkippedOnPurpose(stream: string, skipStreams: readonly string[]): boolean {
  return skipStreams.some((pattern) => pattern === stream || globToRegExp(pattern).test(stream));
}

const NONE: readonly string[] = Object.freeze([]);

/** The record's key_properties as text (`id=42`), and the ones it lacks. */
export function recordKey(record: JsonObject, stream: StreamInfo): { text: string; missing: readonly string[]; invalid: readonly string[] } {
  const props = stream.keyProperties;
  if (props.length === 0) return { text: '', missing: NONE, invalid: NONE };
  if (props.length === 1) {
    // The common case (one scalar key) without building lists per record.
    const p = props[0]!;
    const v = Object.hasOwn(record, p) ? record[p] : undefined;
    if (v !== undefined && v !== null && typeof v !== 'object') return { text: `${p}=${String(v)}`, missing: NONE, invalid: NONE };
  }
  const missing: string[] = [];
  const parts: string[] = [];
  const invalid: string[] = [];
  for (const p of props) {
    const v = Object.hasOwn(record, p) ? record[p] : undefined;
    if (v === undefined || v === null) missing.push(p);
    else if (typeof v === 'object') {
      // Two rows with keys {"a":1} and {"a":2} must not become one: a key is a scalar.
      invalid.push(`key property "${p}" is ${Array.isArray(v) ? 'a list' : 'an object'}: a key must be text, a number or a boolean`);
      parts.push(`${p}=${stringifyExact(v).slice(0, 100)}`);
    } else parts.push(`${p}=${String(v)}`);
  }
  return { text: parts.join(','), missing, invalid };
}
