import { isSafeNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';

/**
 * JSON with exact integers. `JSON.parse` rounds integers above 2^53, and ids in that range are common
 * (Snowflake ids, hashes). Integers that do not fit a double exactly become `bigint`; everything else is
 * a plain JS value. A digit run of 16+ characters is rare, so the common case stays on `JSON.parse`.
 */
const LONG_DIGITS = /\d{16}/;

function parseNumber(text: string): number | bigint {
  if (isSafeNumber(text)) return Number(text);
  if (/^-?\d+$/.test(text)) return BigInt(text);
  // A long decimal: the nearest double is the best a JS number can do (Siro's numbers are doubles too).
  return Number(text);
}

export function parseExact(text: string): unknown {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text);
  return losslessParse(text, null, parseNumber);
}

/** JSON text from values that may hold bigints (written as bare integers, exactly). */
export function stringifyExact(value: unknown): string {
  return losslessStringify(value, bigintReplacer) ?? 'null';
}

function bigintReplacer(_key: string, v: unknown): unknown {
  return v;
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
  for (const k in value as Record<string, unknown>) out[k] = bigIntsAsNumbers((value as Record<string, unknown>)[k]);
  return out;
}
