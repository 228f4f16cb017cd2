import v8 from 'node:v8';
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';
import { InputError } from '../core/errors.js';
import { setOwn } from '../core/own-keys.js';
import { bigIntsAsNumbers, hasBigInt, stringifyExact } from './exact-json.js';
import type { JsonObject, SchemaMessage } from './messages.js';

/**
 * The streams announced by SCHEMA messages: their schema, key properties and a record validator compiled
 * once per SCHEMA. A later SCHEMA for a stream replaces the earlier one for the records after it.
 */
export interface StreamInfo {
  name: string;
  keyProperties: string[];
  bookmarkProperties: string[];
  /** The SCHEMA message's schema, as sent. */
  schema: JsonObject;
  /** Violations of the stream's schema as texts, or [] when the record is valid. */
  validate(record: JsonObject): string[];
  /** The same, each with the top-level column it is in (undefined: the record as a whole). */
  violations(record: JsonObject): Violation[];
}

export interface Violation {
  column: string | undefined;
  text: string;
}

// Real taps send draft-04 schemas, `multipleOf: 0.01` numerics and date-times with or without offsets.
// Formats are not enforced here: the mapping converts and checks the values it uses, with better messages.
// `pattern` and `patternProperties` run on V8's linear-time regular-expression engine (the `l` flag), so
// no schema can make validation take exponential time (`(a+)+$` took minutes per record on the backtracking
// engine). A pattern that engine cannot run (backreferences, lookaround) is not checked, with a warning.
v8.setFlagsFromString('--enable-experimental-regexp-engine');
const LINEAR = supportsLinearRegExp();
/** Patterns of the schema being compiled that could not be made linear (reported by `register`). */
let uncheckedPatterns: string[] = [];

function supportsLinearRegExp(): boolean {
  try {
    new RegExp('a', 'l');
    return true;
  } catch {
    return false;
  }
}

