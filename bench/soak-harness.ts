import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Sandbox, SandboxFaults, SandboxObjectRecord } from '../connector/sandbox/index.js';
import { seededRandom } from '../connector/sandbox/faults.js';
import { startChild, targetCli, type ChildResult, type RunningChild } from './child.js';
import { fmt, progressLogger } from './context.js';
import { Expectations } from './expectations.js';
import { Dataset, type DatasetOptions } from './singer-data.js';
import { defaultMappingFile, writeTargetConfig } from './target-config.js';

/**
 * The soak's machinery, shared by its legs (bench/soak.ts): one leg is one generated dataset, one sandbox,
 * one target config (rejects file, ledger) and the checks of every state the target prints. A leg differs
 * from another only in how its input is shaped (RECORD lines, SDK BATCH files) and in how its runs end
 * (SIGKILL at random moments, SIGTERM during a Retry-After pause, the end of the input).
 */

export const BASE_FAULTS: SandboxFaults = {
  latencyMs: 10,
  jitterMs: 30,
  errorRate: 0.1,
  errorAfterWriteRate: 0.05,
  dropRate: 0.03,
  rateLimitPerMinute: 0,
};

/** Target settings of every leg: small batches, so more requests meet a fault. */
export const TARGET_SETTINGS: Record<string, unknown> = {
  batch_size: 25,
  max_concurrency: 4,
  rate_limit_per_minute: 1_000_000,
  max_retries: 12,
  request_timeout_ms: 10_000,
  log_level: 'warn',
};

/** Reads what was appended to the rejects file since the last call (the target appends synchronously). */
export class RejectsTail {
  private offset = 0;
  private partial = '';
  /** Key (`id=...`) → reasons of its latest entry. */
  readonly byKey = new Map<string, string[]>();

  constructor(private readonly path: string) {}

  poll(): void {
    let size: number;
    try {
      size = statSync(this.path).size;
    } catch {
      return; // not created yet: no reject so far
    }
    if (size <= this.offset) return;
    const buffer = Buffer.alloc(size - this.offset);
    const fd = openSync(this.path, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, this.offset);
    } finally {
      closeSync(fd);
    }
    this.offset = size;
    const text = this.partial + buffer.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      const entry = JSON.parse(line) as { key: string; reasons: string[] };
      this.byKey.set(entry.key, entry.reasons);
    }
  }
}

export interface LegSetup {
  /** Shown in progress lines (`soak batch [ 1.2 s] ...`). */
  label: string;
  /** Prefix of the leg's files in the scratch folder (config, rejects, ledger, reports). */
  files: string;
  dir: string;
  sandbox: Sandbox;
  dataset: DatasetOptions & { seed: number };
  /** Extra target settings (`--set`), over TARGET_SETTINGS. */
  settings: Record<string, unknown>;
}

/** What the sandbox and the rejects file hold at the end of a leg, against what they should hold. */
export interface LegFinal {
  validRecords: number;
  invalidRecords: number;
  validIds: number;
  delivered: number;
  rejected: number;
  missing: number;
  stale: number;
  unexpected: number;
  rejectsMissing: number;
  /** missing + stale + rejectsMissing. */
  lost: number;
}

/**
 * One leg: its dataset and expectations, its target config, and the checks of every state line the
 * target prints. Whenever a state line arrives, every record up to its position must already be in the
 * sandbox (with that record's payload or a later one of its id) or in the rejects file.
 */
export class Leg {
  readonly dataset: Dataset;
  readonly expected: Expectations;
  readonly config: string;
  readonly rejects: RejectsTail;
  readonly sandbox: Sandbox;
  readonly progress: (message: string) => void;
  /** Seeded draws (kill schedule, 429 bursts, batch layout), so a leg can be replayed with --seed. */
  readonly draw: () => number;
  /** The input of a run that starts after `from` (the last printed state); RECORD lines by default. */
  input: (from: number) => Iterable<string>;

  /** The last state printed by any run: where the next run's input starts. */
  position = 0;
  private checkedUpTo = 0;
  statesSeen = 0;
  statesAhead = 0;
  brokenStateLines = 0;
  statesBackwards = 0;
  runs = 0;
  /** Largest VmHWM (peak RSS) of the target seen in any run of this leg, bytes. */
  peakRssBytes: number | undefined;
  readonly runPeaksBytes: (number | undefined)[] = [];
  readonly problems: string[] = [];

