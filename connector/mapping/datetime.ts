import { DateTime } from 'luxon';
import { UTC, instantToWall, wallToInstant, type TimeZone } from './time-zones.js';

/**
 * Reading date/time values the way warehouses and taps write them, and writing them the way Siro wants.
 * A value is either an *instant* (it has an offset, or is an epoch number) or a *wall-clock* time (naive:
 * no offset; it means nothing until read in a time zone). Both are kept as ms since the epoch; a wall
 * clock as if it were UTC. The common shapes go through one regex (fast); other ISO-8601, SQL, RFC 2822
 * and HTTP forms fall back to luxon.
 */

export interface ParsedTime {
  /** true: `ms` is an instant; false: `ms` is a wall-clock time written as if UTC. */
  readonly instant: boolean;
  readonly ms: number;
}

const DAY_MS = 86_400_000;
/** 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z: what `toISOString` writes as plain YYYY-MM-DD. */
const MIN_MS = -62_167_219_200_000;
const MAX_MS = 253_402_300_799_999;
/** Epoch numbers above this are milliseconds (1e11 s is year 5138; 1e11 ms is 1973). */
const EPOCH_MS_THRESHOLD = 1e11;

const EPOCH_TEXT = /^[+-]?\d+(?:\.\d+)?$/;

/** Two ASCII digits at i as a number, or -1. The caller has checked the length. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** Days since 1970-01-01 of a civil date (proleptic Gregorian; any year, unlike Date.UTC for 0..99). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function fromEpoch(n: number): ParsedTime | undefined {
  if (!Number.isFinite(n)) return undefined;
  // Sub-millisecond digits are cut, as they are from ISO text.
  const ms = Math.floor(Math.abs(n) > EPOCH_MS_THRESHOLD ? n : n * 1000);
  return ms >= MIN_MS && ms <= MAX_MS ? { instant: true, ms } : undefined;
}

/**
 * `YYYY-MM-DD`, optionally followed by `T` or a space, `HH:mm`, `:ss`, a fraction of any length (`.` or `,`)
 * and an offset (`Z`, `+HH`, `+HHMM`, `+HH:MM`, after optional spaces): the shapes warehouses and taps
 * write. Read by hand, not by a regex: this runs for every date/time field of every record.
 * Returns null when the text has another shape (the fallback parsers may know it), undefined when it has
 * this shape but is not a real date/time.
 */
