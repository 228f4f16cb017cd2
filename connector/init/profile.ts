import { parseTime } from '../mapping/datetime.js';
import { timeZoneNamed } from '../mapping/time-zones.js';
import type { JsonObject } from '../singer/messages.js';

/**
 * What `init` knows about a stream's columns: their declared schema (and SQL type, when a catalog says it)
 * and, when records were read, what a bounded sample of their values looks like. Nested object columns
 * (HubSpot's `properties`, a jsonb `meta`) are described one level down as `column.key` paths, the form
 * the mapping language reads them with.
 */

/** How many distinct values a column may show before it counts as free text, not a set of codes. */
export const MAX_DISTINCT = 24;
const MAX_EXAMPLE_CHARS = 60;
const MAX_CODE_CHARS = 80;

export type ValueShape =
  | 'instant' // a date/time with an offset (or Z)
  | 'naive' // a date/time without offset
  | 'date'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'text'
  | 'zone' // an IANA time-zone name
  | 'objects' // a list (or JSON text of one) of objects
  | 'texts' // a list of text
  | 'object';

export interface ColumnProfile {
  /** The column path as a mapping writes it (`notes`, `properties.hs_timestamp`, `["odd.name"]`). */
  readonly path: string;
  /** The top-level column holding it, for a key inside an object column. */
  readonly parent?: string;
  /** The property's JSON schema, when a SCHEMA or catalog declared it. */
  schema?: JsonObject;
  /** The SQL type a catalog's metadata names (`sql-datatype`), e.g. `timestamp without time zone`. */
  sqlType?: string;
  /** Sampled records that carry the column / carry a value other than null or blank text. */
  present: number;
  filled: number;
  shapes: Map<ValueShape, number>;
  /** Distinct values (as text) with counts; undefined once there are more than MAX_DISTINCT. */
  distinct: Map<string, number> | undefined;
  /** A few values, as short display text. */
  examples: string[];
  /** Date-times written with the offset `+00:00` (or `+00`): UTC, or a wall-clock time a Postgres tap labelled so. */
  zeroOffset: number;
  /** The smallest and largest number sampled (JSON numbers only), to tell epoch times from counts. */
  min?: number;
  max?: number;
  /** For `objects` columns: the keys seen in the elements. */
  elementKeys: Set<string>;
}

export interface StreamProfile {
  readonly stream: string;
  /** The input line of its (last) SCHEMA, for messages; 1 for a catalog. */
  schemaLine: number;
  keyProperties: string[];
  /** In declaration order (schema first, then columns only records carry). */
  readonly columns: Map<string, ColumnProfile>;
  /** Sampled records, kept to check the written mapping against them. */
  readonly records: JsonObject[];
  /** Records seen beyond the sample. */
  unsampled: number;
}

export function newStreamProfile(stream: string): StreamProfile {
  return { stream, schemaLine: 1, keyProperties: [], columns: new Map(), records: [], unsampled: 0 };
}

/**
 * A key as a mapping column path: plain when it holds none of the path syntax's special characters, else
 * quoted (`["odd.name"]`), so a column named `a.b` is never read as key `b` inside column `a`.
 */
