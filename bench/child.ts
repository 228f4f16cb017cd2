import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChildUsage } from './usage-probe.js';

/**
 * Runs the built programs (the target's CLI, the raw-parse and naive scripts) as child processes, the way
 * users run them, and measures them from outside: wall time, CPU time and peak RSS.
 */

/** dist/bench → the package root. */
export const packageRoot = resolve(import.meta.dirname, '..', '..');
export const distDir = join(packageRoot, 'dist');
export const targetCli = join(distDir, 'connector', 'cli.js');
export const benchScript = (name: string): string => join(distDir, 'bench', name);
const usageProbe = pathToFileURL(benchScript('usage-probe.js')).href;

export interface ChildOptions {
  script: string;
  args: string[];
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Lines written to the child's stdin (with backpressure); without it stdin is closed at once. */
  stdinLines?: Iterable<string>;
  /** Called for each stdout line as it arrives (state lines of the target). */
  onStdoutLine?: (line: string) => void;
  /** Preload the usage probe: CPU time and peak RSS of the child, read at its exit. */
  measureUsage?: boolean;
  /** Also sample /proc/<pid>/status (VmHWM) while it runs: a second opinion on peak RSS. */
  pollRss?: boolean;
  timeoutMs?: number;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  wallMs: number;
  usage?: ChildUsage;
  /** Largest VmHWM seen by polling, bytes (undefined when not polled or the process was too short). */
  polledPeakRssBytes?: number;
  stdout: string;
  /** The last 4 kB of stderr, for error messages. */
  stderrTail: string;
}

export interface RunningChild {
  child: ChildProcess;
  done: Promise<ChildResult>;
}

/** Env for children: no TARGET_SIRO_* from the caller's shell changes what is measured. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TARGET_SIRO_')) env[k] = v;
  return { ...env, ...extra };
}

let usageFiles = 0;

export function startChild(opts: ChildOptions): RunningChild {
  const usageFile = opts.measureUsage ? join(tmpdir(), `bench-usage-${process.pid}-${++usageFiles}.json`) : undefined;
  const nodeArgs = [...(usageFile ? ['--import', usageProbe] : []), ...(opts.nodeArgs ?? [])];
  const env = cleanEnv({ ...(opts.env ?? {}), ...(usageFile ? { BENCH_USAGE_FILE: usageFile } : {}) });
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, opts.script, ...opts.args], {
    cwd: opts.cwd ?? packageRoot,
    env,
    stdio: [opts.stdinLines ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });

  let stdout = '';
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    if (!opts.onStdoutLine) {
      stdout += chunk;
      return;
    }
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (line.trim() !== '') opts.onStdoutLine(line);
    }
  });
  let stderrTail = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-4096);
  });
  if (opts.stdinLines) void pumpLines(child, opts.stdinLines);

  let polledPeak: number | undefined;
  const poller = opts.pollRss
    ? setInterval(() => {
        const hwm = readVmHwm(child.pid);
        if (hwm !== undefined) polledPeak = Math.max(polledPeak ?? 0, hwm);
      }, 100)
    : undefined;
  const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;

  const done = new Promise<ChildResult>((resolveDone, rejectDone) => {
    child.on('error', rejectDone);
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - started;
      if (poller) clearInterval(poller);
      if (timer) clearTimeout(timer);
      if (partial.trim() !== '' && opts.onStdoutLine) opts.onStdoutLine(partial);
      let usage: ChildUsage | undefined;
      if (usageFile && existsSync(usageFile)) {
        usage = JSON.parse(readFileSync(usageFile, 'utf8')) as ChildUsage;
        rmSync(usageFile, { force: true });
      }
      resolveDone({ code, signal, wallMs, usage, polledPeakRssBytes: polledPeak, stdout, stderrTail });
    });
  });
  return { child, done };
}

export function runChild(opts: ChildOptions): Promise<ChildResult> {
  return startChild(opts).done;
}

/** Writes lines to the child's stdin as fast as it reads them; stops quietly when the child goes away. */
async function pumpLines(child: ChildProcess, lines: Iterable<string>): Promise<void> {
  const stdin = child.stdin!;
  let gone = false;
  stdin.on('error', () => (gone = true)); // EPIPE after a kill: the child simply stopped reading
  child.on('exit', () => (gone = true));
  let buffer = '';
  for (const line of lines) {
    if (gone) return;
    buffer += line + '\n';
    if (buffer.length < 64 * 1024) continue;
    const ok = stdin.write(buffer);
    buffer = '';
    if (!ok) await new Promise<void>((r) => {
      const resume = () => {
        stdin.off('drain', resume);
        child.off('exit', resume);
        r();
      };
      stdin.on('drain', resume);
      child.on('exit', resume);
    });
  }
  if (!gone) stdin.end(buffer);
}

function readVmHwm(pid: number | undefined): number | undefined {
  return readProcStatus(pid, 'VmHWM');
}

/** A memory line of /proc/<pid>/status in bytes (VmRSS, VmHWM), or undefined (exited, or no /proc). */
export function readProcStatus(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** A child that failed, as an error with the end of its stderr. */
export function childFailure(what: string, r: ChildResult): Error {
  return new Error(`${what} failed (exit ${r.code ?? r.signal}):\n${r.stderrTail}`);
}
