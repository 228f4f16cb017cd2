import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Sandbox, SandboxFaults, SandboxObjectRecord } from '../connector/sandbox/index.js';
import { packageRoot, startChild, targetCli } from './child.js';
import { fmt, progressLogger, sandboxWith } from './context.js';
import { Expectations } from './expectations.js';
import { machineInfo } from './machine.js';
import { Dataset } from './singer-data.js';
import { defaultMappingFile, hasSetting, writeTargetConfig } from './target-config.js';
import { seededRandom } from '../connector/sandbox/faults.js';

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
 *   node dist/bench/soak.js [--quick] [--records N] [--kills K] [--seed S] [--keep] [--set setting=value ...] [--out DIR]
 *
 * Prints one line `soak: PASS|FAIL ...`; exit code 0 on pass, 1 on fail. Writes soak-results.md and
 * soak-results.json to --out, by default to bench/ for a full soak with default settings (never for
 * --quick, --set or other sizes unless --out is given).
 */

interface SoakOptions {
  quick: boolean;
  records: number;
  kills: number;
  seed: number;
  keep: boolean;
  /** Extra target settings (`--set ledger=false`), to narrow down a failure. */
  settings: Record<string, unknown>;
  /** Where to write soak-results.md/.json (undefined: nowhere). */
  out?: string;
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
      out: { type: 'string' },
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
  // Only a standard soak (full size, default settings) replaces the published results by default.
  const standard = !values.quick && !values.records && !values.kills && !values.seed && Object.keys(settings).length === 0;
  return {
    quick: values.quick ?? false,
    settings,
    out: values.out ?? (standard ? join(packageRoot, 'bench') : undefined),
    records: int(values.records, values.quick ? 2_000 : 50_000, 'records'),
    kills: int(values.kills, values.quick ? 2 : 5, 'kills'),
    seed: int(values.seed, 20_260_304, 'seed'),
    keep: values.keep ?? false,
  };
}

/** Seeded draws for the kill schedule and the 429 bursts, so a soak can be replayed with --seed. */
function random(seed: number): () => number {
  return seededRandom(seed);
}

