import type { SiroObject } from '../siro/objects.js';

/**
 * A suggested mapping before it is written as YAML: the tree of Siro fields, each with its source and why it
 * was chosen. rules.ts builds it, yaml-text.ts writes it.
 */

/** One `map:` entry; `to: null` means "no value" (the mapping language's null map value). */
export interface MapEntry {
  from: string;
  to: string | null;
  note?: string;
}

/**
 * A leaf: a bare column path, or the keys of a leaf form in order (`column`, `type`, `timezone`, ...).
 * A `map` is written in block form, one entry per line, so each can carry its note.
 */
export interface Leaf {
  kind: 'leaf';
  source: string | [string, unknown][];
  map?: MapEntry[];
  /** Keys written after the map (`default`). */
  after?: [string, unknown][];
  why: string;
}

export interface Group {
  kind: 'group';
  fields: SuggestedField[];
  why?: string;
}

/** A list: of leaves (`phoneNumbers: [phone, mobile]`) or of nested mappings (`addresses`, `engagementUsers`). */
export interface List {
  kind: 'list';
  items: Leaf[] | Group[];
  why?: string;
}

export interface Each {
  kind: 'each';
  column: string;
  fields: SuggestedField[];
  why: string;
}

export type FieldSource = Leaf | Group | List | Each;

export interface SuggestedField {
  name: string;
  source: FieldSource;
}

export interface StreamSuggestion {
  stream: string;
  object: SiroObject;
  fields: SuggestedField[];
  /** Columns no field reads, with a short description each. */
  unused: string[];
  /** Fields left out after the sample showed they would reject rows, with the reason. */
  dropped: string[];
  /** Lines for the stream's header comment. */
  notes: string[];
  sampled: number;
}

export function leaf(source: Leaf['source'], why: string, extra: Partial<Pick<Leaf, 'map' | 'after'>> = {}): Leaf {
  return { kind: 'leaf', source, why, ...extra };
}

/** Every column path a suggested field reads (for the unused list). */
export function columnsRead(fields: readonly SuggestedField[], into = new Set<string>()): Set<string> {
  const fromLeaf = (l: Leaf): void => {
    // `associations.dealIds[0]` reads the column `associations.dealIds`.
    if (typeof l.source === 'string') into.add(l.source).add(l.source.replace(/\[\d+\]$/, ''));
    else {
      for (const [key, value] of l.source) {
        if (key === 'column') into.add(String(value));
        // The variables a suggested template reads: after `{{` and as a filter's argument (`default: other`).
        if (key === 'template') for (const m of String(value).matchAll(/(?:\{\{-?|default:)\s*([A-Za-z_][\w.]*)/g)) into.add(m[1]!);
        if ((key === 'timezone' || key === 'plus') && value !== null && typeof value === 'object' && 'column' in value) into.add(String((value as { column: unknown }).column));
      }
    }
  };
  const fromSource = (s: FieldSource): void => {
    if (s.kind === 'leaf') fromLeaf(s);
    else if (s.kind === 'group') columnsRead(s.fields, into);
    else if (s.kind === 'each') into.add(s.column);
    else for (const item of s.items) fromSource(item);
  };
  for (const f of fields) fromSource(f.source);
  return into;
}