function parseCommon(s: string): ParsedTime | undefined | null {
  const len = s.length;
  if (len < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return null;
  const y1 = twoDigits(s, 0);
  const y2 = twoDigits(s, 2);
  const month = twoDigits(s, 5);
  const day = twoDigits(s, 8);
  if (y1 < 0 || y2 < 0 || month < 0 || day < 0) return null;
  const year = y1 * 100 + y2;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let millis = 0;
  let offset: number | undefined;
  let i = 10;
  if (i < len) {
    const sep = s.charCodeAt(i);
    if ((sep !== 84 && sep !== 116 && sep !== 32) || len < i + 6 || s.charCodeAt(i + 3) !== 58) return null; // T t ' ' and ':'
    hour = twoDigits(s, i + 1);
    minute = twoDigits(s, i + 4);
    if (hour < 0 || minute < 0) return null;
    i += 6;
    if (i < len && s.charCodeAt(i) === 58) {
      if (len < i + 3) return null;
      second = twoDigits(s, i + 1);
      if (second < 0) return null;
      i += 3;
      const dot = s.charCodeAt(i);
      if (i < len && (dot === 46 || dot === 44)) {
        const start = ++i;
        for (; i < len; i++) {
          const d = s.charCodeAt(i) - 48;
          if (d < 0 || d > 9) break;
          if (i - start < 3) millis = millis * 10 + d;
        }
        const n = i - start;
        if (n === 0) return null;
        if (n === 1) millis *= 100;
        else if (n === 2) millis *= 10;
      }
    }
    while (i < len && s.charCodeAt(i) === 32) i++;
    if (i < len) {
      const c = s.charCodeAt(i);
      if (c === 90 || c === 122) {
        // Z z
        if (i + 1 !== len) return null;
        offset = 0;
      } else if (c === 43 || c === 45) {
        // + -
        if (len < i + 3) return null;
        const offHours = twoDigits(s, i + 1);
        let offMinutes = 0;
        i += 3;
        if (i < len) {
          if (s.charCodeAt(i) === 58) i++;
          if (len !== i + 2) return null;
          offMinutes = twoDigits(s, i);
        }
        if (offHours < 0 || offHours > 23 || offMinutes < 0 || offMinutes > 59) return offHours < 0 || offMinutes < 0 ? null : undefined;
        offset = (offHours * 60 + offMinutes) * (c === 45 ? -1 : 1);
      } else return null;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const wall = daysFromCivil(year, month, day) * DAY_MS + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis;
  return offset === undefined ? { instant: false, ms: wall } : { instant: true, ms: wall - offset * 60_000 };
}

type LuxonParser = (text: string, opts: { zone: string }) => DateTime;
const FALLBACK_PARSERS: LuxonParser[] = [
  (t, o) => DateTime.fromISO(t, o),
  (t, o) => DateTime.fromSQL(t, o),
  (t, o) => DateTime.fromRFC2822(t, o),
  (t, o) => DateTime.fromHTTP(t, o),
];

/** Luxon's parsers, read in two far-apart zones: same instant both times means the text had an offset. */
function parseWithLuxon(text: string): ParsedTime | undefined {
  for (const parse of FALLBACK_PARSERS) {
    const a = parse(text, { zone: 'UTC' });
    if (!a.isValid) continue;
    const b = parse(text, { zone: 'Pacific/Kiritimati' });
    // Read in UTC, a naive text's toMillis() is already its wall clock written as if UTC.
    const ms = a.toMillis();
    return ms >= MIN_MS && ms <= MAX_MS ? { instant: ms === b.toMillis(), ms } : undefined;
  }
  return undefined;
}

/** An ISO-8601 / SQL date-time text ending in an offset (`Z`, `+00:00`, `-0600`, `+05`). */
const WITH_OFFSET = /^(\s*[+-]?\d{4,6}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*(?:Z|[+-]\d{2}(?::?\d{2})?)\s*$/i;

/**
 * The wall-clock part of a labelled date-time text (`2026-03-08 13:00:00+00:00` → `2026-03-08 13:00:00`),
 * for `offset: ignore`; other values (naive text, epoch numbers, zone names) as they are.
 */
export function withoutOffset(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const m = WITH_OFFSET.exec(value);
  return m ? m[1]!.trim() : value;
}

/** Any supported date/time value, or undefined when it is not one. */
export function parseTime(value: unknown): ParsedTime | undefined {
  if (typeof value === 'number') return fromEpoch(value);
  if (typeof value === 'bigint') return fromEpoch(Number(value));
  if (typeof value !== 'string') return undefined;
  // Mappings often read one column twice (startTime and startTimeLocalized): remember the last text.
  if (value === lastText) return lastParsed;
  const parsed = parseText(value.trim());
  lastText = value;
  lastParsed = parsed;
  return parsed;
}

let lastText: string | undefined;
let lastParsed: ParsedTime | undefined;

function parseText(text: string): ParsedTime | undefined {
  const common = parseCommon(text);
  if (common !== null) return common;
  if (EPOCH_TEXT.test(text)) return fromEpoch(Number(text));
  return parseWithLuxon(text);
}

/** Civil date of a day number (inverse of daysFromCivil). */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const PAD2: string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/** `YYYY-MM-DD`, plus `THH:mm:ss` (19 chars) or `THH:mm:ss.SSSZ` (24 chars): faster than Date#toISOString. */
function format(ms: number, length: 10 | 19 | 24): string {
  const days = Math.floor(ms / DAY_MS);
  const [y, m, d] = civilFromDays(days);
  const date = PAD2[(y / 100) | 0]! + PAD2[y % 100]! + '-' + PAD2[m]! + '-' + PAD2[d]!;
  if (length === 10) return date;
  let rest = ms - days * DAY_MS;
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  const time = date + 'T' + PAD2[hour]! + ':' + PAD2[minute]! + ':' + PAD2[second]!;
  if (length === 19) return time;
  const millis = rest - second * 1000;
  return time + '.' + (millis < 10 ? '00' : millis < 100 ? '0' : '') + millis + 'Z';
}

function wallIn(t: ParsedTime, zone: TimeZone): number {
  return t.instant ? instantToWall(t.ms, zone) : t.ms;
}

/** UTC ISO-8601 with milliseconds and `Z`; naive values are read in `zone`. */
export function toUtcIso(t: ParsedTime, zone: TimeZone = UTC): string | undefined {
  const ms = t.instant ? t.ms : wallToInstant(t.ms, zone);
  return ms < MIN_MS || ms > MAX_MS ? undefined : format(ms, 24);
}

/** Wall-clock `YYYY-MM-DDTHH:mm:ss` (no offset); instants are shown in `zone`. */
export function toLocalIso(t: ParsedTime, zone: TimeZone = UTC): string | undefined {
  const wall = wallIn(t, zone);
  return wall < MIN_MS || wall > MAX_MS ? undefined : format(wall, 19);
}

/** `YYYY-MM-DD`; instants are dated in `zone`. */
export function toDateIso(t: ParsedTime, zone: TimeZone = UTC): string | undefined {
  const wall = wallIn(t, zone);
  return wall < MIN_MS || wall > MAX_MS ? undefined : format(wall, 10);
}
