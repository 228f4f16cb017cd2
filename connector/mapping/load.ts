import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { MappingError, MappingErrors } from '../core/errors.js';
import { DocumentChecker, type StreamEntry } from './build-plans.js';
import { compileStream } from './compile.js';
import { mappingSet, type MappingSet } from './mapping-set.js';
import type { StreamPlan } from './plan.js';

/**
 * Loads mapping files: one YAML file, or every *.yml / *.yaml directly inside a folder (sorted by name;
 * subfolders such as `examples/` are not read). All files are checked before anything is compiled, and
 * every problem of every file is thrown together as one MappingErrors.
 */

const YAML_FILE = /\.ya?ml$/i;

function at(file: string, detail: string): MappingError {
  return new MappingError({ file, line: 1, column: 1 }, detail);
}

/** The mapping files a path names, in load order. */
export function mappingFiles(path: string, errors: MappingError[]): string[] {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (e) {
    errors.push(at(path, `cannot read the mappings: ${(e as Error).message}`));
    return [];
  }
  if (!isDirectory) return [path];
  const files = readdirSync(path)
    .filter((name) => YAML_FILE.test(name))
    .sort()
    .map((name) => join(path, name))
    .filter((file) => {
      try {
        return statSync(file).isFile();
      } catch {
        return false; // a dangling symlink: not a mapping file
      }
    });
  if (files.length === 0) errors.push(at(path, 'no *.yml or *.yaml mapping files in this folder (subfolders are not read)'));
  return files;
}

interface CheckedFile {
  plans: StreamPlan[];
  streams: StreamEntry[];
}

function checkFile(file: string, errors: MappingError[]): CheckedFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    errors.push(at(file, `cannot read: ${(e as Error).message}`));
    return { plans: [], streams: [] };
  }
  return checkText(file, text, errors);
}

function checkText(file: string, text: string, errors: MappingError[]): CheckedFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
      const message = e.message.split(' at line ')[0]!;
      errors.push(new MappingError({ file, line: pos.line, column: pos.col }, `YAML syntax error: ${message}`));
    }
    return { plans: [], streams: [] };
  }
  // A tag the YAML core schema does not know (`!!js/function`, `!ENV`) would be read as plain text without
  // a word; a mapping never runs code or reads the environment, so it is an error at the tag.
  const unresolved = doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED');
  for (const w of unresolved) {
    const pos = w.linePos?.[0] ?? { line: 1, col: 1 };
    const tag = /Unresolved tag: (\S+)/.exec(w.message)?.[1] ?? 'this tag';
    errors.push(new MappingError({ file, line: pos.line, column: pos.col }, `unsupported YAML tag ${tag}: mapping files hold plain YAML values (no code, no environment variables)`));
  }
  if (unresolved.length > 0) return { plans: [], streams: [] };
  const checker = new DocumentChecker(doc, file, lines, errors);
  const plans = checker.checkDocument();
  return { plans, streams: checker.streams };
}

export function loadMappings(path: string): MappingSet {
  const errors: MappingError[] = [];
  const files = mappingFiles(path, errors);
  const plans: StreamPlan[] = [];
  const seen = new Map<string, StreamEntry>();
  for (const file of files) {
    const checked = checkFile(file, errors);
    plans.push(...checked.plans);
    for (const stream of checked.streams) {
      const first = seen.get(stream.name);
      if (first) {
        errors.push(
          new MappingError(
            { file: stream.file, line: stream.line, column: stream.column },
            `stream \`${stream.name}\` is already mapped at ${first.file}:${first.line}`,
          ),
        );
      } else seen.set(stream.name, stream);
    }
  }
  // A node shared through a YAML alias is checked once per use: report each problem once.
  const unique = [...new Map(errors.map((e) => [e.message, e])).values()];
  if (unique.length > 0) throw new MappingErrors(unique);
  return mappingSet(files, plans.map(compileStream));
}

/** One mapping file's text, checked and compiled as if read from `file` (for mappings not yet written, such as `init`'s). */
export function loadMappingText(file: string, text: string): MappingSet {
  const errors: MappingError[] = [];
  const checked = checkText(file, text, errors);
  const unique = [...new Map(errors.map((e) => [e.message, e])).values()];
  if (unique.length > 0) throw new MappingErrors(unique);
  return mappingSet([file], checked.plans.map(compileStream));
}