const BASE_FAULTS: SandboxFaults = {
  latencyMs: 10,
  jitterMs: 30,
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

/** One soak in its own scratch folder and sandbox, both removed afterwards (unless --keep). */
async function soak(opts: SoakOptions): Promise<SoakSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'target-siro-soak-'));
  const sandbox = await sandboxWith({ ...BASE_FAULTS, seed: opts.seed });
  try {
    return await soakIn(opts, dir, sandbox);
  } finally {
    await sandbox.close();
    if (opts.keep) process.stderr.write(`soak: scratch files kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function soakIn(opts: SoakOptions, dir: string, sandbox: Sandbox): Promise<SoakSummary> {
  const progress = progressLogger('soak');
  const draw = random(opts.seed);
  // States often enough that kills land between them, even in a small (quick) soak.
  const stateEvery = Math.min(500, Math.max(20, Math.floor(opts.records / 100)));
  const dataset = new Dataset({ records: opts.records, seed: opts.seed, stateEvery, updateShare: 0.1, invalidShare: 0.02 });
  progress(`preparing ${fmt.int(opts.records)} records and their expected payloads`);
  const expected = new Expectations(dataset, defaultMappingFile);
  const invalidCount = expected.invalidKeys.size;

  const config = writeTargetConfig(dir, 'soak', sandbox.url, {
    // Small batches: more requests, so more of them meet a fault.
    batch_size: 25,
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
        void running.done.finally(() => clearInterval(watch)).catch(() => undefined);
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
  const verdict = `soak: ${pass ? 'PASS' : 'FAIL'} ${opts.records} records, ${delivered} delivered, ${rejectedFound} rejected, ${kills} kills, ${statesAhead} states ahead, ${lost} lost`;
  return {
    verdict,
    pass,
    machine: machineInfo(),
    seconds: Math.round(elapsed / 100) / 10,
    options: { records: opts.records, kills: opts.kills, seed: opts.seed, settings: opts.settings },
    counts: {
      records: opts.records,
      validRecords,
      invalidRecords: invalidCount,
      validIds: expected.validIds,
      delivered,
      rejected: rejectedFound,
      kills,
      runs,
      statesChecked: statesSeen,
      statesAhead,
      missing: final.missing,
      stale: final.stale,
      unexpected: final.unexpected,
      rejectsMissing: rejectedMissing,
    },
    sandbox: { requests: stats.requests, byStatus: stats.byStatus, throttled: stats.throttled, bursts, itemWrites: stats.itemsWritten },
    problems,
  };
}

interface SoakSummary {
  verdict: string;
  pass: boolean;
  machine: ReturnType<typeof machineInfo>;
  seconds: number;
  options: { records: number; kills: number; seed: number; settings: Record<string, unknown> };
  counts: Record<string, number>;
  sandbox: { requests: number; byStatus: Record<string, number>; throttled: number; bursts: number; itemWrites: number };
  problems: string[];
}

/**
 * The soak; when a standard soak fails with the ledger on, once more with `ledger: false`, so the
 * published result says whether the ledger is involved. The first verdict is the one that counts.
 */
async function main(opts: SoakOptions): Promise<boolean> {
  const result = await soak(opts);
  let isolation: SoakSummary | undefined;
  if (!result.pass && opts.out && !opts.quick && hasSetting('ledger') && opts.settings.ledger !== false) {
    process.stderr.write(`${result.verdict}\nsoak: once more with ledger: false, to see whether the ledger is involved\n`);
    isolation = await soak({ ...opts, settings: { ...opts.settings, ledger: false } });
    process.stderr.write(`soak: with ledger: false: ${isolation.verdict}\n`);
  }
  if (opts.out) {
    mkdirSync(opts.out, { recursive: true });
    writeFileSync(join(opts.out, 'soak-results.json'), JSON.stringify({ ...result, faults: FAULTS_TEXT, isolation }, null, 2) + '\n');
    writeFileSync(join(opts.out, 'soak-results.md'), soakMarkdown(result, isolation));
    process.stderr.write(`soak: wrote ${join(opts.out, 'soak-results.md')}\n`);
  }
  process.stdout.write(result.verdict + '\n');
  return result.pass;
}

const FAULTS_TEXT = { ...BASE_FAULTS, burst429: '2-8 requests every 5-15 s (Retry-After: 1)' };

function soakMarkdown(s: SoakSummary, isolation?: SoakSummary): string {
  const by = s.sandbox.byStatus;
  const lines = [
    '# target-siro soak results',
    '',
    'Generated by `npm run soak` (bench/soak.ts); do not edit by hand.',
    '',
    `\`${s.verdict}\``,
    '',
    `${s.machine.date}, ${s.machine.cpuModel}, ${s.machine.cores} cores, node ${s.machine.node}; ${s.seconds} s.`,
    '',
    '## What it does',
    '',
    `${s.options.records.toLocaleString('en-US')} generated \`public-calls\` records for mappings/default.yml (10% of them updates of an earlier row, 2% that must be rejected: a direction or status outside the mapping's map, a zip the stream schema refuses, an unreadable timestamp, a non-numeric amount) go through the real CLI (\`node dist/connector/cli.js --config …\`, stdin) to an in-process sandbox that answers 10% of requests 500 before writing, 5% 500 after writing, drops 3% of connections, adds 10–40 ms latency and throws bursts of 429s. The target (batch_size 25, max_concurrency 4, default ledger${Object.keys(s.options.settings).length ? `, plus ${JSON.stringify(s.options.settings)}` : ''}) is killed with SIGKILL ${s.options.kills} times at random moments; each time it is rerun from the last state it printed, and the generator replays every record after that state's position, as a tap would. Seed ${s.options.seed}.`,
    '',
    'Checked while it runs: whenever a state line appears on stdout, every record up to its position is already in the sandbox (with that record\'s payload or a later one of the same id) or in the rejects file. Checked at the end: every valid externalId holds the mapping of its last record, every invalid record is in the rejects file with a reason, nothing else is in the sandbox.',
    '',
    '## Counts',
    '',
    '| | |',
    '|---|---|',
    ...Object.entries(s.counts).map(([k, v]) => `| ${k} | ${v.toLocaleString('en-US')} |`),
    `| sandbox requests | ${s.sandbox.requests.toLocaleString('en-US')} (${by['200'] ?? 0} ok, ${by['500'] ?? 0} × 500, ${by.dropped ?? 0} dropped, ${s.sandbox.throttled} × 429 in ${s.sandbox.bursts} bursts) |`,
    '',
  ];
  if (s.problems.length > 0) lines.push('## Problems found (first 10)', '', ...s.problems.map((p) => `- ${p}`), '');
  if (isolation) {
    lines.push(
      '## Isolation: the same soak with `ledger: false`',
      '',
      `\`${isolation.verdict}\` (${isolation.seconds} s, same seed, same faults).`,
      '',
      isolation.pass
        ? 'Without the ledger nothing is lost and no state is early: the losses above come from the ledger.'
        : 'It fails without the ledger too, so the ledger is not (only) the cause.',
      '',
    );
    if (!isolation.pass && isolation.problems.length > 0) lines.push(...isolation.problems.map((p) => `- ${p}`), '');
  }
  return lines.join('\n');
}

main(options()).then(
  (pass) => (process.exitCode = pass ? 0 : 1),
  (e: Error) => {
    process.stderr.write(`soak: failed: ${e.stack ?? e.message}\n`);
    process.stdout.write('soak: FAIL (harness error)\n');
    process.exitCode = 1;
  },
);
