import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Sandbox, SandboxFaults } from '../connector/sandbox/index.js';
import { packageRoot } from './child.js';
import { BENCH_TOKEN, filesContaining, fmt, sandboxWith } from './context.js';
import { machineInfo } from './machine.js';
import { batchInput, writeBatchFiles } from './soak-batch.js';
import { BASE_FAULTS, Leg, TARGET_SETTINGS, lastLines, runWithKills, startBursts, waitFor, type KillRuns, type LegFinal } from './soak-harness.js';
import { hasSetting } from './target-config.js';
import { tapLeg, type LegReport } from './soak-tap.js';

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
 * Two more legs, each with its own records, sandbox and checks (the machinery is bench/soak-harness.ts):
 * - BATCH: the same kind of records as a Meltano singer-sdk tap with `batch_config` sends them (SCHEMA,
 *   BATCH messages naming gzip and plain jsonl files in the scratch folder, a STATE after each), with the
 *   same faults and kills; one BATCH is a single large file (25,000 records in a full soak), and the
 *   target's peak RSS is sampled, to compare with the RECORD leg's (bench/soak-batch.ts).
 * - SIGTERM: the sandbox answers 429 with Retry-After: 30; the target gets SIGTERM during that pause and
 *   must exit 130 within 5 s, no state ahead; a rerun from its last state, faults cleared, delivers the rest.
 * - TAP: the real `tap-warehouse | target-siro` pipe (state_file shared, as the cron recipe runs it)
 *   against a Postgres table one writer keeps updating, its connection terminated and the tap or the target
 *   killed at random moments, each run from the state file; at the end the sandbox must hold exactly the
 *   table (bench/soak-tap.ts).
 * A full soak runs the legs one after the other; --quick (2,000 records, 2 kills) runs them at once.
 * --leg NAME (record, batch, sigterm, tap; repeatable) runs only those legs.
 *
 *   node dist/bench/soak.js [--quick] [--records N] [--kills K] [--seed S] [--leg NAME ...] [--keep] [--set setting=value ...] [--out DIR]
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
  /** The legs to run (all by default). */
  legs: LegName[];
}

const LEG_NAMES = ['record', 'batch', 'sigterm', 'tap'] as const;
type LegName = (typeof LEG_NAMES)[number];

function options(): SoakOptions {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      records: { type: 'string' },
      kills: { type: 'string' },
      seed: { type: 'string' },
      keep: { type: 'boolean', default: false },
      set: { type: 'string', multiple: true },
      leg: { type: 'string', multiple: true },
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
  for (const leg of values.leg ?? []) if (!(LEG_NAMES as readonly string[]).includes(leg)) throw new Error(`--leg must be one of ${LEG_NAMES.join(', ')}, got "${leg}"`);
  // Only a standard soak (full size, default settings, every leg) replaces the published results by default.
  const standard = !values.quick && !values.records && !values.kills && !values.seed && !values.leg && Object.keys(settings).length === 0;
  return {
    quick: values.quick ?? false,
    settings,
    out: values.out ?? (standard ? join(packageRoot, 'bench') : undefined),
    records: int(values.records, values.quick ? 2_000 : 50_000, 'records'),
    kills: int(values.kills, values.quick ? 2 : 5, 'kills'),
    seed: int(values.seed, 20_260_304, 'seed'),
    keep: values.keep ?? false,
    legs: values.leg?.length ? (values.leg as LegName[]) : [...LEG_NAMES],
  };
}

/** States often enough that kills land between them, even in a small (quick) soak. */
function stateEveryFor(records: number): number {
  return Math.min(500, Math.max(20, Math.floor(records / 100)));
}


function sandboxFigures(sandbox: Sandbox, bursts: number): LegReport['sandbox'] {
  const stats = sandbox.stats();
  return { requests: stats.requests, byStatus: stats.byStatus, throttled: stats.throttled, bursts, itemWrites: stats.itemsWritten };
}

