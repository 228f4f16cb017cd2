import { lastSegment as lastKey } from './column-names.js';
import { mainShape, mostlyShapes as allShapes, schemaFormat, schemaTypes, type ColumnProfile } from './profile.js';

/**
 * What a column holds (its kind), decided once per column from its sampled values, else from its declared
 * schema and SQL type; and the short description every suggestion's comment starts with.
 */

/** What a column holds, from its sampled values when there are any, else from its schema and SQL type. */
export type Kind = 'instant' | 'epoch' | 'naive' | 'wallclock' | 'date' | 'integer' | 'number' | 'boolean' | 'text' | 'zone' | 'objects' | 'texts' | 'object' | 'unknown';

export function kindOf(c: ColumnProfile): Kind {
  const withoutZone = c.sqlType !== undefined && /without time zone|^timestamp$|^datetime$/i.test(c.sqlType.trim());
  if (c.filled > 0) {
    if (allShapes(c, 'instant', 'naive')) {
      // Offsets on some values only (Meltano SDK BATCH files drop the `+00:00` its RECORDs carry): the
      // values without one are UTC like the rest, not wall-clock times.
      if (c.shapes.get('naive') && !c.shapes.get('instant')) return withoutZone || c.sqlType === undefined ? 'naive' : 'instant';
      return withoutZone ? 'wallclock' : 'instant';
    }
    if (allShapes(c, 'date')) return 'date';
    if (allShapes(c, 'integer')) {
      // Twilio-style `start_time` in ms, HubSpot v1 `metadata.startTime`: numbers that are times.
      const epoch = c.min !== undefined && EPOCH_RANGES.some(([lo, hi]) => c.min! >= lo && c.max! < hi);
      const key = lastKey(c.path);
      return epoch && (TIME_NAME.test(key) || AT_NAME.test(key)) ? 'epoch' : 'integer';
    }
    if (allShapes(c, 'integer', 'number')) return 'number';
    if (allShapes(c, 'zone')) return 'zone';
    const main = mainShape(c);
    if (main === 'objects' || main === 'texts' || main === 'object' || main === 'boolean') return allShapes(c, main) ? main : 'unknown';
    // Text that is sometimes all digits (zip codes, HubSpot's numeric properties) is text.
    if (allShapes(c, 'text', 'zone', 'integer', 'number')) return 'text';
    return 'unknown';
  }
  const types = schemaTypes(c.schema);
  const format = schemaFormat(c.schema);
  if (types.has('string') && format === 'date-time') return withoutZone ? 'wallclock' : 'instant';
  if (types.has('string') && format === 'date') return 'date';
  if (types.has('integer')) return 'integer';
  if (types.has('number')) return 'number';
  if (types.has('boolean')) return 'boolean';
  if (types.has('string')) return 'text';
  if (types.has('array')) return 'texts';
  if (types.has('object')) return 'object';
  return 'unknown';
}

export const KIND_TEXT: Record<Kind, string> = {
  instant: 'date-time with offset',
  epoch: 'epoch time',
  naive: 'date-time without offset',
  wallclock: 'wall-clock date-time',
  date: 'date',
  integer: 'integer',
  number: 'number',
  boolean: 'boolean',
  text: 'text',
  zone: 'IANA time zones',
  objects: 'list of objects',
  texts: 'list',
  object: 'object',
  unknown: 'mixed values',
};

export const TIME_KINDS: readonly Kind[] = ['instant', 'epoch', 'naive', 'wallclock'];

/** Epoch seconds (2001..2286) or milliseconds (2001..2286): numbers a time-named column holds as times. */
const EPOCH_RANGES: readonly [number, number][] = [[1e9, 1e10], [1e12, 1e13]];
const TIME_NAME = /(?:time|date|stamp|created|updated|modified)$/i;
const AT_NAME = /(?:_at|At)$/;
/** Start names too vague to serve as another column's fallback. */
export const GENERIC_TIME_NAMES = new Set(['date', 'timestamp', 'datetime', 'start', 'startdate', 'eventdate', 'eventtime']);

/** `started_at` (date-time with offset, e.g. 2026-03-04T20:00:00Z). */
export function describe(c: ColumnProfile, kinds: Map<string, Kind>): string {
  const kind = kinds.get(c.path)!;
  // A SQL type says what a scalar is better than our words; for JSON columns the words add the shape.
  const sqlSays: readonly Kind[] = ['instant', 'naive', 'wallclock', 'date', 'integer', 'number', 'boolean', 'text'];
  const example = c.examples[0] !== undefined ? `, e.g. ${c.examples[0]}` : '';
  const empty = c.present > 0 && c.filled === 0 ? ', always empty in the sample' : '';
  const types = schemaTypes(c.schema);
  const asText = (kind === 'integer' || kind === 'number') && types.has('string') && !types.has('integer') && !types.has('number') ? ' as text' : '';
  // Without values, a date-time schema says nothing of offsets.
  const words = c.filled === 0 && kind === 'instant' ? 'date-time' : KIND_TEXT[kind];
  const type = c.sqlType ? (sqlSays.includes(kind) ? c.sqlType : `${c.sqlType}, ${words}`) : `${words}${asText}`;
  return `${c.path} (${type}${example}${empty})`;
}

