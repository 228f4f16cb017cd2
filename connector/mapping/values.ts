import { stringifyExact } from '../singer/exact-json.js';
import { parseTime, toDateIso, toLocalIso, toUtcIso } from './datetime.js';
import { wallToInstant, type TimeZone } from './time-zones.js';

/**
 * Type conversions of source values into what a Siro field takes. A `type` says how to read the source
 * (`number`, `datetime`, ...); the Siro field's own type then decides the JSON type sent (a number read
 * for a text field is sent as its exact text). Converters return INVALID instead of throwing: a bad value
 * rejects one record, and the hot path stays free of exceptions.
 */

export type ValueType = 'string' | 'number' | 'integer' | 'boolean' | 'datetime' | 'localdatetime' | 'date';
export const VALUE_TYPES: readonly ValueType[] = ['string', 'number', 'integer', 'boolean', 'datetime', 'localdatetime', 'date'];
/** Types whose reading depends on a time zone. */
export const TIME_TYPES: readonly ValueType[] = ['datetime', 'localdatetime', 'date'];

/** The JSON type of a Siro field. */
export type FieldType = 'string' | 'number' | 'integer' | 'boolean';

export const INVALID: unique symbol = Symbol('invalid value');
export type Converted = unknown;
export type Converter = (value: unknown, zone: TimeZone) => Converted;

/** Null, absent, empty or whitespace-only: all mean "no value". */
export function isBlank(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v !== 'string') return false;
  if (v.length === 0) return true;
  const c = v.charCodeAt(0);
  // Only a string starting with whitespace can be all whitespace: skip the trim otherwise.
  return (c <= 32 || c === 160 || c >= 0x1680) && v.trim() === '';
}

const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGRAL = /^[+-]?\d+$/;

export function readNumber(v: unknown): number | typeof INVALID {
  // Beyond a double's range (`1e400`, a 400-digit integer) is no number Siro can hold: JSON would send null.
  if (typeof v === 'number') return Number.isFinite(v) ? v : INVALID;
  if (typeof v === 'bigint') return finiteOrInvalid(Number(v));
  if (typeof v === 'string') {
    const t = v.trim();
    return NUMERIC.test(t) ? finiteOrInvalid(Number(t)) : INVALID;
  }
  return INVALID;
}

function finiteOrInvalid(n: number): number | typeof INVALID {
  return Number.isFinite(n) ? n : INVALID;
}

function readInteger(v: unknown): number | bigint | typeof INVALID {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string') {
    const t = v.trim();
    if (INTEGRAL.test(t)) {
      const n = Number(t);
      return Number.isSafeInteger(n) ? n : BigInt(t);
    }
  }
  const n = readNumber(v);
  return n !== INVALID && Number.isInteger(n) ? n : INVALID;
}

const BOOLEAN_TEXT: Record<string, boolean> = { true: true, false: false, t: true, f: false, yes: true, no: false, '1': true, '0': false };

function readBoolean(v: unknown): boolean | typeof INVALID {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return v == 1 ? true : v == 0 ? false : INVALID;
  if (typeof v === 'string') return BOOLEAN_TEXT[v.trim().toLowerCase()] ?? INVALID;
  return INVALID;
}

/** Text, exactly: numbers and bigints as written, objects and lists as JSON. */
export function readString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return stringifyExact(v);
}

/** A number read for a text field keeps its exact text (a numeric string as written, trimmed). */
function numberAsText(read: (v: unknown) => unknown): Converter {
  return (v) => {
    const n = read(v);
    if (n === INVALID) return INVALID;
    return typeof v === 'string' ? v.trim() : String(n);
  };
}

const CONVERTERS: Record<ValueType, Partial<Record<FieldType, Converter>>> = {
  string: { string: readString },
  number: { number: readNumber, string: numberAsText(readNumber) },
  integer: {
    integer: (v) => {
      const n = readInteger(v);
      return typeof n === 'bigint' ? Number(n) : n;
    },
    number: (v) => {
      const n = readInteger(v);
      return typeof n === 'bigint' ? Number(n) : n;
    },
    string: numberAsText(readInteger),
  },
  boolean: {
    boolean: readBoolean,
    string: (v) => {
      const b = readBoolean(v);
      return b === INVALID ? b : String(b);
    },
  },
  datetime: { string: (v, zone) => timeOr(v, zone, toUtcIso) },
  localdatetime: { string: (v, zone) => timeOr(v, zone, toLocalIso) },
  date: { string: (v, zone) => timeOr(v, zone, toDateIso) },
};

function timeOr(
  v: unknown,
  zone: TimeZone,
  write: (t: NonNullable<ReturnType<typeof parseTime>>, zone: TimeZone) => string | undefined,
): Converted {
  const t = parseTime(v);
  if (t === undefined) return INVALID;
  return write(t, zone) ?? INVALID;
}

/**
 * A date/time moved by `shiftMs` of elapsed time, written as `type` (datetime: UTC; localdatetime: the wall
 * clock in `zone`). A naive time is placed in `zone` first, so "start + duration" is exact across DST.
 */
export function shiftedTime(v: unknown, zone: TimeZone, shiftMs: number, type: 'datetime' | 'localdatetime'): Converted {
  const t = parseTime(v);
  if (t === undefined) return INVALID;
  const moved = { instant: true, ms: (t.instant ? t.ms : wallToInstant(t.ms, zone)) + shiftMs };
  return (type === 'datetime' ? toUtcIso(moved, zone) : toLocalIso(moved, zone)) ?? INVALID;
}

/** The converter reading a source as `type` for a field of JSON type `field`, or undefined if they don't fit. */
export function converterFor(type: ValueType, field: FieldType): Converter | undefined {
  return CONVERTERS[type][field];
}

/** The types a `type:` may take for a field of this JSON type. */
export function typesFor(field: FieldType): ValueType[] {
  return VALUE_TYPES.filter((t) => CONVERTERS[t][field] !== undefined);
}

/** What a value reads as natively (the `type` of the value produced by converting it as `type` alone). */
export function nativeFieldType(type: ValueType): FieldType {
  return type === 'number' || type === 'integer' || type === 'boolean' ? type : 'string';
}

/** The lookup key of a value in a `map:` (case-insensitive; numbers and booleans by their text). */
export function mapKeyOf(v: unknown): string {
  return (typeof v === 'string' ? v : readString(v)).trim().toLowerCase();
}

/** A value for a message: strings quoted, long values cut. */
export function describeValue(v: unknown): string {
  const text = typeof v === 'string' ? JSON.stringify(v) : readString(v);
  return text.length > 120 ? text.slice(0, 117) + '...' : text;
}

export function typeDescription(type: ValueType): string {
  switch (type) {
    case 'datetime':
    case 'localdatetime':
      return `a ${type} (ISO-8601, "YYYY-MM-DD HH:mm:ss", a date, or epoch seconds/milliseconds)`;
    case 'date':
      return 'a date';
    case 'boolean':
      return 'a boolean (true/false, t/f, yes/no, 1/0)';
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'string':
      return 'text';
  }
}
