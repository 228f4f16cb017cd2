import { setOwn } from '../core/own-keys.js';
import { isSafeNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';

/**
 * JSON with exact integers. `JSON.parse` rounds integers above 2^53, and ids in that range are common
 * (Snowflake ids, hashes). Integers that do not fit a double exactly become `bigint`; everything else is
 * a plain JS value. The native parser reads every line first; only when the result holds a number of
 * magnitude 2^53 or more (the only ones that can have been rounded) is the text read again exactly. That
 * check walks the parsed values, which is cheaper than searching the text for long digit runs.
 */

function parseNumber(text: string): number | bigint {
  if (isSafeNumber(text)) return Number(text);
  if (/^-?\d+$/.test(text)) return BigInt(text);
  // A long decimal: the nearest double is the best a JS number can do (Siro's numbers are doubles too).
  return Number(text);
}

export function parseExact(text: string): unknown {
  const value: unknown = JSON.parse(text);
  return mayBeRounded(value, 0) ? parseUnsafeIntegers(text) : value;
}

/** 2^53: every integer below it in magnitude is a double exactly; at or above it, JSON.parse may have rounded. */
const EXACT_LIMIT = 2 ** 53;

/** True when a number of magnitude >= 2^53 is anywhere in the parsed value (depth-capped: deeper means "check"). */
function mayBeRounded(value: unknown, depth: number): boolean {
  if (typeof value === 'number') return value >= EXACT_LIMIT || value <= -EXACT_LIMIT;
  if (value === null || typeof value !== 'object') return false;
  if (depth > 64) return true; // the exact path then decides; no deep recursion here
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if ((typeof v === 'number' || (v !== null && typeof v === 'object')) && mayBeRounded(v, depth + 1)) return true;
    }
    return false;
  }
  const obj = value as Record<string, unknown>;
  for (const k in obj) {
    const v = obj[k];
    if ((typeof v === 'number' || (v !== null && typeof v === 'object')) && mayBeRounded(v, depth + 1)) return true;
  }
  return false;
}

/** The text again, with the integers a double cannot hold read as bigints. */
function parseUnsafeIntegers(text: string): unknown {
  const spans = unsafeIntegerSpans(text);
  if (spans === undefined) return losslessParse(text, null, parseNumber);
  if (spans.length === 0) return JSON.parse(text); // big, but exact as doubles (2^53 itself, 1e300 written out)
  // Quote the unsafe integers with a marker, let the native parser do the rest, then turn the marked
  // strings into bigints: several times faster than a JavaScript JSON parser on the whole line.
  let quoted = '';
  let at = 0;
  for (let i = 0; i < spans.length; i += 2) {
    quoted += text.slice(at, spans[i]) + '"\\u0001' + text.slice(spans[i], spans[i + 1]) + '"';
    at = spans[i + 1]!;
  }
  return restoreBigInts(JSON.parse(quoted + text.slice(at)));
}

/**
 * Starts a quoted unsafe integer (written as the escape `\u0001` in the JSON text). Texts that already
 * hold that character, escaped or raw, take the general parser, so a marked string is always ours.
 */
const MARK = '\u0001';
const ESCAPED_MARK = /\\u0001/i;

/**
 * Start/end offsets of integer tokens (outside strings) that a double cannot hold exactly; undefined when
 * the text is unusual (holds the marker), so the caller takes the fully general parser.
 */
function unsafeIntegerSpans(text: string): number[] | undefined {
  if (text.includes(MARK) || ESCAPED_MARK.test(text)) return undefined;
  const spans: number[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i += 2;
        else if (d === 34) break;
        else i++;
      }
      i++;
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i;
      i++;
      let integer = true;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d >= 48 && d <= 57) i++;
        else if (d === 46 || d === 101 || d === 69 || d === 43 || d === 45) {
          integer = false;
          i++;
        } else break;
      }
      if (integer && i - start >= 16 && !isSafeNumber(text.slice(start, i))) spans.push(start, i);
    } else i++;
  }
  return spans;
}

function restoreBigInts(value: unknown): unknown {
  if (typeof value === 'string') return value.charCodeAt(0) === 1 ? BigInt(value.slice(1)) : value;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restoreBigInts(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  for (const k in obj) {
    const v = obj[k];
    if (typeof v === 'object' || (typeof v === 'string' && v.charCodeAt(0) === 1)) obj[k] = restoreBigInts(v);
  }
  return obj;
}

/** JSON text from values that may hold bigints (written as bare integers, exactly). */
export function stringifyExact(value: unknown): string {
  return losslessStringify(value) ?? 'null';
}

/** True when the value tree holds a bigint anywhere (only then is the slow path needed). */
export function hasBigInt(value: unknown): boolean {
  if (typeof value === 'bigint') return true;
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(hasBigInt);
  for (const k in value as Record<string, unknown>) if (hasBigInt((value as Record<string, unknown>)[k])) return true;
  return false;
}

/** A copy with bigints turned into numbers: good enough for type checks (ajv knows no bigint). */
export function bigIntsAsNumbers(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(bigIntsAsNumbers);
  const out: Record<string, unknown> = {};
  for (const k in value as Record<string, unknown>) setOwn(out, k, bigIntsAsNumbers((value as Record<string, unknown>)[k]));
  return out;
}