  constructor(setup: LegSetup) {
    this.sandbox = setup.sandbox;
    this.progress = progressLogger(setup.label);
    this.draw = seededRandom(setup.dataset.seed);
    this.dataset = new Dataset(setup.dataset);
    this.progress(`preparing ${fmt.int(setup.dataset.records)} records and their expected payloads`);
    this.expected = new Expectations(this.dataset, defaultMappingFile);
    this.config = writeTargetConfig(setup.dir, setup.files, setup.sandbox.url, { ...TARGET_SETTINGS, ...setup.settings });
    this.rejects = new RejectsTail(join(setup.dir, `${setup.files}.rejects.jsonl`));
    this.input = (from) => this.dataset.lines(from);
  }

  get records(): number {
    return this.dataset.records;
  }

  note(problem: string): void {
    if (this.problems.length < 10) this.problems.push(problem);
  }

  /** A state line arrived: everything up to its position must already be in the sandbox or rejected. */
  readonly onState = (line: string): void => {
    let n: number;
    try {
      n = Dataset.positionOf(JSON.parse(line));
    } catch {
      this.brokenStateLines++;
      this.note(`stdout line is not a state: ${line.slice(0, 100)}`);
      return;
    }
    this.statesSeen++;
    if (n < this.position) {
      this.statesBackwards++;
      this.note(`state ${n} printed after state ${this.position}`);
    }
    this.position = Math.max(this.position, n);
    if (n <= this.checkedUpTo) return;
    this.rejects.poll();
    let stored: Map<string, SandboxObjectRecord> | undefined;
    let ahead = false;
    for (let p = this.checkedUpTo + 1; p <= n; p++) {
      const e = this.expected.at(p);
      if (!e) {
        const key = `id=${this.dataset.info(p).idText}`;
        if (!this.rejects.byKey.has(key)) {
          ahead = true;
          this.note(`state ${n} printed before record ${p} (${key}, invalid) was in the rejects file`);
        }
        continue;
      }
      stored ??= new Map(this.sandbox.engagements().map((r) => [r.externalId, r]));
      const record = stored.get(e.externalId);
      const version = record ? this.expected.versionOf(e.externalId, record.body) : -1;
      if (version < e.version) {
        ahead = true;
        this.note(`state ${n} printed before record ${p} (${e.externalId}) was in the sandbox (${record ? `holds version ${version}, needs ${e.version}` : 'absent'})`);
      }
    }
    if (ahead) this.statesAhead++;
    this.checkedUpTo = n;
  };

  /** Starts the real CLI on the input after `from`, its state lines checked, its peak RSS sampled. */
  start(from: number): RunningChild {
    this.runs++;
    const running = startChild({
      script: targetCli,
      args: ['--config', this.config],
      stdinLines: this.input(from),
      onStdoutLine: this.onState,
      pollRss: true,
    });
    const done = running.done.then((result) => {
      this.runPeaksBytes.push(result.polledPeakRssBytes);
      if (result.polledPeakRssBytes !== undefined) this.peakRssBytes = Math.max(this.peakRssBytes ?? 0, result.polledPeakRssBytes);
      return result;
    });
    return { child: running.child, done };
  }

  /** The end state: every valid id with its last payload, every invalid record in the rejects file. */
  finalCheck(): LegFinal {
    this.rejects.poll();
    const final = this.expected.checkFinal(this.sandbox.engagements());
    let rejected = 0;
    let rejectsMissing = 0;
    for (const key of this.expected.invalidKeys.keys()) {
      const reasons = this.rejects.byKey.get(key);
      if (reasons && reasons.length > 0) rejected++;
      else {
        rejectsMissing++;
        this.note(`invalid record ${key} is not in the rejects file`);
      }
    }
    for (const example of final.examples) this.note(example);
    const invalidRecords = this.expected.invalidKeys.size;
    const validRecords = this.records - invalidRecords;
    return {
      validRecords,
      invalidRecords,
      validIds: this.expected.validIds,
      delivered: validRecords - this.expected.recordsOf(final.lostIds),
      rejected,
      missing: final.missing,
      stale: final.stale,
      unexpected: final.unexpected,
      rejectsMissing,
      lost: final.missing + final.stale + rejectsMissing,
    };
  }

  /** The state checks all held: none early, none backwards, none broken. */
  get statesOk(): boolean {
    return this.statesAhead === 0 && this.statesBackwards === 0 && this.brokenStateLines === 0;
  }
}

