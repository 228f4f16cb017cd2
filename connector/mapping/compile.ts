import { payloadValidator, type SiroObject } from '../siro/objects.js';
import { formatIssues } from '../siro/spec.js';
import { columnGetter, jsonTextValue, walk, type Getter } from './column-path.js';
import { labelAt, newContext, reject, type MapContext } from './context.js';
import type { ColumnRead, FieldPlan, LeafPlan, ObjectPlan, SourcePlan, StreamPlan, ZonePlan } from './plan.js';
import { UTC, timeZoneNamed, type TimeZone } from './time-zones.js';
import { withoutOffset } from './datetime.js';
import { INVALID, converterFor, describeValue, isBlank, mapKeyOf, nativeFieldType, readNumber, readString, shiftedTime, typeDescription, type Converter } from './values.js';

/**
 * Turns checked plans into plain functions, once at load time: per record, mapping calls one function per
 * field, with no look at the YAML tree. A field function returns the value to send, `null` to clear a
 * nullable field, or `undefined` to leave the field out.
 */

type Scope = Record<string, unknown>;
type FieldFn = (scope: Scope, ctx: MapContext) => unknown;

export interface MapSuccess {
  ok: true;
  externalId: string;
  payload: Record<string, unknown>;
}
export interface MapFailure {
  ok: false;
  reasons: string[];
  payload?: Record<string, unknown>;
}
export type MapResult = MapSuccess | MapFailure;

export interface StreamMapping {
  readonly object: SiroObject;
  /** The stream name or glob as written. */
  readonly pattern: string;
  /** "file:line" of the stream's entry. */
  readonly source: string;
  /** The record columns the mapping reads, with where (checked against each SCHEMA). */
  readonly reads: readonly ColumnRead[];
  map(record: Record<string, unknown>): MapResult;
  /**
   * A hard delete (a log-based tap's RECORD with only the key and `_sdc_deleted_at`): only `externalId`
   * and `deletedAt` are mapped and sent, so nothing is made up for the columns the record lacks.
   */
  mapDelete(record: Record<string, unknown>): MapResult;
}

/** What `blank` is when neither half of a value is missing. */
const NOT_BLANK: unique symbol = Symbol('not blank');

/** Marks a source that failed (its reason is already recorded). */
const FAILED: unique symbol = Symbol('failed');

function describeSource(source: SourcePlan): string {
  return source.kind === 'column' ? `column "${source.path.text}"` : `template ${JSON.stringify(source.template.text)}`;
}

function compileSource(source: SourcePlan, label: string): (scope: Scope, ctx: MapContext) => unknown {
  if (source.kind === 'column') return columnGetter(source.path);
  const template = source.template;
  return (scope, ctx) => {
    try {
      return template.render(scope, ctx);
    } catch (e) {
      reject(ctx, `${labelAt(label, ctx)}: template ${JSON.stringify(template.text)} failed: ${(e as Error).message}`);
      return FAILED;
    }
  };
}

/** The zone a leaf reads naive times in (and shows instants in): fixed, or from a column per record. */
function compileZone(zone: ZonePlan | undefined, label: string): ((scope: Scope, ctx: MapContext) => TimeZone | undefined) | undefined {
  if (!zone) return undefined;
  if (zone.kind === 'fixed') return undefined; // bound directly by the caller
  const read = columnGetter(zone.path);
  const fallback = zone.fallback ?? UTC;
  return (scope, ctx) => {
    const name = read(scope, ctx);
    if (isBlank(name)) return fallback;
    const found = typeof name === 'string' ? timeZoneNamed(name.trim()) : undefined;
    if (!found) {
      reject(ctx, `${labelAt(label, ctx)}: time zone ${describeValue(name)} of column "${zone.path.text}" is not an IANA time zone`);
    }
    return found;
  };
}

