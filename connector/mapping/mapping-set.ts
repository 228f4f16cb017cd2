import type { StreamMapping } from './compile.js';

/**
 * Which mapping a stream uses: an exact stream name wins; otherwise the first glob that matches, in load
 * order (files sorted by name, then as written). Globs: `*` any run of characters, `?` one character.
 */

export interface MappingSet {
  readonly files: string[];
  /** The stream names and globs the mappings name, as written (for "did you mean" hints). */
  readonly patterns: string[];
  /** The stream's mapping (cached per stream name), or undefined when none names it. */
  forStream(stream: string): StreamMapping | undefined;
}

export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (const ch of glob) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[\\^$.+()[\]{}|/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

export function mappingSet(files: string[], mappings: StreamMapping[]): MappingSet {
  const exact = new Map<string, StreamMapping>();
  const globs: { regex: RegExp; mapping: StreamMapping }[] = [];
  for (const m of mappings) {
    if (isGlob(m.pattern)) globs.push({ regex: globToRegExp(m.pattern), mapping: m });
    else exact.set(m.pattern, m);
  }
  const cache = new Map<string, StreamMapping | null>();
  return {
    files,
    patterns: mappings.map((m) => m.pattern),
    forStream(stream) {
      let found = cache.get(stream);
      if (found === undefined) {
        found = exact.get(stream) ?? globs.find((g) => g.regex.test(stream))?.mapping ?? null;
        cache.set(stream, found);
      }
      return found ?? undefined;
    },
  };
}
