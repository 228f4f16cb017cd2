import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { MappingErrors } from '../../connector/core/errors.js';
import { loadMappings, type MapResult, type StreamMapping } from '../../connector/mapping/index.js';
import { parseExact } from '../../connector/singer/exact-json.js';

const created: string[] = [];
afterAll(() => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp folder holding the given files (relative names → YAML text); removed after the test file. */
export function tempFolder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'target-siro-mapping-'));
  created.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** Writes one mapping file into a fresh temp folder and returns its path. */
export function tempFile(text: string, name = 'mapping.yml'): string {
  return join(tempFolder({ [name]: text }), name);
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .replace(/^\n+|\s+$/g, '')
    .split('\n')
    .map((l) => (l.trim() === '' ? '' : pad + l))
    .join('\n');
}

/** A one-stream mapping file (stream `s`) around a `fields:` body written at column 0. */
export function mappingText(fields: string, object = 'engagement'): string {
  // Strip the common indentation of the body (tests write it indented inside template literals).
  const lines = fields.replace(/^\n+|\s+$/g, '').split('\n');
  const common = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.match(/^ */)![0].length));
  const body = lines.map((l) => l.slice(common)).join('\n');
  return `version: 1\nstreams:\n  s:\n    object: ${object}\n    fields:\n${indent(body, 6)}\n`;
}

/** The compiled mapping of a `fields:` body. */
export function streamOf(fields: string, object = 'engagement'): StreamMapping {
  const mapping = loadMappings(tempFile(mappingText(fields, object))).forStream('s');
  if (!mapping) throw new Error('stream s not found');
  return mapping;
}

/** Records are parsed the way the target parses them (big integers become bigint). */
export function record(json: string): Record<string, unknown> {
  return parseExact(json) as Record<string, unknown>;
}

export function payloadOf(result: MapResult): Record<string, unknown> {
  if (!result.ok) throw new Error('mapping failed: ' + result.reasons.join('; '));
  return result.payload;
}

export function reasonsOf(result: MapResult): string[] {
  if (result.ok) throw new Error('mapping succeeded: ' + JSON.stringify(result.payload));
  return result.reasons;
}

/** The MappingErrors thrown by loading `path`, as "file:line:column: detail" lines. */
export function loadErrors(path: string): string[] {
  try {
    loadMappings(path);
  } catch (e) {
    expect(e).toBeInstanceOf(MappingErrors);
    return (e as MappingErrors).errors.map((x) => x.message);
  }
  throw new Error('loading succeeded');
}