/** How a leaf turns a source value into what is sent: null rules, default, map, type, enum. */
function compileFinish(plan: LeafPlan): (raw: unknown, scope: Scope, ctx: MapContext) => unknown {
  const { target, map, fallback } = plan;
  const label = target.label;
  const source = describeSource(plan.source);
  const nothing = target.nullable ? null : undefined;
  const hasFallback = fallback !== undefined;
  const fallbackValue = fallback?.value;
  // A map looks up the source as written, unless a type says how to read it first.
  const convert: Converter | undefined = map
    ? plan.explicitType
      ? converterFor(plan.type, nativeFieldType(plan.type))
      : undefined
    : converterFor(plan.type, target.type);
  const fixedZone = plan.zone?.kind === 'fixed' ? plan.zone.zone : UTC;
  const zoneOf = compileZone(plan.zone, label);
  const lookup = map?.lookup;
  const allowed = map?.keys.join(', ');
  // Enum fields take their constants in any case ("inbound" → INBOUND) when no map translates them.
  let canonical: Map<string, string> | undefined;
  if (!map && target.enum) {
    canonical = new Map();
    for (const v of target.enum) canonical.set(v.toLowerCase(), v);
    for (const v of target.enum) canonical.set(v, v);
  }
  const required = plan.required;
  const plus = plan.plus;
  const readDuration = plus ? columnGetter(plus.path) : undefined;
  const shiftedType = plan.type === 'localdatetime' ? 'localdatetime' : 'datetime';
  const wallClock = plan.wallClock === true;

  return (raw, scope, ctx) => {
    if (raw === FAILED) return undefined;
    // `plus`: the duration is the other half of the value; with either half missing there is no value.
    const duration = readDuration && !isBlank(raw) ? readDuration(scope, ctx) : undefined;
    const blank = isBlank(raw) ? raw : readDuration && isBlank(duration) ? duration : NOT_BLANK;
    if (blank !== NOT_BLANK) {
      if (hasFallback) return fallbackValue;
      if (required) reject(ctx, `${labelAt(label, ctx)}: ${source} is null or missing, and Siro requires ${label}`);
      // A column the record does not carry at all says nothing about the field: leave Siro's value alone.
      // Only a value that is there and empty (null, blank text) clears a nullable field.
      return blank === undefined ? undefined : nothing;
    }
    let value = wallClock ? withoutOffset(raw) : raw;
    if (plus) {
      const amount = readNumber(duration);
      if (amount === INVALID) {
        reject(ctx, `${labelAt(label, ctx)}: duration ${describeValue(duration)} of column "${plus.path.text}" is not a number of ${plus.unit}`);
        return undefined;
      }
      const zone = zoneOf ? zoneOf(scope, ctx) : fixedZone;
      if (zone === undefined) return undefined;
      value = shiftedTime(value, zone, Math.round(amount * plus.unitMs), shiftedType);
      if (value === INVALID) {
        reject(ctx, `${labelAt(label, ctx)}: value ${describeValue(raw)} of ${source} is not ${typeDescription(plan.type)}`);
        return undefined;
      }
      return value;
    }
    if (convert) {
      const zone = zoneOf ? zoneOf(scope, ctx) : fixedZone;
      if (zone === undefined) return undefined;
      value = convert(value, zone);
      if (value === INVALID) {
        reject(ctx, `${labelAt(label, ctx)}: value ${describeValue(raw)} of ${source} is not ${typeDescription(plan.type)}`);
        return undefined;
      }
    }
    if (lookup) {
      const out = lookup.get(mapKeyOf(value));
      if (out !== undefined) return out === null ? nothing : out;
      if (hasFallback) return fallbackValue;
      reject(ctx, `${labelAt(label, ctx)}: value ${describeValue(raw)} of ${source} is not in map (allowed: ${allowed})`);
      return undefined;
    }
    if (canonical) {
      const text = value as string;
      const out = canonical.get(text) ?? canonical.get(text.trim().toLowerCase());
      if (out !== undefined) return out;
      reject(ctx, `${labelAt(label, ctx)}: value ${describeValue(raw)} of ${source} is not one of ${target.enum!.join(', ')}`);
      return undefined;
    }
    return value;
  };
}

