import { stringify } from 'yaml';
import type { FieldSource, Group, Leaf, StreamSuggestion, SuggestedField } from './suggestion.js';

/**
 * Writes suggestions as a commented mapping file: one line per field where it fits, each with a comment
 * saying why, in the layout the shipped mappings use. Scalars and flow maps are written by the yaml
 * library, so quoting is always right (templates, globs, `yes`, `00012`, text with `#` or `:`).
 */

/** Where comments start, so they line up. */
const COMMENT_COLUMN = 56;

/** One YAML value on one line (flow style). */
function flow(value: unknown): string {
  // Text with line breaks or control characters as JSON (a YAML double-quoted scalar): never a block scalar.
  if (typeof value === 'string' && /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(value)) return JSON.stringify(value);
  const text = stringify(value, { collectionStyle: 'flow', lineWidth: 0 }).trimEnd();
  return text.includes('\n') ? JSON.stringify(value) : text;
}

/** A word for a shell command line: as is when it is plain, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A comment safe to write: one line, no control characters. */
function comment(text: string | undefined): string {
  if (!text) return '';
  // eslint-disable-next-line no-control-regex
  return ` # ${text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')}`;
}

function line(indent: number, text: string, why?: string): string {
  const body = `${' '.repeat(indent)}${text}`;
  if (!why) return body;
  return `${body.padEnd(Math.max(COMMENT_COLUMN, body.length + 1))}${comment(why).slice(1)}`;
}

function leafValue(l: Leaf): unknown {
  return typeof l.source === 'string' ? l.source : new Map(l.source);
}

function writeLeaf(name: string, l: Leaf, indent: number, out: string[]): void {
  if (!l.map) {
    out.push(line(indent, `${name}: ${flow(leafValue(l))}`, l.why));
    return;
  }
  out.push(line(indent, `${name}:`, l.why));
  for (const [key, value] of typeof l.source === 'string' ? [['column', l.source] as const] : l.source) {
    out.push(line(indent + 2, `${key}: ${flow(value)}`));
  }
  out.push(line(indent + 2, 'map:'));
  for (const e of l.map) out.push(line(indent + 4, `${flow(e.from)}: ${flow(e.to)}`, e.note));
  for (const [key, value] of l.after ?? []) out.push(line(indent + 2, `${key}: ${flow(value)}`));
}

function writeFields(fields: readonly SuggestedField[], indent: number, out: string[]): void {
  for (const f of fields) writeField(f.name, f.source, indent, out);
}

/** A list item that is a nested mapping: its first field on the `- ` line. */
function writeItem(g: Group, indent: number, out: string[]): void {
  const start = out.length;
  writeFields(g.fields, indent + 2, out);
  if (out.length > start) out[start] = `${' '.repeat(indent)}- ${out[start]!.slice(indent + 2)}`;
}

function writeField(name: string, s: FieldSource, indent: number, out: string[]): void {
  switch (s.kind) {
    case 'leaf':
      return writeLeaf(name, s, indent, out);
    case 'group':
      out.push(line(indent, `${name}:`, s.why));
      return writeFields(s.fields, indent + 2, out);
    case 'each':
      out.push(line(indent, `${name}:`, s.why));
      out.push(line(indent + 2, `each: ${flow(s.column)}`));
      out.push(line(indent + 2, 'fields:'));
      return writeFields(s.fields, indent + 4, out);
    case 'list': {
      if (s.items.every((i) => i.kind === 'leaf')) {
        const items = s.items as Leaf[];
        out.push(line(indent, `${name}: ${flow(items.map(leafValue))}`, s.why));
        return;
      }
      out.push(line(indent, `${name}:`, s.why));
      for (const item of s.items as Group[]) writeItem(item, indent + 2, out);
    }
  }
}

export interface FileHeader {
  /** Where the suggestion came from: `--input calls.singer`, `stdin`, `--catalog catalog.json`. */
  source: string;
  /** The file being written (for the next commands). */
  file: string;
  /** The input to preview with, when it is a file. */
  input?: string;
}

/** `TARGET_SIRO_MAPPINGS=F npx target-siro preview --input I`, or with the tap piped in when the input was stdin. */
export function nextCommand(file: string, input: string | undefined, command: 'preview' | '--dry-run'): string {
  const target = `TARGET_SIRO_MAPPINGS=${shellWord(file)} npx target-siro ${command}`;
  return input ? `${target} --input ${shellWord(input)}` : `<your tap> | ${target}`;
}

export function mappingText(suggestions: readonly StreamSuggestion[], header: FileHeader): string {
  const out: string[] = [];
  const streams = suggestions.map((s) => s.stream).join(', ');
  out.push(`#${comment(`Starter mapping for ${streams}, written by \`target-siro init\` from ${header.source}.`).slice(2)}`);
  out.push('# Every line says why it was suggested; check each one, then try it on real rows (both send nothing):');
  out.push(`#   ${comment(nextCommand(header.file, header.input, 'preview')).slice(3)}`);
  out.push(`#   ${comment(nextCommand(header.file, header.input, '--dry-run')).slice(3)}`);
  out.push('# The language: docs/mapping-language.md. Columns no field reads are listed under each stream.');
  out.push('');
  out.push('version: 1');
  out.push('streams:');
  for (const s of suggestions) {
    out.push(line(2, `${flow(s.stream)}:`, s.sampled > 0 ? `${s.sampled} records sampled` : 'from the schema alone (no records sampled)'));
    for (const note of s.notes) out.push(`    #${comment(note).slice(2)}`);
    out.push(line(4, `object: ${s.object}`));
    out.push(line(4, 'fields:'));
    writeFields(s.fields, 6, out);
    if (s.dropped.length > 0) {
      out.push('      # Left out: the sample showed these would reject rows');
      for (const d of s.dropped) out.push(`      #${comment(d).slice(2)}`);
    }
    if (s.unused.length > 0) {
      out.push('      # Columns not used:');
      for (const u of s.unused) out.push(`      #${comment(u).slice(2)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