/**
 * 429 bursts at random moments for the whole leg; the next one is planned only once the last one is used
 * up (bursts that overlap would just be one long outage). Returns a stop function giving the burst count.
 */
export function startBursts(leg: Leg, quick: boolean, seed: number): () => number {
  let bursts = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      bursts++;
      const count = quick ? 1 + Math.floor(leg.draw() * 2) : 2 + Math.floor(leg.draw() * 7);
      const usedUpAt = leg.sandbox.stats().throttled + count;
      leg.sandbox.setFaults({ ...BASE_FAULTS, seed: seed + bursts, burst429: { count, retryAfterSeconds: 1 } });
      const waitUsedUp = () => {
        timer = setTimeout(() => (leg.sandbox.stats().throttled >= usedUpAt ? schedule() : waitUsedUp()), 100);
      };
      waitUsedUp();
    }, quick ? 1500 + leg.draw() * 1500 : 5000 + leg.draw() * 10_000);
  };
  schedule();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    return bursts;
  };
}

export interface KillRuns {
  kills: number;
  runs: number;
  finalExit: number | null;
  finalStderr: string;
  elapsedMs: number;
}

/**
 * Runs the leg's target `kills` times to a SIGKILL at a random moment and once more to the end, each run
 * from the last state any run printed, the way an orchestrator reruns a tap and target: the leg's input
 * replays everything after that state's position.
 */
export async function runWithKills(leg: Leg, kills: number): Promise<KillRuns> {
  const started = performance.now();
  let killed = 0;
  let runs = 0;
  let finalExit: number | null = null;
  let finalStderr = '';
  for (let run = 1; run <= kills + 1; run++) {
    runs++;
    const from = leg.position;
    const killThis = run <= kills;
    leg.progress(`run ${run}: input after position ${fmt.int(from)}${killThis ? ', will be killed' : ', to the end'}`);
    const running = leg.start(from);
    let killTimer: NodeJS.Timeout | undefined;
    if (killThis) {
      // A random moment: once the sandbox has written a random share of the remaining records, plus a
      // random few ms, so kills land mid-request, mid-batch and between states alike.
      const remaining = leg.records - from;
      const share = 0.03 + leg.draw() * 0.17;
      const threshold = leg.sandbox.stats().itemsWritten + Math.max(10, Math.floor(remaining * share));
      // Rows the ledger already holds are not re-sent: progress in states counts too.
      const stateThreshold = from + Math.max(1, Math.floor(remaining * share));
      const extraMs = Math.floor(leg.draw() * 200);
      const watch = setInterval(() => {
        if (leg.sandbox.stats().itemsWritten < threshold && leg.position < stateThreshold) return;
        clearInterval(watch);
        killTimer = setTimeout(() => {
          if (running.child.exitCode === null && running.child.signalCode === null) {
            running.child.kill('SIGKILL');
            killed++;
            leg.progress(`run ${run}: kill -9 (last state ${fmt.int(leg.position)})`);
          }
        }, extraMs);
      }, 5);
      void running.done.finally(() => clearInterval(watch)).catch(() => undefined);
    }
    const result: ChildResult = await running.done;
    if (killTimer) clearTimeout(killTimer);
    if (!killThis || result.signal !== 'SIGKILL') {
      finalExit = result.code;
      finalStderr = result.stderrTail;
      if (result.code !== 0) leg.note(`run ${run} exited with ${result.code ?? result.signal}: ${lastLines(result.stderrTail, 3)}`);
      if (killThis) {
        leg.progress(`run ${run} finished before its kill (exit ${result.code})`);
        leg.note(`run ${run} ended before its kill: only ${killed} of ${kills} kills happened`);
      }
      if (leg.position >= leg.records || result.code !== 0) break;
    }
  }
  return { kills: killed, runs, finalExit, finalStderr, elapsedMs: performance.now() - started };
}

export function lastLines(text: string, n: number, joiner = ' | '): string {
  return text.trim().split('\n').slice(-n).join(joiner);
}

/** Resolves once `ready()` holds (checked every `everyMs`), or with false after `timeoutMs`. */
export function waitFor(ready: () => boolean, timeoutMs: number, everyMs = 5): Promise<boolean> {
  return new Promise((resolve) => {
    const deadline = performance.now() + timeoutMs;
    const tick = () => {
      if (ready()) return resolve(true);
      if (performance.now() >= deadline) return resolve(false);
      setTimeout(tick, everyMs);
    };
    tick();
  });
}