function compileLeaf(plan: LeafPlan): FieldFn {
  const read = compileSource(plan.source, plan.target.label);
  const finish = compileFinish(plan);
  if (!plan.required) return (scope, ctx) => finish(read(scope, ctx), scope, ctx);
  // The externalId: a list or an object in its source would become "[object Object]" or JSON text, and
  // different rows would collide on one id. Such a record is refused.
  const sources = plan.source.kind === 'column' ? [plan.source.path.segments] : plan.source.template.paths;
  const what = describeSource(plan.source);
  return (scope, ctx) => {
    for (const path of sources) {
      const v = walk(scope, path, ctx);
      if (v !== null && typeof v === 'object') {
        reject(ctx, `${plan.target.label}: ${what} reads ${Array.isArray(v) ? 'a list' : 'an object'} (${describeValue(v)}); an externalId must come from text or numbers`);
        return undefined;
      }
    }
    return finish(read(scope, ctx), scope, ctx);
  };
}

/**
 * The assembly of one object, generated as JavaScript once per object plan. A generic loop storing
 * `out[keys[i]]` makes every store site megamorphic (the slowest path of V8 property stores); a generated
 * function has one store site per Siro field, which is several times faster on the hot path. Only Siro's
 * own field names (checked against the schema) are spliced into the code, and as JSON string literals.
 */
function assembler(keys: readonly string[], omitEmpty: boolean, required: readonly string[]): (fns: FieldFn[], scope: Scope, ctx: MapContext) => unknown {
  const lines: string[] = ['let out; let filled = false; let v;'];
  keys.forEach((key, i) => {
    lines.push(`v = fns[${i}](scope, ctx);`);
    lines.push(`if (v !== undefined) { (out ??= {})[${JSON.stringify(key)}] = v; if (v !== null) filled = true; }`);
  });
  if (omitEmpty) {
    lines.push('if (!filled) return undefined;');
    for (const r of required) lines.push(`if (out[${JSON.stringify(r)}] == null) return undefined;`);
    lines.push('return out;');
  } else lines.push('return out ?? {};');
  return new Function('fns', 'scope', 'ctx', lines.join('\n')) as (fns: FieldFn[], scope: Scope, ctx: MapContext) => unknown;
}

/** A nested object: left out when nothing in it has a value, or when a key Siro requires is missing. */
function compileObject(plan: ObjectPlan): FieldFn {
  const fns = plan.fields.map((f) => compileField(f.plan));
  const assemble = assembler(
    plan.fields.map((f) => f.key),
    true,
    plan.required,
  );
  return (scope, ctx) => assemble(fns, scope, ctx);
}

/** The record's top level: always an object (its externalId is checked by the leaf itself). */
function compileRoot(plan: ObjectPlan): (scope: Scope, ctx: MapContext) => Record<string, unknown> {
  const fns = plan.fields.map((f) => compileField(f.plan));
  const assemble = assembler(
    plan.fields.map((f) => f.key),
    false,
    [],
  );
  return (scope, ctx) => assemble(fns, scope, ctx) as Record<string, unknown>;
}

/** A list of text from several sources: empty entries dropped, a source holding a list adds its elements. */
function compileScalarList(plan: Extract<FieldPlan, { kind: 'scalar-list' }>): FieldFn {
  const items = plan.items.map((item) => {
    if (item.kind === 'constant') {
      const value = item.value;
      return (_scope: Scope, _ctx: MapContext, out: unknown[]) => {
        if (value !== null) out.push(value);
      };
    }
    const read = compileSource(item.source, item.target.label);
    const finish = compileFinish(item);
    return (scope: Scope, ctx: MapContext, out: unknown[]) => {
      let raw = read(scope, ctx);
      if (typeof raw === 'string') {
        const parsed = raw.trimStart().startsWith('[') ? jsonTextValue(raw, ctx) : undefined;
        if (Array.isArray(parsed)) raw = parsed;
      }
      if (Array.isArray(raw)) {
        for (const element of raw) {
          const v = finish(element, scope, ctx);
          if (v !== undefined && v !== null) out.push(v);
        }
        return;
      }
      const v = finish(raw, scope, ctx);
      if (v !== undefined && v !== null) out.push(v);
    };
  });
  return (scope, ctx) => {
    const out: unknown[] = [];
    for (let i = 0; i < items.length; i++) items[i]!(scope, ctx, out);
    return out.length === 0 ? undefined : out;
  };
}

