import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/**
 * The demo's side-by-side of two mappings of one stream (the shipped one and the one `target-siro init`
 * wrote): for each Siro field either fills, which source each reads. Sources are compared by what they
 * read (`notes` and `{ column: notes }` are the same), so the comparison shows choices, not formatting.
 */

export interface FieldComparison {
  field: string;
  shipped?: string;
  suggested?: string;
}

/** field path → a short description of its source (`column notes`, `template "call-{{ id }}"`, `value CALL`). */
export function fieldSources(fields: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (fields === null || typeof fields !== 'object') return out;
  for (const [name, source] of Object.entries(fields as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (typeof source === 'string') out.set(path, `column ${source}`);
    else if (Array.isArray(source)) {
      const first = source[0] as unknown;
      if (typeof first === 'string' || (first !== null && typeof first === 'object' && ('column' in first || 'template' in first || 'value' in first))) {
        out.set(path, source.map((s) => describeLeaf(s)).join(', '));
      } else fieldSources(first, path, out);
    } else if (source !== null && typeof source === 'object') {
      const s = source as Record<string, unknown>;
      if ('each' in s) fieldSources(s.fields, `${path}[each ${String(s.each)}]`, out);
      else if ('column' in s || 'template' in s || 'value' in s) out.set(path, describeLeaf(s));
      else fieldSources(s, path, out);
    }
  }
  return out;
}

function describeLeaf(s: unknown): string {
  if (typeof s === 'string') return `column ${s}`;
  const leaf = s as Record<string, unknown>;
  if ('column' in leaf) return `column ${String(leaf.column)}${leaf.plus ? ` + ${String((leaf.plus as { column: unknown }).column)}` : ''}`;
  if ('template' in leaf) return `template ${JSON.stringify(leaf.template)}`;
  return `value ${JSON.stringify(leaf.value)}`;
}

/** The fields of one stream's mapping in a mapping file. */
export function streamFields(file: string, stream: string): Map<string, string> {
  const doc = parse(readFileSync(file, 'utf8'), { merge: true }) as { streams?: Record<string, { fields?: unknown }> };
  return fieldSources(doc.streams?.[stream]?.fields);
}

export function compareStream(shippedFile: string, suggestedFile: string, stream: string): FieldComparison[] {
  const shipped = streamFields(shippedFile, stream);
  const suggested = streamFields(suggestedFile, stream);
  const fields = [...new Set([...shipped.keys(), ...suggested.keys()])];
  return fields.map((field) => ({ field, shipped: shipped.get(field), suggested: suggested.get(field) }));
}

/** `{ same, differ, onlyShipped, onlySuggested }` of a comparison. */
export function summarize(rows: FieldComparison[]) {
  return {
    same: rows.filter((r) => r.shipped !== undefined && r.shipped === r.suggested),
    differ: rows.filter((r) => r.shipped !== undefined && r.suggested !== undefined && r.shipped !== r.suggested),
    onlyShipped: rows.filter((r) => r.suggested === undefined),
    onlySuggested: rows.filter((r) => r.shipped === undefined),
  };
}
