import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SandboxFaults, SandboxObjectRecord } from '../connector/sandbox/index.js';
import { startChild, targetCli } from './child.js';
import { fmt, progressLogger, sandboxWith } from './context.js';
import { Expectations } from './expectations.js';
import { Dataset } from './singer-data.js';
import { defaultMappingFile, writeTargetConfig } from './target-config.js';

/**
 * `npm run soak`: the no-loss promise under faults. 50,000 records (10% updates of earlier rows, 2% that
 * must be rejected) go through the real CLI to a sandbox that fails requests (10% 500 before the write,
 * 5% 500 after it, 3% dropped connections, bursts of 429), and the target is killed with SIGKILL at
 * random moments, each time rerun from the last state it printed, the way an orchestrator would: the
 * "tap" (the generator) replays every record after that state's position.
 *
 * Checked while it runs: whenever a state line appears on the target's stdout, every record before that
 * state is already in the sandbox (with that record's payload or a later one of its id) or in the rejects
 * file. Checked at the end: every valid externalId holds the payload of its last record, every invalid
 * record is in the rejects file with a reason, and nothing else is in the sandbox.
 *
 *   node dist/bench/soak.js [--quick] [--records N] [--kills K] [--seed S] [--keep] [--set setting=value ...]
 *
 * Prints one line `soak: PASS|FAIL ...`; exit code 0 on pass, 1 on fail.
 */

interface SoakOptions {
  quick: boolean;
  records: number;
  kills: number;
  seed: number;
  keep: boolean;
  /** Extra target settings (`--set ledger=false`), to narrow down a failure. */
  settings: Record<string, unknown>;
}

