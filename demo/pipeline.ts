import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { packageRoot } from '../connector/core/paths.js';

/**
 * `tap-warehouse ... | target-siro ...` as two child processes of the built CLIs, piped together the way
 * a shell (or cron) runs them. The parent sits in the pipe so it can look at the tap's lines (tests use
 * that to interrupt the tap at a chosen record) and so a target that dies early also stops the tap.
 */

export const tapBin = join(packageRoot, 'dist', 'connector', 'warehouse', 'cli.js');
export const targetBin = join(packageRoot, 'dist', 'connector', 'cli.js');

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface PipelineResult {
  tap: ProcessResult;
  /** The target's stdout is its state lines. */
  target: ProcessResult & { stdout: string };
}

export interface PipelineOptions {
  tapArgs: string[];
  targetArgs: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Aborting stops both programs (SIGTERM, then SIGKILL after `killGraceMs`). */
  signal?: AbortSignal;
  /** Called with each line the tap writes, before the target reads it. */
  onTapLine?: (line: string, tap: ChildProcess) => void;
  timeoutMs?: number;
  killGraceMs?: number;
}

/** Env for the children without TAP_WAREHOUSE_* / TARGET_SIRO_* from the caller's shell (they would override the configs). */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TARGET_SIRO_') && !k.startsWith('TAP_WAREHOUSE_')) env[k] = v;
  return { ...env, ...extra };
}

/** Splits the tap's output into lines for `onTapLine` while passing the bytes through unchanged. */
class LineWatcher extends Transform {
  private rest = '';
  constructor(private readonly onLine: (line: string) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const text = this.rest + chunk.toString('utf8');
    const lines = text.split('\n');
    this.rest = lines.pop()!;
    for (const line of lines) this.onLine(line);
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    if (this.rest !== '') this.onLine(this.rest);
    done();
  }
}

function finished(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

function collect(stream: NodeJS.ReadableStream | null): () => string {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (d: string) => (text += d));
  return () => text;
}

export async function runPipeline(opts: PipelineOptions): Promise<PipelineResult> {
  const spawnOpts = { cwd: opts.cwd, env: opts.env };
  const tap = spawn(process.execPath, [tapBin, ...opts.tapArgs], { ...spawnOpts, stdio: ['ignore', 'pipe', 'pipe'] });
  const target = spawn(process.execPath, [targetBin, ...opts.targetArgs], { ...spawnOpts, stdio: ['pipe', 'pipe', 'pipe'] });
  const children = [tap, target];
  const tapStderr = collect(tap.stderr);
  const targetStderr = collect(target.stderr);
  const targetStdout = collect(target.stdout);

  // A target that stops reading (it failed) must not leave the tap blocked on a full pipe.
  target.stdin!.on('error', () => undefined);
  const onTapLine = opts.onTapLine;
  const source = onTapLine ? tap.stdout!.pipe(new LineWatcher((line) => onTapLine(line, tap))) : tap.stdout!;
  source.pipe(target.stdin!);

  const grace = opts.killGraceMs ?? 5000;
  const timers: NodeJS.Timeout[] = [];
  const stopAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    const hard = setTimeout(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, grace);
    hard.unref();
    timers.push(hard);
  };
  if (opts.signal?.aborted) stopAll();
  opts.signal?.addEventListener('abort', stopAll, { once: true });
  if (opts.timeoutMs) {
    const t = setTimeout(stopAll, opts.timeoutMs);
    t.unref();
    timers.push(t);
  }
  const targetDone = finished(target).then((r) => {
    if (tap.exitCode === null && tap.signalCode === null) tap.kill('SIGTERM');
    return r;
  });

  try {
    const [tapEnd, targetEnd] = await Promise.all([finished(tap), targetDone]);
    return {
      tap: { ...tapEnd, stderr: tapStderr() },
      target: { ...targetEnd, stderr: targetStderr(), stdout: targetStdout() },
    };
  } finally {
    opts.signal?.removeEventListener('abort', stopAll);
    for (const t of timers) clearTimeout(t);
  }
}