function requestsText(s: LegReport['sandbox']): string {
  const by = s.byStatus;
  return `${fmt.int(s.requests)} requests: ${by['200'] ?? 0} ok, ${by['500'] ?? 0} 500s, ${by.dropped ?? 0} dropped, ${s.throttled} 429s (${s.bursts} bursts), ${by['422'] ?? 0} 422s; ${fmt.int(s.itemWrites)} item writes`;
}

function finalText(leg: Leg, final: LegFinal): string {
  return `${fmt.int(final.validIds)} valid ids expected, ${final.missing} missing, ${final.stale} not at their last payload, ${final.unexpected} unexpected; ${final.invalidRecords} invalid records, ${final.rejectsMissing} not in the rejects file; ${leg.statesSeen} states checked`;
}

const mb = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : bytes < 10 * 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MB` : fmt.mb(bytes));

/** A leg is made ready (dataset, expectations, files: CPU-bound) before any leg runs, then run. */
type PreparedLeg = () => Promise<LegReport>;

/** Opens a sandbox for a leg, prepares it, and closes the sandbox once the leg has run (or failed). */
async function withSandbox(faults: SandboxFaults, prepare: (sandbox: Sandbox) => PreparedLeg | Promise<PreparedLeg>): Promise<PreparedLeg> {
  const sandbox = await sandboxWith(faults);
  let run: PreparedLeg;
  try {
    run = await prepare(sandbox);
  } catch (e) {
    await sandbox.close();
    throw e;
  }
  return async () => {
    try {
      return await run();
    } finally {
      await sandbox.close();
    }
  };
}

/** Leg 1, the original soak: RECORD lines on stdin, faults, `kills` × SIGKILL, reruns from the last state. */
function recordLeg(opts: SoakOptions, dir: string): Promise<PreparedLeg> {
  return withSandbox({ ...BASE_FAULTS, seed: opts.seed }, (sandbox) => {
    const leg = new Leg({
      label: 'soak',
      files: 'soak',
      dir,
      sandbox,
      dataset: { records: opts.records, seed: opts.seed, stateEvery: stateEveryFor(opts.records), updateShare: 0.1, invalidShare: 0.02 },
      settings: opts.settings,
    });
    return () => killLeg(leg, opts, (final, runs) =>
      `${opts.records} records, ${final.delivered} delivered, ${final.rejected} rejected, ${runs.kills} kills, ${leg.statesAhead} states ahead, ${final.lost} lost`,
    );
  });
}

/**
 * Leg 2: the same kind of records as a Meltano singer-sdk tap with `batch_config` sends them (SCHEMA, BATCH
 * messages naming gzip and plain jsonl files, a STATE after each BATCH), with the same faults and kills;
 * one BATCH is a single large file (25,000 records in a full soak), and the target's peak RSS is sampled.
 */
function batchLeg(opts: SoakOptions, dir: string): Promise<PreparedLeg> {
  const seed = opts.seed + 1;
  return withSandbox({ ...BASE_FAULTS, seed }, (sandbox) => {
    const stateEvery = stateEveryFor(opts.records);
    const leg = new Leg({
      label: 'soak batch',
      files: 'soak-batch',
      dir,
      sandbox,
      dataset: { records: opts.records, seed, stateEvery, updateShare: 0.1, invalidShare: 0.02 },
      settings: opts.settings,
    });
    const layout = writeBatchFiles(leg.dataset, join(dir, 'batches'), { batchSize: stateEvery, largeBatch: opts.quick ? 500 : 25_000, draw: leg.draw });
    leg.progress(
      `${layout.batches.length} BATCH messages, ${layout.files} files (${layout.gzipFiles} gzip, ${layout.plainFiles} plain); largest: ${fmt.int(layout.largest.records)} records, ${mb(layout.largest.jsonBytes)} of JSON, ${mb(layout.largest.fileBytes)} on disk`,
    );
    leg.input = (from) => batchInput(leg.dataset, layout, from, (p) => leg.note(`a run started after position ${p}, inside a BATCH: no state the tap sent names it`));
    return async () => {
      const report = await killLeg(leg, opts, (final, runs) =>
        `${opts.records} records in ${layout.files} files, ${final.delivered} delivered, ${final.rejected} rejected, ${runs.kills} kills, ${leg.statesAhead} states ahead, ${final.lost} lost, peak RSS ${mb(leg.peakRssBytes)}`,
      );
      report.counts = {
        ...report.counts,
        batchMessages: layout.batches.length,
        batchFiles: layout.files,
        gzipFiles: layout.gzipFiles,
        plainFiles: layout.plainFiles,
        largestFileRecords: layout.largest.records,
        largestFileJsonBytes: layout.largest.jsonBytes,
        largestFileBytes: layout.largest.fileBytes,
      };
      report.report.push(`run peaks (VmHWM): ${leg.runPeaksBytes.map(mb).join(', ')}`);
      return report;
    };
  });
}

/** Runs a leg through kills and reruns under 429 bursts, then checks the end state. */
async function killLeg(leg: Leg, opts: SoakOptions, verdict: (final: LegFinal, runs: KillRuns) => string): Promise<LegReport> {
  const stopBursts = startBursts(leg, opts.quick, leg.dataset.seed);
  let runs: KillRuns;
  let bursts: number;
  try {
    runs = await runWithKills(leg, opts.kills);
  } finally {
    bursts = stopBursts();
  }
  const final = leg.finalCheck();
  const pass =
    runs.kills === opts.kills &&
    runs.finalExit === 0 &&
    leg.position === leg.records &&
    leg.statesOk &&
    final.lost === 0 &&
    final.unexpected === 0;
  const sandbox = sandboxFigures(leg.sandbox, bursts);
  return {
    pass,
    verdict: verdict(final, runs),
    seconds: Math.round(runs.elapsedMs / 100) / 10,
    counts: {
      records: leg.records,
      ...final,
      kills: runs.kills,
      runs: runs.runs,
      statesChecked: leg.statesSeen,
      statesAhead: leg.statesAhead,
      ...(leg.peakRssBytes !== undefined ? { peakRssBytes: leg.peakRssBytes } : {}),
    },
    sandbox,
    peakRssBytes: leg.peakRssBytes,
    problems: leg.problems,
    report: [
      `${runs.runs} runs in ${fmt.s(runs.elapsedMs)}; sandbox saw ${requestsText(sandbox)}; target peak RSS ${mb(leg.peakRssBytes)}`,
      finalText(leg, final),
      ...(runs.finalExit !== 0 && runs.finalStderr ? [`last run's stderr: ${lastLines(runs.finalStderr, 5, '\n  ')}`] : []),
    ],
  };
}