function options(): SoakOptions {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      records: { type: 'string' },
      kills: { type: 'string' },
      seed: { type: 'string' },
      keep: { type: 'boolean', default: false },
      set: { type: 'string', multiple: true },
    },
  });
  const settings: Record<string, unknown> = {};
  for (const pair of values.set ?? []) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new Error(`--set needs key=value, got "${pair}"`);
    const text = pair.slice(eq + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // plain text
    }
    settings[pair.slice(0, eq)] = value;
  }
  const int = (text: string | undefined, fallback: number, name: string) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} needs a whole number, got "${text}"`);
    return n;
  };
  return {
    quick: values.quick ?? false,
    settings,
    records: int(values.records, values.quick ? 2_000 : 50_000, 'records'),
    kills: int(values.kills, values.quick ? 2 : 5, 'kills'),
    seed: int(values.seed, 20_260_304, 'seed'),
    keep: values.keep ?? false,
  };
}

/** Seeded draws for the kill schedule and the 429 bursts, so a soak can be replayed with --seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE_FAULTS: SandboxFaults = {
  latencyMs: 5,
  jitterMs: 20,
  errorRate: 0.1,
  errorAfterWriteRate: 0.05,
  dropRate: 0.03,
  rateLimitPerMinute: 0,
};

/** Reads what was appended to the rejects file since the last call (the target appends synchronously). */
class RejectsTail {
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

async function soak(opts: SoakOptions): Promise<boolean> {
  const progress = progressLogger('soak');
  const dir = mkdtempSync(join(tmpdir(), 'target-siro-soak-'));
  const draw = random(opts.seed);
  // States often enough that kills land between them, even in a small (quick) soak.
  const stateEvery = Math.min(500, Math.max(20, Math.floor(opts.records / 100)));
  const dataset = new Dataset({ records: opts.records, seed: opts.seed, stateEvery, updateShare: 0.1, invalidShare: 0.02 });
  progress(`preparing ${fmt.int(opts.records)} records and their expected payloads`);
  const expected = new Expectations(dataset, defaultMappingFile);
  const invalidCount = expected.invalidKeys.size;

  const sandbox = await sandboxWith({ ...BASE_FAULTS, seed: opts.seed });
  const config = writeTargetConfig(dir, 'soak', sandbox.url, {
    batch_size: 50,
    max_concurrency: 4,
    rate_limit_per_minute: 1_000_000,
    max_retries: 12,
    request_timeout_ms: 10_000,
    log_level: 'warn',
    ...opts.settings,
  });
  const rejects = new RejectsTail(join(dir, 'soak.rejects.jsonl'));

  // 429 bursts at random moments for the whole soak; the next one is planned only once the last one is
  // used up (bursts that overlap would just be one long outage).
  let bursts = 0;
  let burstTimer: NodeJS.Timeout | undefined;
  const scheduleBurst = () => {
    burstTimer = setTimeout(() => {
      bursts++;
      const count = opts.quick ? 1 + Math.floor(draw() * 2) : 2 + Math.floor(draw() * 7);
      const usedUpAt = sandbox.stats().throttled + count;
      sandbox.setFaults({ ...BASE_FAULTS, seed: opts.seed + bursts, burst429: { count, retryAfterSeconds: 1 } });
      const waitUsedUp = () => {
        burstTimer = setTimeout(() => (sandbox.stats().throttled >= usedUpAt ? scheduleBurst() : waitUsedUp()), 100);
      };
      waitUsedUp();
    }, opts.quick ? 1500 + draw() * 1500 : 5000 + draw() * 10_000);
  };
  scheduleBurst();

  let position = 0; // the last state printed by any run: where the next run's input starts
  let checkedUpTo = 0;
  let statesSeen = 0;
  let statesAhead = 0;
  let brokenStateLines = 0;
  let statesBackwards = 0;
  const problems: string[] = [];
  const note = (problem: string) => {
    if (problems.length < 10) problems.push(problem);
  };

  /** A state line arrived: everything up to its position must already be in the sandbox or rejected. */
  const onState = (line: string) => {
    let n: number;
    try {
      n = Dataset.positionOf(JSON.parse(line));
    } catch {
      brokenStateLines++;
      note(`stdout line is not a state: ${line.slice(0, 100)}`);
      return;
    }
    statesSeen++;
    if (n < position) {
      statesBackwards++;
      note(`state ${n} printed after state ${position}`);
    }
    position = Math.max(position, n);
    if (n <= checkedUpTo) return;
    rejects.poll();
    let stored: Map<string, SandboxObjectRecord> | undefined;
    let ahead = false;
    for (let p = checkedUpTo + 1; p <= n; p++) {
      const e = expected.at(p);
      if (!e) {
        const key = `id=${dataset.info(p).idText}`;
        if (!rejects.byKey.has(key)) {
          ahead = true;
          note(`state ${n} printed before record ${p} (${key}, invalid) was in the rejects file`);
        }
        continue;
      }
      stored ??= new Map(sandbox.engagements().map((r) => [r.externalId, r]));
      const record = stored.get(e.externalId);
      const version = record ? expected.versionOf(e.externalId, record.body) : -1;
      if (version < e.version) {
        ahead = true;
        note(`state ${n} printed before record ${p} (${e.externalId}) was in the sandbox (${record ? `holds version ${version}, needs ${e.version}` : 'absent'})`);
      }
    }
    if (ahead) statesAhead++;
    checkedUpTo = n;
  };

  const started = performance.now();
  let kills = 0;
  let runs = 0;
  let finalExit: number | null = null;
  let finalStderr = '';
  try {
    for (let run = 1; run <= opts.kills + 1; run++) {
      runs++;
      const from = position;
      const killThis = run <= opts.kills;
      progress(`run ${run}: input after position ${fmt.int(from)}${killThis ? ', will be killed' : ', to the end'}`);
      const running = startChild({ script: targetCli, args: ['--config', config], stdinLines: dataset.lines(from), onStdoutLine: onState });
      let killTimer: NodeJS.Timeout | undefined;
      if (killThis) {
        // A random moment: once the sandbox has written a random share of the remaining records, plus a
        // random few ms, so kills land mid-request, mid-batch and between states alike.
        const remaining = opts.records - from;
        const share = 0.03 + draw() * 0.17;
        const threshold = sandbox.stats().itemsWritten + Math.max(10, Math.floor(remaining * share));
        // Rows the ledger already holds are not re-sent: progress in states counts too.
        const stateThreshold = from + Math.max(1, Math.floor(remaining * share));
        const extraMs = Math.floor(draw() * 200);
        const watch = setInterval(() => {
          if (sandbox.stats().itemsWritten < threshold && position < stateThreshold) return;
          clearInterval(watch);
          killTimer = setTimeout(() => {
            if (running.child.exitCode === null && running.child.signalCode === null) {
              running.child.kill('SIGKILL');
              kills++;
              progress(`run ${run}: kill -9 (last state ${fmt.int(position)})`);
            }
          }, extraMs);
        }, 5);
        running.done.finally(() => clearInterval(watch));
      }
      const result = await running.done;
      if (killTimer) clearTimeout(killTimer);
      if (!killThis || result.signal !== 'SIGKILL') {
        finalExit = result.code;
        finalStderr = result.stderrTail;
        if (result.code !== 0) note(`run ${run} exited with ${result.code ?? result.signal}: ${result.stderrTail.trim().split('\n').slice(-3).join(' | ')}`);
        if (killThis) {
          progress(`run ${run} finished before its kill (exit ${result.code})`);
          note(`run ${run} ended before its kill: only ${kills} of ${opts.kills} kills happened`);
        }
        if (position >= opts.records || result.code !== 0) break;
      }
    }
  } finally {
    if (burstTimer) clearTimeout(burstTimer);
  }
  const elapsed = performance.now() - started;

  rejects.poll();
  const final = expected.checkFinal(sandbox.engagements());
  let rejectedFound = 0;
  let rejectedMissing = 0;
  for (const key of expected.invalidKeys.keys()) {
    const reasons = rejects.byKey.get(key);
    if (reasons && reasons.length > 0) rejectedFound++;
    else {
      rejectedMissing++;
      note(`invalid record ${key} is not in the rejects file`);
    }
  }
  for (const example of final.examples) note(example);
  const stats = sandbox.stats();
  await sandbox.close();

  const lost = final.missing + final.stale + rejectedMissing;
  const validRecords = opts.records - invalidCount;
  const delivered = validRecords - expected.recordsOf(final.lostIds);
  const pass =
    kills === opts.kills &&
    finalExit === 0 &&
    position === opts.records &&
    statesAhead === 0 &&
    statesBackwards === 0 &&
    brokenStateLines === 0 &&
    lost === 0 &&
    final.unexpected === 0;

  const by = stats.byStatus;
  process.stderr.write(
    [
      `soak: ${runs} runs in ${fmt.s(elapsed)}; sandbox saw ${fmt.int(stats.requests)} requests: ${by['200'] ?? 0} ok, ${by['500'] ?? 0} 500s, ${by.dropped ?? 0} dropped, ${stats.throttled} 429s (${bursts} bursts), ${by['422'] ?? 0} 422s; ${fmt.int(stats.itemsWritten)} item writes`,
      `soak: ${fmt.int(expected.validIds)} valid ids expected, ${final.missing} missing, ${final.stale} not at their last payload, ${final.unexpected} unexpected; ${invalidCount} invalid records, ${rejectedMissing} not in the rejects file; ${statesSeen} states checked`,
      ...(finalExit !== 0 && finalStderr ? [`soak: last run's stderr: ${finalStderr.trim().split('\n').slice(-5).join('\n  ')}`] : []),
      ...problems.map((p) => `soak: problem: ${p}`),
    ].join('\n') + '\n',
  );
  if (opts.keep) progress(`scratch files kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  process.stdout.write(
    `soak: ${pass ? 'PASS' : 'FAIL'} ${opts.records} records, ${delivered} delivered, ${rejectedFound} rejected, ${kills} kills, ${statesAhead} states ahead, ${lost} lost\n`,
  );
  return pass;
}

soak(options()).then(
  (pass) => (process.exitCode = pass ? 0 : 1),
  (e: Error) => {
    process.stderr.write(`soak: failed: ${e.stack ?? e.message}\n`);
    process.stdout.write('soak: FAIL (harness error)\n');
    process.exitCode = 1;
  },
);
