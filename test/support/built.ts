import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './cli.js';

/**
 * Runs an ES module script against the build (dist/, made by the tests' global set-up) in a node child
 * process: what the build generated next to the compiled modules is there, not next to the sources vitest
 * runs. The script reads `input` (JSON) from stdin and writes its answer as JSON to stdout.
 */
export function runBuilt<T>(script: string, input: unknown = null): T {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: repoRoot,
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(out) as T;
}

/** A built module's URL, to import in a runBuilt script: `builtModule('connector/siro/objects.js')`. */
export function builtModule(path: string): string {
  return JSON.stringify(pathToFileURL(join(repoRoot, 'dist', path)).href);
}

/** The script lines that read runBuilt's input: `const input = …`. */
export const READ_INPUT = "import { readFileSync as readInput } from 'node:fs'; const input = JSON.parse(readInput(0, 'utf8'));";
