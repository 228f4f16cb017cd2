import { LosslessNumber } from 'lossless-json';
import type { JsonEncoder, ValueKind } from './dialect.js';

/**
 * Postgres values arrive as the server's text output (the tap installs a pass-through type parser on
 * its own connections, and sets TimeZone=UTC, DateStyle=ISO). These functions turn that text straight
 * into JSON text, so nothing passes through a JS number or Date on the way: bigint and numeric keep
 * every digit, timestamps keep their microseconds.
 */

/**
 * tap-postgres writes NaN and ±Infinity as null (JSON has no such numbers); the schema of every numeric
 * and float column therefore allows null, NOT NULL or not (type-mapping.ts).
 */
const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

const TIMESTAMP =
  /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?( BC)?$/;

/**
 * What ISO-8601 (RFC 3339 `date-time`/`date`) cannot hold (infinity, BC, years above 9999) is clamped to
 * the representable range in records, as tap-postgres does. Bookmarks keep the server's own text for
 * those values instead (`postgresBookmarkValue`), so a resumed run compares with the exact value.
 */
const MAX_TIMESTAMP = '9999-12-31T23:59:59.999999+00:00';
const MIN_TIMESTAMP = '0001-01-01T00:00:00.000000+00:00';

/**
 * `2026-03-04 14:00:00.123456+00` → `2026-03-04T14:00:00.123456+00:00`. Always six fractional digits
 * (fixed width: bookmarks compare and sort as text), always an offset: a timestamp without time zone is
 * taken as UTC and gets `+00:00`, like tap-postgres.
 */
export function isoTimestamp(text: string): string {
  if (text === 'infinity') return MAX_TIMESTAMP;
  if (text === '-infinity') return MIN_TIMESTAMP;
  const m = TIMESTAMP.exec(text);
  if (!m) throw new Error(`unexpected timestamp text from postgres: ${JSON.stringify(text)}`);
  if (m[12]) return MIN_TIMESTAMP;
  if (m[1]!.length > 4) return MAX_TIMESTAMP;
  const [, y, mo, d, h, mi, s, frac = '', sign, oh, om = '00'] = m;
  const offset = sign ? `${sign}${oh}:${om}` : '+00:00';
  return `${y}-${mo}-${d}T${h}:${mi}:${s}.${frac.padEnd(6, '0')}${offset === '-00:00' ? '+00:00' : offset}`;
}

/** `YYYY-MM-DD` (DateStyle ISO already prints it so); infinity, BC dates and years above 9999 are clamped. */
export function isoDate(text: string): string {
  if (text === 'infinity' || /^\d{5,}-/.test(text)) return '9999-12-31';
  if (text === '-infinity' || text.endsWith(' BC')) return '0001-01-01';
  return text;
}

/** Whether ISO-8601 holds this date or timestamp text as it is (a year 1 to 9999, not infinite). */
function isoHolds(text: string): boolean {
  return /^\d{4}-/.test(text) && !text.endsWith(' BC');
}

/**
 * The elements of an array literal such as `{1,NULL,"a \"b\""}` or `[0:1]={{1,2},{3,4}}`: strings,
 * nulls, and nested arrays for multi-dimensional arrays.
 */
export type ArrayElement = string | null | ArrayElement[];

export function parseArrayLiteral(text: string, delimiter = ','): ArrayElement[] {
  let i = 0;
  // Explicit bounds ("[0:2]=") precede the braces when the lower bound is not 1.
  if (text[0] === '[') {
    i = text.indexOf('=') + 1;
    if (i === 0) throw new Error(`unexpected array text from postgres: ${JSON.stringify(text)}`);
  }
  const fail = (): never => {
    throw new Error(`unexpected array text from postgres at ${i}: ${JSON.stringify(text.slice(0, 200))}`);
  };
  const parseArray = (): ArrayElement[] => {
    if (text[i] !== '{') fail();
    i++;
    const out: ArrayElement[] = [];
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      while (text[i] === ' ') i++;
      const ch = text[i];
      if (ch === '{') {
        out.push(parseArray());
      } else if (ch === '"') {
        i++;
        let value = '';
        for (;;) {
          const c = text[i++];
          if (c === undefined) fail();
          if (c === '\\') value += text[i++];
          else if (c === '"') break;
          else value += c;
        }
        out.push(value);
      } else {
        let end = i;
        while (end < text.length && text[end] !== delimiter && text[end] !== '}') end++;
        const token = text.slice(i, end).trim();
        out.push(token.toUpperCase() === 'NULL' ? null : token);
        i = end;
      }
      while (text[i] === ' ') i++;
      if (text[i] === delimiter) {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return out;
      }
      fail();
    }
  };
  const result = parseArray();
  if (i !== text.length) fail();
  return result;
}

function encodeArray(elements: ArrayElement[], item: JsonEncoder): string {
  let out = '[';
  for (let k = 0; k < elements.length; k++) {
    if (k > 0) out += ',';
    const e = elements[k];
    out += e === null ? 'null' : Array.isArray(e) ? encodeArray(e, item) : item(e);
  }
  return out + ']';
}

const quote = (raw: unknown) => JSON.stringify(raw as string);
const exactNumber = (raw: unknown) => (NON_FINITE.has(raw as string) ? 'null' : (raw as string));

/** JSON text of a postgres text value of the given kind. */
export function postgresEncoder(kind: ValueKind): JsonEncoder {
  switch (kind.type) {
    case 'integer':
    case 'bigint':
      // The server's integer text is already a JSON number, with every digit.
      return (raw) => raw as string;
    case 'decimal':
    case 'float':
      return exactNumber;
    case 'boolean':
      return (raw) => (raw === 't' ? 'true' : 'false');
    case 'string':
      return quote;
    case 'date':
      return (raw) => JSON.stringify(isoDate(raw as string));
    case 'timestamp':
    case 'timestamptz':
      return (raw) => JSON.stringify(isoTimestamp(raw as string));
    case 'json':
      // The server's json/jsonb text is JSON already, so big integers and long decimals inside stay exact.
      // A json (not jsonb) value keeps the whitespace it was stored with; line breaks can only be
      // whitespace there (strings escape them) and would split the output line, so they become spaces.
      return (raw) => (raw as string).replace(/[\r\n]+/g, ' ');
    case 'array': {
      const item = postgresEncoder(kind.items);
      const delimiter = kind.delimiter ?? ',';
      return (raw) => encodeArray(parseArrayLiteral(raw as string, delimiter), item);
    }
  }
}

/** The STATE form of a replication-key value: exact numbers stay numbers, times become ISO-8601 text. */
export function postgresBookmarkValue(kind: ValueKind, raw: unknown): unknown {
  const text = raw as string;
  switch (kind.type) {
    case 'integer':
    case 'bigint':
    case 'decimal':
    case 'float':
      return NON_FINITE.has(text) ? text : new LosslessNumber(text);
    // The server's own text where ISO-8601 would clamp (BC, infinity, years above 9999): clamped, two
    // keys would share one bookmark and a resumed run would skip the rows between them.
    case 'date':
      return isoHolds(text) ? isoDate(text) : text;
    case 'timestamp':
    case 'timestamptz':
      return isoHolds(text) ? isoTimestamp(text) : text;
    case 'boolean':
      return text === 't';
    default:
      return text;
  }
}
