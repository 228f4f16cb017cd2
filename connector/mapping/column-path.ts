import { parseExact } from '../singer/exact-json.js';
import type { MapContext } from './context.js';

/**
 * Column paths: `a.b.c` walks into nested objects, `a[0]` into lists, and `a["x.y"]` / `a['x:y']` quotes a
 * key holding dots or brackets. Taps send json/jsonb columns as JSON *text*, so a string met on the way
 * is parsed (exactly: big integers stay bigint) and the walk goes on inside it.
 */

export interface ColumnPath {
  /** As written in the mapping (for messages). */
  readonly text: string;
  readonly segments: readonly string[];
}

export class ColumnPathSyntaxError extends Error {}

export function parseColumnPath(input: string): ColumnPath {
  const text = input.trim();
  if (text === '') throw new ColumnPathSyntaxError('empty column path');
  const segments: string[] = [];
  let i = 0;
  const bad = (why: string): never => {
    throw new ColumnPathSyntaxError(`bad column path "${text}": ${why} at character ${i + 1}`);
  };
  const bare = (): void => {
    const start = i;
    while (i < text.length && text[i] !== '.' && text[i] !== '[' && text[i] !== ']') i++;
    if (i === start) bad('a name is missing');
    segments.push(text.slice(start, i));
  };
  const bracket = (): void => {
    i++; // '['
    const quote = text[i];
    if (quote === '"' || quote === "'") {
      i++;
      let key = '';
      while (i < text.length && text[i] !== quote) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        key += text[i];
        i++;
      }
      if (i >= text.length) bad(`unclosed ${quote}`);
      i++; // closing quote
      segments.push(key);
    } else {
      const start = i;
      while (i < text.length && text[i]! >= '0' && text[i]! <= '9') i++;
      if (i === start) bad('expected a quoted key or a list index after [');
      segments.push(text.slice(start, i));
    }
    if (text[i] !== ']') bad('expected ]');
    i++;
  };

  if (text[0] === '[') bracket();
  else bare();
  while (i < text.length) {
    if (text[i] === '.') {
      i++;
      bare();
    } else if (text[i] === '[') bracket();
    else bad(`unexpected "${text[i]}"`);
  }
  return { text, segments };
}

/** Parses a string holding a JSON object or array (cached per record); anything else is not walkable. */
export function jsonTextValue(text: string, ctx: MapContext): unknown {
  const first = text.trimStart().charCodeAt(0);
  if (first !== 123 /* { */ && first !== 91 /* [ */) return undefined;
  const cache = (ctx.json ??= new Map());
  if (cache.has(text)) return cache.get(text);
  let parsed: unknown;
  try {
    parsed = parseExact(text);
  } catch {
    parsed = undefined;
  }
  cache.set(text, parsed);
  return parsed;
}

/** Walks segments from a value; JSON text met on the way is parsed. Missing → undefined; a null on the way → null. */
export function walk(from: unknown, segments: readonly string[], ctx: MapContext): unknown {
  let cur = from;
  for (let i = 0; i < segments.length; i++) {
    if (typeof cur === 'string') cur = jsonTextValue(cur, ctx);
    // A null on the way (`meta` is null for `meta.crm_id`) is a value that is there and empty.
    if (cur === null) return null;
    if (typeof cur !== 'object') return undefined;
    // Only the value's own members are columns: never `__proto__`, `constructor` or `toString`.
    if (!Object.hasOwn(cur, segments[i]!)) return undefined;
    cur = (cur as Record<string, unknown>)[segments[i]!];
  }
  return cur;
}

export type Getter = (scope: Record<string, unknown>, ctx: MapContext) => unknown;

/**
 * A reader for one column path. An exact key match on the scope wins first, so a column literally named
 * `meta.crm_id` is read as it is; only otherwise is the path walked.
 */
export function columnGetter(path: ColumnPath): Getter {
  const segments = path.segments;
  if (segments.length === 1) {
    // Generated so each column read has its own property-load site: records of a stream share one shape,
    // so the site stays monomorphic (a shared closure reading `scope[key]` is megamorphic and ~5x slower).
    // The key enters the code only as a JSON string literal.
    return new Function('scope', `const v = scope[${JSON.stringify(segments[0])}]; return typeof v === 'function' ? undefined : v;`) as Getter;
  }
  const whole = path.text;
  return (scope, ctx) => {
    const direct = scope[whole];
    if (direct !== undefined && typeof direct !== 'function') return direct;
    return walk(scope, segments, ctx);
  };
}