/** The Retry-After of the SIGTERM leg's 429s: far longer than the exit may take. */
const LONG_RETRY_AFTER_S = 30;
/** The SIGTERM leg passes only if the target exits within this long after the signal. */
const SIGTERM_EXIT_LIMIT_MS = 5000;
const QUIET_FAULTS: SandboxFaults = { latencyMs: 10, jitterMs: 30, rateLimitPerMinute: 0 };

/**
 * Leg 3: SIGTERM while the target waits out a long Retry-After. Once it printed a state past a tenth of
 * the records, the sandbox answers the next requests 429 with Retry-After: 30; soon after the first 429 the target gets
 * SIGTERM and must exit 130 within 5 s with no state ahead of the sandbox. Then the faults are cleared and
 * a rerun from its last printed state must deliver everything.
 */
function sigtermLeg(opts: SoakOptions, dir: string): Promise<PreparedLeg> {
  const seed = opts.seed + 2;
  // No more records than the other legs: a small soak (the harness's own failure test) stays small.
  const records = Math.min(opts.records, opts.quick ? 1000 : 5000);
  return withSandbox({ ...QUIET_FAULTS, seed }, (sandbox) => {
    const leg = new Leg({
      label: 'soak sigterm',
      files: 'soak-sigterm',
      dir,
      sandbox,
      dataset: { records, seed, stateEvery: 50, updateShare: 0.1, invalidShare: 0.02 },
      settings: opts.settings,
    });
    return async () => {
      const started = performance.now();
      const concurrency = Number(opts.settings.max_concurrency ?? TARGET_SETTINGS.max_concurrency);
      leg.progress(`run 1: input from the start; a 429 burst (Retry-After: ${LONG_RETRY_AFTER_S}) once a state past ${fmt.int(records / 10)} is printed, then SIGTERM`);
      const first = leg.start(0);
      let exited = false;
      void first.done.finally(() => (exited = true)).catch(() => undefined);
      const gone = () => exited || first.child.exitCode !== null || first.child.signalCode !== null;

      // A state past the first tenth first, so the rerun starts mid-way, not from the beginning.
      await waitFor(() => gone() || leg.position >= records / 10, 60_000);
      const throttledBefore = sandbox.stats().throttled;
      sandbox.setFaults({ ...QUIET_FAULTS, seed, burst429: { count: concurrency, retryAfterSeconds: LONG_RETRY_AFTER_S } });
      const hit = await waitFor(() => gone() || sandbox.stats().throttled > throttledBefore, 30_000, 2);
      const pausedAt = performance.now();
      const requestsAtPause = sandbox.stats().requests;
      // Inside the pause: let the other requests in flight come back, so the target only waits.
      await waitFor(() => gone(), 300);
      const requestsInPause = sandbox.stats().requests - requestsAtPause;
      let exitMs: number | undefined;
      let firstExit: number | null | undefined;
      let signalled = false;
      if (!gone()) {
        leg.progress(`run 1: SIGTERM ${fmt.int(performance.now() - pausedAt)} ms into a ${LONG_RETRY_AFTER_S} s Retry-After pause (last state ${fmt.int(leg.position)})`);
        const signalAt = performance.now();
        first.child.kill('SIGTERM');
        signalled = true;
        // Past the limit the target is killed, so a hung target fails the leg instead of hanging the soak.
        const limit = setTimeout(() => first.child.kill('SIGKILL'), SIGTERM_EXIT_LIMIT_MS + LONG_RETRY_AFTER_S * 1000);
        const result = await first.done;
        clearTimeout(limit);
        exitMs = performance.now() - signalAt;
        leg.progress(`run 1: exit ${result.code ?? result.signal} ${fmt.int(exitMs)} ms after SIGTERM (last state ${fmt.int(leg.position)})`);
        if (result.code !== 130) leg.note(`run 1 exited with ${result.code ?? result.signal} after SIGTERM, not 130: ${lastLines(result.stderrTail, 3)}`);
        if (exitMs >= SIGTERM_EXIT_LIMIT_MS) leg.note(`run 1 took ${fmt.int(exitMs)} ms to exit after SIGTERM (limit ${SIGTERM_EXIT_LIMIT_MS} ms)`);
        firstExit = result.code;
      } else {
        const result = await first.done;
        leg.note(`run 1 ended (exit ${result.code ?? result.signal}) before ${hit ? 'the signal' : 'any 429'}: the leg tested nothing`);
      }
      if (!hit) leg.note('no request was answered 429 after the burst was set');
      const stateAtSignal = leg.position;
      const throttled = sandbox.stats().throttled - throttledBefore;

      sandbox.setFaults({ ...QUIET_FAULTS, seed });
      leg.progress(`run 2: faults cleared, input after position ${fmt.int(leg.position)}, to the end`);
      const second = await leg.start(leg.position).done;
      if (second.code !== 0) leg.note(`run 2 exited with ${second.code ?? second.signal}: ${lastLines(second.stderrTail, 3)}`);
      const elapsedMs = performance.now() - started;

      const final = leg.finalCheck();
      const pass =
        signalled &&
        hit &&
        firstExit === 130 &&
        exitMs !== undefined &&
        exitMs < SIGTERM_EXIT_LIMIT_MS &&
        second.code === 0 &&
        leg.position === records &&
        leg.statesOk &&
        final.lost === 0 &&
        final.unexpected === 0;
      const sandboxNow = sandboxFigures(sandbox, 1);
      const exitText = exitMs === undefined ? 'no SIGTERM sent' : `exit ${firstExit ?? 'by signal'} ${fmt.s(exitMs)} after SIGTERM`;
      return {
        pass,
        verdict: `${exitText} in a ${LONG_RETRY_AFTER_S} s Retry-After pause, ${records} records, ${final.delivered} delivered, ${final.rejected} rejected, ${leg.statesAhead} states ahead, ${final.lost} lost`,
        seconds: Math.round(elapsedMs / 100) / 10,
        counts: {
          records,
          ...final,
          runs: leg.runs,
          statesChecked: leg.statesSeen,
          statesAhead: leg.statesAhead,
          throttledBeforeSignal: throttled,
          requestsInPauseBeforeSignal: requestsInPause,
          stateAtSignal,
          exitCodeAfterSigterm: firstExit ?? -1,
          exitMsAfterSigterm: exitMs === undefined ? -1 : Math.round(exitMs),
          ...(leg.peakRssBytes !== undefined ? { peakRssBytes: leg.peakRssBytes } : {}),
        },
        sandbox: sandboxNow,
        peakRssBytes: leg.peakRssBytes,
        problems: leg.problems,
        report: [
          `${leg.runs} runs in ${fmt.s(elapsedMs)}; ${throttled} requests answered 429 (Retry-After: ${LONG_RETRY_AFTER_S}), ${requestsInPause} requests in the 300 ms before SIGTERM; ${exitText}; state ${fmt.int(stateAtSignal)} of ${fmt.int(records)} at the signal; rerun exit ${second.code ?? second.signal}`,
          finalText(leg, final),
        ],
      };
    };
  });
}