export function pathOf(parent: string | undefined, key: string): string {
  const plain = /^[^.[\]"'\\\s]+$/.test(key) && !key.startsWith('-');
  if (plain) return parent === undefined ? key : `${parent}.${key}`;
  return `${parent ?? ''}[${JSON.stringify(key)}]`;
}

function columnOf(profile: StreamProfile, key: string, parent?: ColumnProfile): ColumnProfile {
  const path = pathOf(parent?.path, key);
  let c = profile.columns.get(path);
  if (!c) {
    c = { path, parent: parent?.path, present: 0, filled: 0, zeroOffset: 0, shapes: new Map(), distinct: new Map(), examples: [], elementKeys: new Set() };
    profile.columns.set(path, c);
  }
  return c;
}

/** A JSON-schema type list, as a set (`["string", "null"]`, `"string"`, or from anyOf). */
export function schemaTypes(schema: JsonObject | undefined): Set<string> {
  const out = new Set<string>();
  if (!schema) return out;
  const t = schema.type;
  if (typeof t === 'string') out.add(t);
  else if (Array.isArray(t)) for (const x of t) if (typeof x === 'string') out.add(x);
  for (const alt of [schema.anyOf, schema.oneOf]) {
    if (Array.isArray(alt)) for (const a of alt) for (const x of schemaTypes(a as JsonObject)) out.add(x);
  }
  return out;
}

/** Registers a stream's declared columns: top-level properties, and the properties of object columns one level down. */
export function declareSchema(profile: StreamProfile, schema: JsonObject, keyProperties: readonly string[]): void {
  profile.keyProperties = [...keyProperties];
  const properties = (schema.properties ?? {}) as Record<string, JsonObject>;
  for (const [name, declared] of Object.entries(properties)) {
    const prop = resolveRef(declared, schema);
    if (prop === null || typeof prop !== 'object') continue;
    const column = columnOf(profile, name);
    column.schema = prop;
    const nested = (prop.properties ?? {}) as Record<string, JsonObject>;
    if (schemaTypes(prop).has('object')) {
      for (const [key, sub] of Object.entries(nested)) if (sub && typeof sub === 'object') columnOf(profile, key, column).schema = sub;
    }
  }
}

/** A property written as `{"$ref": "#/definitions/ts"}` (singer-io taps), as the definition it points at. */
function resolveRef(prop: JsonObject, root: JsonObject): JsonObject {
  const ref = prop?.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return prop;
  let at: unknown = root;
  for (const step of ref.slice(2).split('/')) {
    at = at !== null && typeof at === 'object' ? (at as JsonObject)[step.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  }
  return at !== null && typeof at === 'object' ? { ...(at as JsonObject), ...Object.fromEntries(Object.entries(prop).filter(([k]) => k !== '$ref')) } : prop;
}

/** A schema's `format`, also from its `anyOf`/`oneOf` alternatives (`anyOf: [{type: string, format: date-time}, {type: null}]`). */
export function schemaFormat(schema: JsonObject | undefined): string | undefined {
  if (!schema) return undefined;
  if (typeof schema.format === 'string') return schema.format;
  for (const alt of [schema.anyOf, schema.oneOf]) {
    if (Array.isArray(alt)) for (const a of alt) if (a && typeof (a as JsonObject).format === 'string') return (a as JsonObject).format as string;
  }
  return undefined;
}

export function declareSqlType(profile: StreamProfile, column: string, sqlType: string): void {
  const c = profile.columns.get(pathOf(undefined, column));
  if (c) c.sqlType = sqlType;
}

/** Adds one record to the sample. */
export function sampleRecord(profile: StreamProfile, record: JsonObject): void {
  profile.records.push(record);
  for (const [name, value] of Object.entries(record)) {
    const column = columnOf(profile, name);
    observe(column, value);
    const inner = objectValue(value);
    if (inner) for (const [key, sub] of Object.entries(inner)) observe(columnOf(profile, key, column), sub);
  }
}

/** An object value, or JSON text of one (as taps send json/jsonb columns). */
function objectValue(value: unknown): JsonObject | undefined {
  const v = typeof value === 'string' ? jsonText(value) : value;
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : undefined;
}

function jsonText(text: string): unknown {
  const t = text.trimStart();
  if (!t.startsWith('{') && !t.startsWith('[')) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function observe(c: ColumnProfile, value: unknown): void {
  c.present++;
  // Empty lists say nothing about what a list column holds, like blanks.
  if (value === null || value === undefined || (typeof value === 'string' && /^\s*(?:\[\s*\])?\s*$/.test(value))) return;
  if (Array.isArray(value) && value.length === 0) return;
  c.filled++;
  if (typeof value === 'number' || typeof value === 'bigint') {
    const n = Number(value);
    c.min = c.min === undefined ? n : Math.min(c.min, n);
    c.max = c.max === undefined ? n : Math.max(c.max, n);
  }
  const shape = shapeOf(value, c);
  c.shapes.set(shape, (c.shapes.get(shape) ?? 0) + 1);
  const text = typeof value === 'string' ? value.trim() : typeof value === 'object' ? JSON.stringify(value, bigintText) : String(value);
  if (c.distinct) {
    c.distinct.set(text, (c.distinct.get(text) ?? 0) + 1);
    // Many values, or long ones, are free text rather than a set of codes.
    if (c.distinct.size > MAX_DISTINCT || text.length > MAX_CODE_CHARS) c.distinct = undefined;
  }
  if (c.examples.length < 3) {
    const shown = displayValue(text);
    if (!c.examples.includes(shown)) c.examples.push(shown);
  }
}

function bigintText(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** A value as it may appear in a YAML comment: one line, printable, short. */
export function displayValue(text: string): string {
  // eslint-disable-next-line no-control-regex
  const oneLine = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
  return oneLine.length > MAX_EXAMPLE_CHARS ? `${oneLine.slice(0, MAX_EXAMPLE_CHARS - 1)}…` : oneLine;
}

const NUMERIC_TEXT = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
/** Looks like a date and time (not bare digits, which parseTime would read as epoch numbers). */
const DATE_LIKE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;

function shapeOf(value: unknown, c: ColumnProfile): ValueShape {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'bigint') return 'integer';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (Array.isArray(value)) return listShape(value, c);
  if (typeof value === 'object') return 'object';
  const text = String(value).trim();
  if (DATE_ONLY.test(text)) return 'date';
  if (DATE_LIKE.test(text)) {
    const t = parseTime(text);
    if (t?.instant && /\+00(?::?00)?$/.test(text)) c.zeroOffset++;
    if (t) return t.instant ? 'instant' : 'naive';
  }
  if (text.includes('/') || text === 'UTC') {
    if (timeZoneNamed(text)) return 'zone';
  }
  // Numbers as text (HubSpot sends every property as text; numeric columns in some taps): numbers.
  if (NUMERIC_TEXT.test(text)) return /[.eE]/.test(text) ? 'number' : 'integer';
  const json = jsonText(text);
  if (Array.isArray(json)) return listShape(json, c);
  if (json !== undefined) return 'object';
  return 'text';
}

function listShape(list: unknown[], c: ColumnProfile): ValueShape {
  const objects = list.filter((e) => e !== null && typeof e === 'object' && !Array.isArray(e)) as JsonObject[];
  if (objects.length === 0) return 'texts';
  for (const o of objects) for (const k of Object.keys(o)) c.elementKeys.add(k);
  return 'objects';
}

/** The column's most common sampled shape (undefined when no value was sampled). */
export function mainShape(c: ColumnProfile): ValueShape | undefined {
  let best: ValueShape | undefined;
  let count = 0;
  for (const [shape, n] of c.shapes) if (n > count) [best, count] = [shape, n];
  return best;
}

/**
 * True when the sampled values have these shapes, but for a few strays (at most 5%: a `2026-02-30` among
 * fifty dates is bad data, not a text column). The check against the sample then says which rows they are.
 */
export function mostlyShapes(c: ColumnProfile, ...shapes: ValueShape[]): boolean {
  if (c.filled === 0) return false;
  let fitting = 0;
  for (const [shape, n] of c.shapes) if (shapes.includes(shape)) fitting += n;
  return fitting > 0 && c.filled - fitting <= Math.floor(c.filled * 0.05);
}

/** True when every sampled value has one of these shapes (and there was at least one). */
export function allShapes(c: ColumnProfile, ...shapes: ValueShape[]): boolean {
  if (c.filled === 0) return false;
  for (const [shape, n] of c.shapes) if (n > 0 && !shapes.includes(shape)) return false;
  return true;
}