/** Items written one by one: items missing a required key (or empty) are dropped; no items, no list. */
function compileObjectList(plan: Extract<FieldPlan, { kind: 'object-list' }>): FieldFn {
  const items = plan.items.map(compileObject);
  return (scope, ctx) => {
    let out: unknown[] | undefined;
    for (let i = 0; i < items.length; i++) {
      const v = items[i]!(scope, ctx);
      if (v !== undefined) (out ??= []).push(v);
    }
    return out;
  };
}

/** One item per element of a JSON array column; paths inside are read from the element. */
function compileEach(plan: Extract<FieldPlan, { kind: 'each' }>): FieldFn {
  const read: Getter = columnGetter(plan.path);
  const item = compileObject(plan.item);
  const { label } = plan;
  return (scope, ctx) => {
    const raw = read(scope, ctx);
    if (isBlank(raw)) return undefined;
    const list = typeof raw === 'string' ? jsonTextValue(raw, ctx) : raw;
    if (!Array.isArray(list)) {
      reject(ctx, `${labelAt(label, ctx)}: column "${plan.path.text}" is not a list (value: ${describeValue(raw)})`);
      return undefined;
    }
    let out: unknown[] | undefined;
    const depth = ctx.indices.length;
    for (let i = 0; i < list.length; i++) {
      let element: unknown = list[i];
      if (typeof element === 'string') element = jsonTextValue(element, ctx);
      if (element === null || typeof element !== 'object' || Array.isArray(element)) continue;
      ctx.indices[depth] = i;
      const v = item(element as Scope, ctx);
      if (v !== undefined) (out ??= []).push(v);
    }
    ctx.indices.length = depth;
    return out;
  };
}

function compileField(plan: FieldPlan): FieldFn {
  switch (plan.kind) {
    case 'leaf':
      return compileLeaf(plan);
    case 'constant': {
      const value = plan.value === null && !plan.target.nullable ? undefined : plan.value;
      return () => value;
    }
    case 'object':
      return compileObject(plan);
    case 'scalar-list':
      return compileScalarList(plan);
    case 'object-list':
      return compileObjectList(plan);
    case 'each':
      return compileEach(plan);
  }
}

/** The fields a hard delete sends: the identity and the deletion time, nothing else. */
const DELETE_FIELDS = new Set(['externalId', 'deletedAt']);

export function compileStream(plan: StreamPlan): StreamMapping {
  const build = compileRoot(plan.root);
  const deleteFields = plan.root.fields.filter((f) => DELETE_FIELDS.has(f.key));
  const buildDelete = compileRoot({ ...plan.root, fields: deleteFields });
  const mapsDeletedAt = deleteFields.some((f) => f.key === 'deletedAt');
  const validate = payloadValidator(plan.object);
  // map() is synchronous and never re-entered, so one context serves every record.
  const ctx = newContext();
  const run = (record: Record<string, unknown>, builder: typeof build): MapResult => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      return { ok: false, reasons: [`the record is not a JSON object (got ${describeValue(record)})`] };
    }
    ctx.reasons = undefined;
    ctx.indices.length = 0;
    ctx.json = undefined;
    const payload = builder(record, ctx);
    if (ctx.reasons !== undefined) return { ok: false, reasons: ctx.reasons, payload };
    const issues = validate(payload);
    if (issues.length > 0) return { ok: false, reasons: formatIssues(issues), payload };
    return { ok: true, externalId: readString(payload.externalId), payload };
  };
  return {
    object: plan.object,
    pattern: plan.pattern,
    source: `${plan.file}:${plan.line}`,
    reads: plan.reads,
    mapDelete(record) {
      if (!mapsDeletedAt) {
        return { ok: false, reasons: [`a hard delete (only the key and _sdc_deleted_at), but the mapping (${plan.file}:${plan.line}) maps no deletedAt`] };
      }
      const result = run(record, buildDelete);
      if (result.ok && typeof result.payload.deletedAt !== 'string') {
        return { ok: false, reasons: ['a hard delete whose deletedAt maps to no time'], payload: result.payload };
      }
      return result;
    },
    map(record) {
      return run(record, build);
    },
  };
}