/** Patterns whose meaning changes without the unicode flag: property escapes, code point escapes, non-ASCII text. */
const NEEDS_UNICODE = /\\[pP]\{|\\u\{|[^\x00-\x7f]/;

function linearRegExp(pattern: string, flags: string): { test: (s: string) => boolean } {
  // The linear engine of older V8 (Node 20) refuses the unicode flag: without it a pattern means the same
  // only when it uses nothing of Unicode; otherwise it is not checked (and said so) rather than misread.
  const candidates = NEEDS_UNICODE.test(pattern) ? [`${flags}l`] : [`${flags}l`, 'l'];
  for (const f of candidates) {
    if (!LINEAR) break;
    try {
      return new RegExp(pattern, f);
    } catch {
      // the next candidate, then give up on this pattern
    }
  }
  uncheckedPatterns.push(pattern);
  return { test: () => true };
}

/** ajv, loaded at the first SCHEMA: a run that reads none (an empty input, --about) starts ~30 ms sooner. */
let ajv: Ajv | undefined;
function schemaCompiler(): Ajv {
  const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
  return (ajv ??= new AjvClass({
    allErrors: true,
    strict: false,
    validateFormats: false,
    multipleOfPrecision: 9,
    logger: false,
    code: { regExp: linearRegExp as unknown as NonNullable<NonNullable<Options['code']>['regExp']> },
  }));
}

export class StreamRegistry {
  private readonly streams = new Map<string, StreamInfo>();

  constructor(
    private readonly validateRecords: boolean,
    /** Told once per SCHEMA about `pattern`s that are not checked (not runnable in linear time). */
    private readonly onUncheckedPatterns: (stream: string, patterns: string[]) => void = () => undefined,
  ) {}

  register(message: SchemaMessage, line: number): StreamInfo {
    uncheckedPatterns = [];
    const violations = this.validateRecords ? compileValidator(message, line) : () => [];
    if (uncheckedPatterns.length > 0) this.onUncheckedPatterns(message.stream, uncheckedPatterns);
    const info: StreamInfo = {
      name: message.stream,
      keyProperties: message.key_properties ?? [],
      bookmarkProperties: message.bookmark_properties ?? [],
      schema: message.schema,
      violations,
      validate: (record) => violations(record).map((v) => v.text),
    };
    this.streams.set(message.stream, info);
    return info;
  }

  get(stream: string): StreamInfo | undefined {
    return this.streams.get(stream);
  }
}

// Some taps repeat the same SCHEMA before every batch: compile each distinct schema once.
const compiledBySchemaText = new Map<string, ValidateFunction>();

function compileValidator(message: SchemaMessage, line: number): (record: JsonObject) => Violation[] {
  const text = stringifyExact(message.schema);
  let validate = compiledBySchemaText.get(text);
  if (!validate) {
    try {
      validate = (ajv ?? schemaCompiler()).compile(toCurrentDraft(message.schema) as object);
    } catch (e) {
      throw new InputError(line, `SCHEMA is not a usable JSON Schema: ${(e as Error).message}`, message.stream);
    }
    compiledBySchemaText.set(text, validate);
  }
  const fn = validate;
  return (record) => {
    // ajv knows no bigint; a number copy is exact enough for type checks and only made when needed.
    const ok = fn(record) || (hasBigInt(record) && fn(bigIntsAsNumbers(record)));
    return ok ? [] : (fn.errors ?? []).map((e) => ({ column: columnOf(e), text: describeViolation(e) }));
  };
}

/** The top-level column an error is in: the first step of its path, or the property a root keyword names. */
function columnOf(e: ErrorObject): string | undefined {
  if (e.instancePath) {
    const first = e.instancePath.slice(1).split('/')[0]!;
    return first.replace(/~1/g, '/').replace(/~0/g, '~');
  }
  if (e.keyword === 'required') return (e.params as { missingProperty: string }).missingProperty;
  if (e.keyword === 'additionalProperties') return (e.params as { additionalProperty: string }).additionalProperty;
  return undefined;
}

function describeViolation(e: ErrorObject): string {
  const at = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '';
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return `field "${at ? `${at}.${missing}` : missing}" is required by the stream's schema but missing`;
  }
  if (e.keyword === 'additionalProperties') {
    return `field "${at ? at + '.' : ''}${(e.params as { additionalProperty: string }).additionalProperty}" is not allowed by the stream's schema`;
  }
  return `field "${at || '(record)'}" ${e.message ?? 'is invalid'}`;
}

/**
 * Draft-04 schemas (tap-postgres and other singer-io taps) use boolean `exclusiveMaximum/Minimum` and `id`;
 * rewrite them to the draft-07 forms ajv expects. `$schema` is dropped so any draft is accepted.
 */
export function toCurrentDraft(schema: unknown): unknown {
  // tap-postgres bounds bigint columns with ±2^63, which arrive as bigint: ajv wants numbers there.
  if (typeof schema === 'bigint') return Number(schema);
  if (Array.isArray(schema)) return schema.map(toCurrentDraft);
  if (schema === null || typeof schema !== 'object') return schema;
  const src = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === '$schema') continue;
    if (k === 'exclusiveMaximum' || k === 'exclusiveMinimum') {
      if (typeof v === 'boolean') {
        const bound = k === 'exclusiveMaximum' ? 'maximum' : 'minimum';
        if (v && typeof src[bound] === 'number') setOwn(out, k, src[bound]);
        continue;
      }
      setOwn(out, k, v);
      continue;
    }
    if ((k === 'maximum' || k === 'minimum') && src[k === 'maximum' ? 'exclusiveMaximum' : 'exclusiveMinimum'] === true) {
      continue; // became the exclusive bound above
    }
    // Draft-04 `id` (and `$id`) would register the schema globally in ajv and clash on the next SCHEMA.
    if ((k === 'id' || k === '$id') && typeof v === 'string') continue;
    // Property names are data, not keywords: convert the schemas under them, keep the names.
    if ((k === 'properties' || k === 'definitions' || k === '$defs' || k === 'patternProperties') && v && typeof v === 'object') {
      setOwn(out, k, Object.fromEntries(Object.entries(v as object).map(([name, sub]) => [name, toCurrentDraft(sub)])));
      continue;
    }
    setOwn(out, k, toCurrentDraft(v));
  }
  return out;
}
