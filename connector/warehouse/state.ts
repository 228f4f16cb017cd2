import { existsSync } from 'node:fs';
import { isLosslessNumber, isSafeNumber, LosslessNumber, parse as losslessParse } from 'lossless-json';
import { ConfigError } from '../core/errors.js';
import { readJsonObject } from './config.js';

/**
 * Singer state of the tap: `{"bookmarks": {<stream>: {...}}, "currently_syncing": <stream> | null}`.
 * Numbers in a state file are kept as LosslessNumber unless a double holds them exactly, so a bookmark
 * like 12345678901234567.123456789 is compared, and copied into later STATE messages, with all its digits.
 */
export interface TapState {
  bookmarks: Record<string, Record<string, unknown>>;
  currently_syncing: string | null;
  [other: string]: unknown;
}

export function emptyState(): TapState {
  return { bookmarks: {}, currently_syncing: null };
}

function exactNumber(text: string): number | LosslessNumber {
  return isSafeNumber(text) ? Number(text) : new LosslessNumber(text);
}

function parseStateText(text: string): unknown {
  try {
    return losslessParse(text, null, exactNumber);
  } catch (e) {
    // A file of several state lines (a target's stdout saved as is): the last line is the newest state.
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    if (lines.length <= 1) throw e;
    const last = lines[lines.length - 1]!;
    try {
      return losslessParse(last, null, exactNumber);
    } catch (inLast) {
      // The position in the last line, as a position in the whole text (errors give line and column).
      const m = /^(.*) at position (\d+)$/s.exec((inLast as Error).message);
      throw m ? new Error(`${m[1]} at position ${text.lastIndexOf(last) + Number(m[2])}`) : inLast;
    }
  }
}

/**
 * Reads `--state`: the state value a target prints (`{"bookmarks": ...}`), Meltano's wrapped form
 * (`{"singer_state": {...}}`) or a whole STATE message (`{"type": "STATE", "value": {...}}`).
 */
export function readStateFile(file: string): TapState {
  // The first scheduled run has no state yet: a missing file is an empty state, as for an empty file.
  if (!existsSync(file)) return emptyState();
  return unwrapState(readJsonObject(file, 'state file', parseStateText), file);
}

/** The same from text (numbers kept exact). */
export function parseState(text: string, source = 'state'): TapState {
  if (text.trim() === '') return emptyState();
  return unwrapState(parseStateText(text), source);
}

function unwrapState(value: unknown, source: string): TapState {
  const obj = (value ?? {}) as Record<string, unknown>;
  if (obj.singer_state !== undefined) return normaliseState(obj.singer_state, source);
  if (obj.type === 'STATE' && obj.value !== undefined) return normaliseState(obj.value, source);
  return normaliseState(value, source);
}

export function normaliseState(value: unknown, source = 'state'): TapState {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${source}: the state must be a JSON object like {"bookmarks": {...}}`);
  }
  const state = { ...(value as Record<string, unknown>) };
  const bookmarks = state.bookmarks ?? {};
  if (bookmarks === null || typeof bookmarks !== 'object' || Array.isArray(bookmarks)) {
    throw new ConfigError(`${source}: "bookmarks" must be an object`);
  }
  return { ...state, bookmarks: { ...(bookmarks as TapState['bookmarks']) }, currently_syncing: (state.currently_syncing as string | null) ?? null };
}

/** The text a bookmark value is compared as (a query parameter), or undefined when it cannot be one. */
export function bookmarkParameter(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isLosslessNumber(value)) return value.toString();
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return undefined;
}
