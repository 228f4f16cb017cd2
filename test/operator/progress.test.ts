import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RunCounters } from '../../connector/run/counters.js';
import { RunProgress, duration } from '../../connector/run/progress.js';
import { metricLevel } from '../../connector/run/metrics.js';
import { TerminalLine } from '../../connector/core/terminal-line.js';
import type { Sandbox } from '../../connector/sandbox/index.js';
import { cleanEnv, runTargetCli, stateLines, targetBin } from '../support/cli.js';
import { exampleInput, operatorConfig } from './helpers.js';
import { sandboxPerFile, tempDirPerFile } from '../support/sandbox.js';

const TOKEN = 'op-progress-token-64d0';
const CLEAR = '\r\x1b[K';
const hasScript = spawnSync('script', ['--version']).status === 0;
const NO_SCRIPT = 'util-linux `script` (which gives the run a pseudo-terminal) is not installed';
if (!hasScript) console.warn(`progress.test.ts: terminal tests skipped: ${NO_SCRIPT}`);

let sandbox: Sandbox;
sandboxPerFile((s) => (sandbox = s), { tokens: [{ token: TOKEN, tokenName: 'progress', organizationId: 'org-progress' }] });

/** A Singer input of `n` calls for the postgres-calls example mapping (with a STATE every `stateEvery` records). */
function bigInput(dir: string, n: number, stateEvery = 0): string {
  const lines = readFileSync(exampleInput('postgres-calls'), 'utf8').split('\n');
  const schema = lines[0]!;
  const template = JSON.parse(lines[2]!) as { record: Record<string, unknown> };
  const out = [schema];
  for (let i = 0; i < n; i++) {
    out.push(JSON.stringify({ type: 'RECORD', stream: 'public-calls', record: { ...template.record, id: 100_000 + i } }));
    if (stateEvery > 0 && (i + 1) % stateEvery === 0 && i + 1 < n) out.push(JSON.stringify({ type: 'STATE', value: { done: i + 1 } }));
  }
  out.push(JSON.stringify({ type: 'STATE', value: { done: n } }));
  const path = join(dir, `big-${n}-${stateEvery}.singer`);
  writeFileSync(path, out.join('\n') + '\n');
  return path;
}

/** The progress texts drawn on a terminal (each draw starts with \r and erase-line). */
function progressDraws(terminal: string): string[] {
  return terminal.split(CLEAR).filter((part) => part.startsWith('target-siro ▸ '));
}

function deliveredIn(draw: string): number {
  return Number(/(?:delivered|written) ([\d,]+)/.exec(draw)![1]!.replace(/,/g, ''));
}

