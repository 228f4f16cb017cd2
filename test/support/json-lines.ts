import { existsSync, readFileSync } from 'node:fs';

/** The values of JSON-lines text (stdout, a file's content), one per non-blank line. */
export function parseJsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/** Reads a JSON-lines file (rejects, dry-run output, printed states); missing file → []. */
export function jsonLines<T = Record<string, unknown>>(path: string): T[] {
  return existsSync(path) ? parseJsonLines<T>(readFileSync(path, 'utf8')) : [];
}
