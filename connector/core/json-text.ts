import { createRequire } from 'node:module';

/**
 * Where a JSON text is broken, as a person finds it in an editor: line and column (both from 1), and what
 * is wrong there. Never quotes the text itself (a config file holds secrets): V8's "Unexpected token"
 * messages do, so for those the position and wording come from lossless-json's parser, which gives both.
 */

const require = createRequire(import.meta.url);

export interface JsonSyntaxProblem {
  line: number;
  column: number;
  /** What is wrong, without the position and without any of the text. */
  detail: string;
}

/** The line and column (from 1) of a character offset into `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const at = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: at - lineStart + 1 };
}

/** The problem JSON.parse (or another parser) found in `text`, given the error it threw. */
export function jsonSyntaxProblem(text: string, error: unknown): JsonSyntaxProblem {
  const message = error instanceof Error ? error.message : String(error);
  const at = /^(.*?)(?: in JSON)? at position (\d+)(?: \(line \d+ column \d+\))?$/s.exec(message);
  if (at) return { ...lineAndColumn(text, Number(at[2])), detail: at[1]! };
  if (/^Unexpected end of JSON input/.test(message)) {
    return { ...lineAndColumn(text, text.length), detail: text.trim() === '' ? 'the file is empty' : 'the text ends before the JSON does' };
  }
  // "Unexpected token 'x', "…the text…" is not valid JSON": no position, and a quote of the text.
  try {
    (require('lossless-json') as typeof import('lossless-json')).parse(text);
  } catch (e) {
    const m = /^(.*) at position (\d+)$/s.exec((e as Error).message);
    if (m) return { ...lineAndColumn(text, Number(m[2])), detail: m[1]! };
  }
  const token = /^Unexpected token '(.)'/.exec(message);
  return { line: 1, column: 1, detail: token ? `unexpected '${token[1]}'` : 'not valid JSON' };
}

/** `JSON.parse`, or an error worded "<what> <file>:<line>:<column>: not valid JSON: <detail>". */
export function parseJsonFile(text: string, what: string, file: string, makeError: (message: string) => Error, parse: (text: string) => unknown = JSON.parse): unknown {
  try {
    return parse(text);
  } catch (e) {
    const p = jsonSyntaxProblem(text, e);
    throw makeError(`${what} ${file}:${p.line}:${p.column}: not valid JSON: ${p.detail}`);
  }
}