/** Runs a shell command in a pseudo-terminal (util-linux `script`); returns everything written to the terminal. */
function inTerminal(command: string, dir: string): Promise<{ code: number | null; terminal: string }> {
  const log = join(dir, 'terminal.log');
  return new Promise((resolve) => {
    const child = spawn('script', ['-q', '-e', '-c', command, log], { cwd: dir, env: cleanEnv({ COLUMNS: '160' }), stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('close', (code) => resolve({ code, terminal: readFileSync(log, 'utf8') }));
  });
}

describe('progress on a terminal', () => {
  it.skipIf(!hasScript)('redraws one progress line while the run goes, clears it before the summary, keeps stdout for states', async () => {
    sandbox.setFaults({ latencyMs: 60 });
    const { dir, path } = operatorConfig({ api_token: TOKEN, base_url: sandbox.url, batch_size: 25, max_concurrency: 1, ledger: false });
    const input = bigInput(dir, 500);
    const stdout = join(dir, 'stdout.txt');
    const { code, terminal } = await inTerminal(`${process.execPath} ${targetBin} --config ${path} --input ${input} > ${stdout}`, dir);
    sandbox.setFaults({});
    expect(code, terminal).toBe(0);

    // Progress lines: drawn in place (\r, erase line), with counts, rate and, for a file, share and time left.
    const draws = terminal.split(CLEAR).filter((part) => part.startsWith('target-siro ▸ '));
    expect(draws.length, terminal).toBeGreaterThanOrEqual(3);
    expect(draws[0]).toMatch(/^target-siro ▸ read [\d,]+ · delivered [\d,]+ · rejected 0 · [\d,]+ rec\/s/);
    expect(draws.some((d) => / · \d+% · ~\d+:\d\d left · \d+:\d\d$/.test(d)), draws.join('\n')).toBe(true);
    const counts = draws.map((d) => Number(/delivered ([\d,]+)/.exec(d)![1]!.replace(/,/g, '')));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(Math.max(...counts)).toBeGreaterThan(0);
    // Never a line of its own: each draw is followed by a clear, not a newline.
    for (const d of draws) expect(d).not.toContain('\n');

    // The line is gone before the summary table, and logs are human-readable lines (not JSON) on a terminal.
    const summary = terminal.indexOf('target-siro: stream');
    expect(summary).toBeGreaterThan(0);
    const lastDraw = terminal.lastIndexOf('target-siro ▸');
    expect(terminal.slice(lastDraw, summary)).toContain(CLEAR);
    expect(terminal).toMatch(/INFO.*target-siro starting/);
    expect(terminal).toMatch(/target-siro: total\s+500\s+500\s+500\s+0\s+0/);

    // Stdout (redirected) still carries state lines only.
    expect(stateLines(readFileSync(stdout, 'utf8'))).toEqual([{ done: 500 }]);
  });

  it('prints no progress at all when stderr is not a terminal, and logs JSON lines', async () => {
    const { dir, path } = operatorConfig({ api_token: TOKEN, base_url: sandbox.url, ledger: false });
    const r = await runTargetCli(['--config', path, '--input', bigInput(dir, 50)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('▸');
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr).not.toContain('\x1b[');
    const logLines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('target-siro: '));
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) expect(JSON.parse(line)).toHaveProperty('level');
  });
});

describe('a quiet, honest terminal (30,000 records)', () => {
  const N = 30_000;
  const dir = tempDirPerFile('target-siro-quiet-');
  let input: string;
  beforeAll(() => {
    input = bigInput(dir, N, 1_000);
  });
  /** A fast delivery: no rate limit on either side, so the run takes seconds. */
  const fastConfig = () => operatorConfig({ api_token: TOKEN, base_url: sandbox.url, ledger: false, rate_limit_per_minute: 1_000_000, max_concurrency: 8 });

  it.skipIf(!hasScript)('on a terminal: a live progress line with real counts, no METRIC lines at info, states never on the progress line; with stderr in a file the METRIC lines are there', async () => {
    sandbox.setFaults({ rateLimitPerMinute: 0 });
    try {
      // stdout and stderr both on the terminal, as someone trying the target out runs it.
      const { path } = fastConfig();
      const { code, terminal } = await inTerminal(`${process.execPath} ${targetBin} --config ${path} --input ${input}`, dir);
      expect(code, terminal.slice(-2000)).toBe(0);
      expect(terminal).not.toContain('METRIC');
      expect(terminal).toMatch(/target-siro: total\s+30000\s+30000\s+30000\s+0\s+0/);
      // A live line: several draws whose counts grow, with real counts before the end.
      const draws = progressDraws(terminal);
      expect(draws.length, terminal.slice(0, 2000)).toBeGreaterThanOrEqual(2);
      const counts = draws.map(deliveredIn);
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      expect(counts.some((c) => c > 0 && c < N), counts.join(' ')).toBe(true);
      // Each state line starts a terminal line of its own: the progress line is cleared before it. (States that
      // become safe together are printed as the newest one, so there may be fewer than the input's 30.)
      const stateShown = [...terminal.matchAll(/\{"done":(\d+)\}/g)];
      const printed = stateShown.map((m) => Number(m[1]));
      expect(printed.length).toBeGreaterThanOrEqual(2);
      expect(printed).toEqual([...printed].sort((a, b) => a - b));
      expect(printed.at(-1)).toBe(N);
      for (const m of stateShown) {
        const before = terminal.slice(0, m.index);
        expect(before.endsWith(CLEAR) || before.endsWith('\n'), JSON.stringify(before.slice(-120))).toBe(true);
      }
      expect(terminal).not.toMatch(/target-siro ▸ [^\r\n]*\{"done"/);
      // Input came from --input: nothing to say about stdin.
      expect(terminal).not.toContain('waiting for Singer messages');

      // The same run with stderr redirected to a file: the Singer METRIC lines are there, as orchestrators expect.
      const again = fastConfig();
      const stderrFile = join(again.dir, 'stderr.log');
      const stdoutFile = join(again.dir, 'stdout.txt');
      const redirected = await inTerminal(`${process.execPath} ${targetBin} --config ${again.path} --input ${input} > ${stdoutFile} 2> ${stderrFile}`, again.dir);
      expect(redirected.code, redirected.terminal).toBe(0);
      const stderr = readFileSync(stderrFile, 'utf8');
      expect(stderr).not.toContain('▸');
      const metrics = stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.msg.startsWith('METRIC: '))
        .map((l) => ({ level: l.level, ...(JSON.parse(l.msg.slice('METRIC: '.length)) as { metric: string; value: number }) }));
      const requests = metrics.filter((m) => m.metric === 'http_request_duration');
      expect(requests.length).toBeGreaterThanOrEqual(N / 100);
      expect(metrics.every((m) => m.level === 30)).toBe(true); // info
      expect(metrics.filter((m) => m.metric === 'record_count').reduce((n, m) => n + m.value, 0)).toBe(N);
      expect(stateLines(readFileSync(stdoutFile, 'utf8')).at(-1)).toEqual({ done: N });
    } finally {
      sandbox.setFaults({});
    }
  });

  it.skipIf(!hasScript)('on a terminal at log_level debug, the METRIC lines are shown', async () => {
    const { dir: runDir, path } = operatorConfig({ api_token: TOKEN, base_url: sandbox.url, ledger: false, log_level: 'debug' });
    const { code, terminal } = await inTerminal(`${process.execPath} ${targetBin} --config ${path} --input ${bigInput(runDir, 50)} > /dev/null`, runDir);
    expect(code, terminal).toBe(0);
    expect(terminal).toMatch(/DEBUG.*METRIC: \{"type":"timer","metric":"http_request_duration"/);
    expect(terminal).toMatch(/DEBUG.*METRIC: \{"type":"counter","metric":"record_count","value":50/);
  });

  it.skipIf(!hasScript)('says it waits for Singer messages when stdin is a terminal', async () => {
    const { dir: runDir, path } = operatorConfig({ ledger: false });
    // `script` gives the target the terminal as stdin; its own stdin is empty, which ends the target's input.
    const { code, terminal } = await inTerminal(`${process.execPath} ${targetBin} --config ${path} --dry-run --dry-run-output ${join(runDir, 'out.jsonl')}`, runDir);
    expect(code, terminal).toBe(0);
    expect(terminal).toContain(
      'target-siro: waiting for Singer messages on stdin: pipe a tap into it (tap-postgres | target-siro --config config.json), or read a file with --input FILE; Ctrl-D ends the input, Ctrl-C stops',
    );
  });

  it('says nothing about waiting when input is piped in', async () => {
    const { path } = operatorConfig({ ledger: false });
    const r = await runTargetCli(['--config', path, '--dry-run', '--dry-run-output', join(dir, 'piped.jsonl')], { input: readFileSync(exampleInput('postgres-calls')) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('waiting for Singer messages');
  });
});

describe('METRIC level', () => {
  it('is debug on a terminal and info otherwise', () => {
    expect(metricLevel(true)).toBe('debug');
    expect(metricLevel(false)).toBe('info');
  });
});

describe('RunProgress', () => {
  function fakeTerminal(columns = 200) {
    let written = '';
    const out = { isTTY: true, columns, write: (s: string) => ((written += s), true) } as unknown as NodeJS.WriteStream;
    return { line: new TerminalLine(out), written: () => written };
  }

  it('shows counts, the rate over the last seconds, the share of a file read and the time left', () => {
    const counters = new RunCounters();
    let now = 1_000_000;
    let bytes = 0;
    const { line } = fakeTerminal();
    const progress = new RunProgress({ counters, input: { bytesRead: () => bytes, totalBytes: 10_000 }, stats: () => ({ requests: 3, retries: 0, throttled: 2, acked: 0, rejected: 0, splits: 0, latenciesMs: [] }) }, { line, now: () => now });
    expect(progress.render()).toBe('target-siro ▸ read 0 · delivered 0 · rejected 0 · 429s 2 · 0 rec/s · 0:00');
    const calls = counters.stream('calls');
    calls.read = 400;
    calls.delivered = 180;
    calls.rejected = 20;
    bytes = 4_000;
    now += 2_000;
    // 200 finished in 2 s = 100/s; 400 records in 4,000 of 10,000 bytes → about 1,000 records; 800 left → 8 s.
    expect(progress.render()).toBe('target-siro ▸ read 400 · delivered 180 · rejected 20 · 429s 2 · 100 rec/s · 20% · ~0:08 left · 0:02');
  });

  it('draws over itself, lets other output pass above it, and clears itself', () => {
    const { line, written } = fakeTerminal();
    line.writeAbove('before\n');
    line.show('progress 1');
    line.writeAbove('a log line\n');
    line.show('progress 2');
    line.clear();
    line.clear();
    expect(written()).toBe(`before\n${CLEAR}progress 1${CLEAR}a log line\nprogress 1${CLEAR}progress 2${CLEAR}`);
  });

  it('is cleared before output to the same terminal (stdout), and left alone for other output', () => {
    let written = '';
    const out = { isTTY: true, columns: 200, write: (s: string) => ((written += s), true) } as unknown as NodeJS.WriteStream;
    const line = new TerminalLine(out, (fd) => fd === 1);
    expect(line.beside(1, () => 'nothing shown')).toBe('nothing shown');
    line.show('progress 1');
    line.beside(3, () => undefined); // a file: the line stays
    expect(written).toBe(`${CLEAR}progress 1`);
    line.beside(1, () => (written += '{"state":1}\n'));
    line.show('progress 2');
    expect(written).toBe(`${CLEAR}progress 1${CLEAR}{"state":1}\n${CLEAR}progress 2`);
  });

  it('cuts the line to the terminal width', () => {
    const { line, written } = fakeTerminal(30);
    line.show('x'.repeat(50));
    expect(written()).toBe(`${CLEAR}${'x'.repeat(28)}…`);
  });

  it('formats durations', () => {
    expect(duration(0)).toBe('0:00');
    expect(duration(75)).toBe('1:15');
    expect(duration(3725)).toBe('1:02:05');
  });
});