/**
 * Leg 4: tap-warehouse | target-siro against a Postgres table being updated, connection terminated and
 * processes killed at random moments (bench/soak-tap.ts). Rows: half the other legs' records; twice their
 * kills (4 to 12).
 */
function tapWarehouseLeg(opts: SoakOptions, dir: string): Promise<PreparedLeg> {
  const seed = opts.seed + 3;
  const records = Math.max(300, Math.floor(opts.records / 2));
  return withSandbox({ ...BASE_FAULTS, seed }, (sandbox) =>
    tapLeg({ records, kills: Math.max(4, Math.min(opts.kills * 2, 12)), seed, quick: opts.quick, settings: opts.settings }, dir, sandbox),
  );
}

/** A leg that was not asked for (--leg): passes, says so. */
function skipped(): LegReport {
  return { pass: true, verdict: 'not run', seconds: 0, counts: {}, sandbox: { requests: 0, byStatus: {}, throttled: 0, bursts: 0, itemWrites: 0 }, problems: [], report: [] };
}

/** One soak in its own scratch folder, every leg in its own sandbox; the folder removed afterwards (unless --keep). */
async function soak(opts: SoakOptions): Promise<SoakSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'target-siro-soak-'));
  const started = performance.now();
  try {
    const all = { record: recordLeg, batch: batchLeg, sigterm: sigtermLeg, tap: tapWarehouseLeg };
    const makers = LEG_NAMES.map((name) => (opts.legs.includes(name) ? all[name] : async () => async () => skipped()));
    let reports: LegReport[];
    if (opts.quick) {
      // Quick: every leg prepared first (CPU-bound), then all of them run at once, to stay fast.
      const prepared: PreparedLeg[] = [];
      try {
        for (const make of makers) prepared.push(await make(opts, dir));
      } catch (e) {
        await Promise.allSettled(prepared.map((run) => run()));
        throw e;
      }
      reports = await Promise.all(prepared.map((run) => run()));
    } else {
      // Full: one leg after the other, so their timings and memory figures do not disturb each other.
      reports = [];
      for (const make of makers) reports.push(await (await make(opts, dir))());
    }
    const [main, batch, sigterm, tap] = reports as [LegReport, LegReport, LegReport, LegReport];
    const elapsed = performance.now() - started;
    // Every file the runs wrote (rejects, ledgers, reports, outputs; not the configs given to them) is searched
    // for the API token.
    const leaks = filesContaining(dir, BENCH_TOKEN.token).filter((file) => !file.endsWith('.config.json')); // the configs hold it by design
    for (const file of leaks) main.problems.push(`the API token appears in ${file}`);
    const pass = main.pass && batch.pass && sigterm.pass && tap.pass && leaks.length === 0;
    const mark = (r: LegReport) => (r.pass ? 'PASS' : 'FAIL');
    process.stderr.write(
      [
        ...main.report.map((l) => `soak: ${l}`),
        ...main.problems.map((p) => `soak: problem: ${p}`),
        ...batch.report.map((l) => `soak batch: ${l}`),
        ...batch.problems.map((p) => `soak batch: problem: ${p}`),
        ...sigterm.report.map((l) => `soak sigterm: ${l}`),
        ...sigterm.problems.map((p) => `soak sigterm: problem: ${p}`),
        ...tap.report.map((l) => `soak tap: ${l}`),
        ...tap.problems.map((p) => `soak tap: problem: ${p}`),
        `soak: all legs in ${fmt.s(elapsed)}${opts.quick ? ' (run at the same time)' : ''}`,
      ].join('\n') + '\n',
    );
    const verdict = `soak: ${pass ? 'PASS' : 'FAIL'} ${main.verdict}; batch ${mark(batch)} ${batch.verdict}; sigterm ${mark(sigterm)} ${sigterm.verdict}; tap-warehouse ${mark(tap)} ${tap.verdict}`;
    return {
      verdict,
      pass,
      machine: machineInfo(),
      seconds: Math.round(elapsed / 100) / 10,
      options: { records: opts.records, kills: opts.kills, seed: opts.seed, settings: opts.settings, quick: opts.quick },
      counts: main.counts,
      sandbox: main.sandbox,
      peakRssBytes: main.peakRssBytes,
      problems: main.problems,
      legSeconds: main.seconds,
      batch,
      sigterm,
      tap,
    };
  } finally {
    if (opts.keep) process.stderr.write(`soak: scratch files kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

interface SoakSummary {
  verdict: string;
  pass: boolean;
  machine: ReturnType<typeof machineInfo>;
  /** Wall time of the whole soak (all legs). */
  seconds: number;
  options: { records: number; kills: number; seed: number; settings: Record<string, unknown>; quick: boolean };
  /** The RECORD leg (the original soak): its counts, sandbox figures, peak RSS, problems and time. */
  counts: Record<string, number>;
  sandbox: LegReport['sandbox'];
  peakRssBytes?: number;
  problems: string[];
  legSeconds: number;
  /** The Meltano SDK BATCH leg. */
  batch: LegReport;
  /** The SIGTERM-during-Retry-After leg. */
  sigterm: LegReport;
  /** The tap-warehouse leg: a real table being updated, connections and processes killed. */
  tap: LegReport;
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

const FAULTS_TEXT = {
  ...BASE_FAULTS,
  burst429: '2-8 requests every 5-15 s (Retry-After: 1)',
  sigterm: { ...QUIET_FAULTS, burst429: `max_concurrency requests (Retry-After: ${LONG_RETRY_AFTER_S})` },
};

function countsTable(counts: Record<string, number>, sandbox: LegReport['sandbox']): string[] {
  const by = sandbox.byStatus;
  return [
    '| | |',
    '|---|---|',
    ...Object.entries(counts).map(([k, v]) => `| ${k} | ${k.endsWith('Bytes') ? `${v.toLocaleString('en-US')} (${mb(v)})` : v.toLocaleString('en-US')} |`),
    `| sandbox requests | ${sandbox.requests.toLocaleString('en-US')} (${by['200'] ?? 0} ok, ${by['500'] ?? 0} × 500, ${by.dropped ?? 0} dropped, ${sandbox.throttled} × 429${sandbox.bursts > 0 ? ` in ${sandbox.bursts} burst${sandbox.bursts === 1 ? '' : 's'}` : ''}) |`,
    '',
  ];
}

function problemsList(title: string, problems: string[]): string[] {
  return problems.length > 0 ? [`### ${title}: problems found (first 10)`, '', ...problems.map((p) => `- ${p}`), ''] : [];
}

function soakMarkdown(s: SoakSummary, isolation?: SoakSummary): string {
  const b = s.batch;
  const t = s.sigterm;
  const w = s.tap;
  const settingsText = Object.keys(s.options.settings).length ? `, plus ${JSON.stringify(s.options.settings)}` : '';
  const lines = [
    '# target-siro soak results',
    '',
    'Generated by `npm run soak` (bench/soak.ts); do not edit by hand.',
    '',
    `\`${s.verdict}\``,
    '',
    `${s.machine.date}, ${s.machine.cpuModel}, ${s.machine.cores} cores, node ${s.machine.node}; ${s.seconds} s for four legs run ${s.options.quick ? 'at the same time' : 'one after the other'} (RECORD leg ${s.legSeconds} s, BATCH leg ${b.seconds} s, SIGTERM leg ${t.seconds} s, tap-warehouse leg ${w.seconds} s).`,
    '',
    '## What it does',
    '',
    'Four legs, each with its own generated records, its own in-process sandbox and its own target config (rejects file, ledger). The soak passes only if every leg passes.',
    '',
    '### Leg 1: RECORD input, faults and `kill -9`',
    '',
    `${s.options.records.toLocaleString('en-US')} generated \`public-calls\` records for mappings/default.yml (10% of them updates of an earlier row, 2% that must be rejected: a direction or status outside the mapping's map, a zip the stream schema refuses, an unreadable timestamp, a non-numeric amount) go through the real CLI (\`node dist/connector/cli.js --config …\`, stdin) to an in-process sandbox that answers 10% of requests 500 before writing, 5% 500 after writing, drops 3% of connections, adds 10–40 ms latency and throws bursts of 429s. The target (batch_size 25, max_concurrency 4, default ledger${settingsText}) is killed with SIGKILL ${s.options.kills} times at random moments; each time it is rerun from the last state it printed, and the generator replays every record after that state's position, as a tap would. Seed ${s.options.seed}.`,
    '',
    'Checked while it runs (every leg): whenever a state line appears on stdout, every record up to its position is already in the sandbox (with that record\'s payload or a later one of the same id) or in the rejects file. Checked at the end (every leg): every valid externalId holds the mapping of its last record, every invalid record is in the rejects file with a reason, nothing else is in the sandbox.',
    '',
    ...countsTable(s.counts, s.sandbox),
    ...problemsList('RECORD leg', s.problems),
    '### Leg 2: Meltano SDK BATCH input, faults and `kill -9`',
    '',
    `The same kind of records (${s.options.records.toLocaleString('en-US')}, seed ${s.options.seed + 1}), delivered the way a Meltano singer-sdk tap with \`batch_config\` delivers them: SCHEMA, then BATCH messages \`{"type":"BATCH","stream":"public-calls","encoding":{"format":"jsonl","compression":"gzip"|"none"},"manifest":["file:///…/part-N.json.gz", …]}\` whose files (in the soak's temp folder) hold one bare record object per line, with a STATE after each BATCH. ${fmt.int(b.counts.batchMessages ?? 0)} BATCH messages of 1–3 files each, gzip and plain alternating: ${fmt.int(b.counts.batchFiles ?? 0)} files (${fmt.int(b.counts.gzipFiles ?? 0)} gzip, ${fmt.int(b.counts.plainFiles ?? 0)} plain); the largest is one gzip file of ${fmt.int(b.counts.largestFileRecords ?? 0)} records (${mb(b.counts.largestFileJsonBytes)} of JSON, ${mb(b.counts.largestFileBytes)} on disk). The same faults, 429 bursts and ${s.options.kills} SIGKILLs as leg 1; each rerun starts after the last printed state, and the BATCH messages after it are sent again (same files), as a tap would.`,
    '',
    `Peak RSS of the target (VmHWM of /proc/<pid>/status, sampled every 100 ms, highest over all runs of the leg): **${mb(b.peakRssBytes)}** with BATCH files, against **${mb(s.peakRssBytes)}** for the same number of RECORD lines on stdin in leg 1: records are read from the files a chunk at a time as delivery asks for them, so memory stays flat however large a batch file is.`,
    '',
    ...countsTable(b.counts, b.sandbox),
    ...problemsList('BATCH leg', b.problems),
    '### Leg 3: SIGTERM during a Retry-After pause',
    '',
    `${fmt.int(t.counts.records ?? 0)} records (seed ${s.options.seed + 2}) through the CLI to a sandbox with latency only. Once the target has printed a state past a tenth of them, the sandbox answers the next max_concurrency requests 429 with \`Retry-After: ${LONG_RETRY_AFTER_S}\` (\`burst429\`); 300 ms after the first 429 the target, now waiting out the pause, gets SIGTERM. It must exit 130 within ${SIGTERM_EXIT_LIMIT_MS / 1000} s (it took ${t.counts.exitMsAfterSigterm === undefined || t.counts.exitMsAfterSigterm < 0 ? 'n/a' : `${fmt.int(t.counts.exitMsAfterSigterm)} ms`}, exit ${t.counts.exitCodeAfterSigterm ?? 'n/a'}) with no state ahead of the sandbox. Then the faults are cleared and the target is rerun from its last printed state (${fmt.int(t.counts.stateAtSignal ?? 0)}): every valid record must end up in the sandbox with its last payload, every invalid one in the rejects file.`,
    '',
    ...countsTable(t.counts, t.sandbox),
    ...problemsList('SIGTERM leg', t.problems),
    '### Leg 4: tap-warehouse against a table being updated, connections and processes killed',
    '',
    `The main job as the cron recipe runs it: \`tap-warehouse --state S | target-siro\` (the target's \`state_file\` is S), both real CLIs joined by one OS pipe, against a Postgres \`calls\` table (${fmt.int(w.counts.rowsAtStart ?? 0)} rows at the start; seed ${s.options.seed + 3}) that one writer keeps changing while the runs go on: ${fmt.int(w.counts.updates ?? 0)} updates of random rows, ${fmt.int(w.counts.inserts ?? 0)} new rows, ${fmt.int(w.counts.nullKeys ?? 0)} changes that leave \`updated_at\` NULL (2% of the rows start so), \`updated_at\` in 50 ms steps so that many rows tie on the key across STATEs. Runs end at random moments: the tap's backend terminated (\`pg_terminate_backend\`, ${w.counts.connectionKills ?? 0}×), the tap killed with SIGKILL (${w.counts.tapKills ?? 0}×), the target killed with SIGKILL (${w.counts.targetKills ?? 0}×); each time the pipe runs again from the state file, and no run may hang (${w.counts.hangs ?? 0} did). Once the writer stops, one last run goes to the end. Then the sandbox must hold exactly the table: one engagement per row with the payload the mapping makes of the row as it is now (${fmt.int(w.counts.rowsAtEnd ?? 0)} rows: ${w.counts.missing ?? 0} missing, ${w.counts.stale ?? 0} stale, ${w.counts.unexpected ?? 0} unexpected). The sandbox has the faults of leg 1.`,
    '',
    ...w.report.map((l) => `- ${l}`),
    '',
    ...countsTable(w.counts, w.sandbox),
    ...problemsList('tap-warehouse leg', w.problems),
  ];
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
    const problems = [...isolation.problems, ...isolation.batch.problems.map((p) => `batch: ${p}`), ...isolation.sigterm.problems.map((p) => `sigterm: ${p}`), ...isolation.tap.problems.map((p) => `tap: ${p}`)];
    if (!isolation.pass && problems.length > 0) lines.push(...problems.map((p) => `- ${p}`), '');
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
