import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseJsonLines } from './json-lines.js';

/** Runs the built CLIs as child processes, the way users and Meltano run them. */

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const targetBin = join(repoRoot, 'dist', 'connector', 'cli.js');
export const tapBin = join(repoRoot, 'dist', 'connector', 'warehouse', 'cli.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  input?: string | Buffer;
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}

/** Env for child processes: no TARGET_SIRO_* leaking in from the developer's shell. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TARGET_SIRO_') && !k.startsWith('TAP_WAREHOUSE_')) env[k] = v;
  return { ...env, ...extra };
}

export function startCli(bin: string, args: string[], opts: CliOptions = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [bin, ...args], { cwd: opts.cwd ?? repoRoot, env: cleanEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.on('error', () => undefined); // the child may exit before reading all input
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const done = new Promise<CliResult>((resolveDone) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveDone({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}

export function runTargetCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return startCli(targetBin, args, opts).done;
}

/** A fresh temp folder for one test's config, mappings, state and rejects. */
export function tempDir(prefix = 'target-siro-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeJson(path: string, value: unknown): string {
  writeFileSync(path, JSON.stringify(value, null, 2));
  return path;
}

/** Stdout lines parsed as JSON (state values). */
export function stateLines(stdout: string): unknown[] {
  return parseJsonLines<unknown>(stdout);
}
