import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { benchScript, childFailure, runChild, targetCli, type ChildResult } from './child.js';
import { fmt, statePositionTracker, type BenchContext } from './context.js';
import { hotSpots } from './profile.js';
import { gap, share3, type Figure } from './report.js';
import { Dataset } from './singer-data.js';
import { hasSetting, writeTargetConfig } from './target-config.js';

/**
 * Figures 1 and 2, the CPU path: the target in dry-run mode (parse, validate against the stream schema, map,
 * check against Siro's schema, serialise each payload to /dev/null) over a big Singer file, as a share of
 * the raw reference measured on the same file in the same run: node's readline and JSON.parse per line
 * (raw-parse.ts). Figure 1 runs the target with its default settings (ledger on, as users get it), figure 2
 * with `ledger: false`, each against its own goal. Runs alternate so drift of a shared machine hits all of
 * them; the best run of each counts. A figure that misses its goal gets a CPU profile of its own run on a
 * prefix of the input, so the results say where the time goes.
 */

export const CPU_GOAL_SHARE_OF_RAW = 0.5;
export const CPU_NO_LEDGER_GOAL_SHARE_OF_RAW = 0.65;
/** A second round only when a target run is short enough to afford it within the bench's budget. */
const SECOND_ROUND_MAX_MS = 30_000;
/** Enough records for a profile whose shares are stable; quick mode only proves the profile is taken. */
const PROFILE_RECORDS = 100_000;
const QUICK_PROFILE_RECORDS = 2_000;

export interface Run {
  wallMs: number;
  cpuMs: number;
  maxRssBytes: number;
}

export function runOf(r: ChildResult): Run {
  return { wallMs: r.wallMs, cpuMs: r.usage ? r.usage.userMs + r.usage.systemMs : NaN, maxRssBytes: r.usage?.maxRssBytes ?? NaN };
}

export const best = (runs: Run[]): Run => runs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));

/** One run of the raw reference over `file`, checked to have read `records` RECORD lines. */
export async function rawParse(file: string, records: number): Promise<Run> {
  const r = await runChild({ script: benchScript('raw-parse.js'), args: [file], measureUsage: true });
  if (r.code !== 0) throw childFailure('raw-parse', r);
  const counted = (JSON.parse(r.stdout) as { records: number }).records;
  if (counted !== records) throw new Error(`raw-parse read ${counted} records, expected ${records}`);
  return runOf(r);
}

export const RAW_METHOD =
  "Raw reference: `node dist/bench/raw-parse.js FILE`, node's `readline` (`createInterface` over `fs.createReadStream`, `crlfDelay: Infinity`) and `JSON.parse` per line, nothing else: the limit of any JavaScript program that reads Singer, independent of the target's own line reader.";

interface Variant {
  id: string;
  title: string;
  label: string;
  goal: number;
  config: string;
  runs: Run[];
}

export async function cpuPathFigures(ctx: BenchContext, file: string, records: number, bytes: number, seed: number): Promise<Figure[]> {
  const withLedgerSwitch = hasSetting('ledger');
  const variants: Variant[] = [
    {
      id: 'cpu-path',
      title: 'CPU path, default settings (dry run: parse + validate + map + serialise, ledger on)',
      label: 'default settings',
      goal: CPU_GOAL_SHARE_OF_RAW,
      config: writeTargetConfig(ctx.dir, 'cpu', undefined),
      runs: [],
    },
    ...(withLedgerSwitch
      ? [
          {
            id: 'cpu-path-no-ledger',
            title: 'CPU path with `ledger: false` (dry run)',
            label: 'ledger: false',
            goal: CPU_NO_LEDGER_GOAL_SHARE_OF_RAW,
            config: writeTargetConfig(ctx.dir, 'cpu-no-ledger', undefined, { ledger: false }),
            runs: [],
          },
        ]
      : []),
  ];

  const runTarget = async (config: string, what: string, extra: { nodeArgs?: string[]; input?: string; records?: number } = {}) => {
    const states = statePositionTracker();
    const t = await runChild({
      script: targetCli,
      args: ['--config', config, '--input', extra.input ?? file, '--dry-run', '--dry-run-output', '/dev/null'],
      nodeArgs: extra.nodeArgs,
      measureUsage: true,
      onStdoutLine: states.onLine,
    });
    if (t.code !== 0) throw childFailure(what, t);
    const expected = extra.records ?? records;
    if (states.last !== expected) throw new Error(`${what} printed state up to record ${states.last}, expected ${expected}`);
    return runOf(t);
  };

  const raw: Run[] = [];
  const rounds = ctx.quick ? 1 : 2;
  for (let round = 1; round <= rounds; round++) {
    ctx.progress(`cpu path: raw readline + JSON.parse, round ${round}`);
    raw.push(await rawParse(file, records));
    for (const v of variants) {
      ctx.progress(`cpu path: target --dry-run (${v.label}), round ${round}`);
      v.runs.push(await runTarget(v.config, `target --dry-run (${v.label})`));
    }
    ctx.progress(`cpu path: raw ${fmt.s(raw.at(-1)!.wallMs)}, ${variants.map((v) => `${v.label} ${fmt.s(v.runs.at(-1)!.wallMs)}`).join(', ')}`);
    if (variants[0]!.runs.at(-1)!.wallMs > SECOND_ROUND_MAX_MS) break;
  }
  const bestRaw = best(raw);
  const rate = (run: Run) => records / (run.wallMs / 1000);
  const rawRate = rate(bestRaw);

  // A profile per missed figure, over one prefix of the input.
  const profileRecords = Math.min(records, ctx.quick ? QUICK_PROFILE_RECORDS : PROFILE_RECORDS);
  let prefix: string | undefined;
  const profile = async (v: Variant): Promise<string[]> => {
    if (!prefix) new Dataset({ records: profileRecords, seed }).writeFile((prefix = join(ctx.dir, 'cpu-prefix.jsonl')));
    const profileDir = join(ctx.dir, `${v.id}-profile`);
    mkdirSync(profileDir, { recursive: true });
    ctx.progress(`cpu path: profiling the dry run (${v.label}) on ${fmt.int(profileRecords)} records`);
    await runTarget(v.config, `target --dry-run --cpu-prof (${v.label})`, {
      nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profileDir],
      input: prefix,
      records: profileRecords,
    });
    return hotSpots(profileDir, 12).map((h) => `| ${h.where.replace(/\|/g, '\\|')} | ${h.selfMs.toFixed(0)} | ${fmt.pct(h.share)} |`);
  };

  const byId = new Map(variants.map((v) => [v.id, v]));
  const defaults = byId.get('cpu-path')!;
  const noLedger = byId.get('cpu-path-no-ledger');
  const figures: Figure[] = [];
  let profiled = false;
  for (const v of variants) {
    const bestRun = best(v.runs);
    const targetRate = rate(bestRun);
    const share = targetRate / rawRate;
    const pass = share >= v.goal;
    // Quick mode only proves that a profile is taken and read: one is enough (each costs a process start).
    const profileLines = pass || (ctx.quick && profiled) ? [] : await profile(v);
    if (!pass) profiled = true;
    const notes: string[] = [];
    if (!pass) {
      notes.push(
        [
          `The pipeline costs ${(rawRate / targetRate).toFixed(1)}× the raw parse; the goal allows ${(1 / v.goal).toFixed(2)}×.`,
          ...(profileLines.length > 0 ? [`The profile above (self time, ${v.label}) shows where the time goes.`] : []),
          ...(v === defaults && noLedger ? [`Figure \`cpu-path-no-ledger\` (${fmt.int(rate(best(noLedger.runs)))} records/s) shows the ledger's share.`] : []),
          'What was tried against it is listed under "What was tried".',
        ].join(' '),
      );
      if (ctx.quick) notes.push('Quick mode: small inputs are dominated by process start and module loading.');
    }
    if (v === defaults && noLedger) {
      const off = best(noLedger.runs);
      if (bestRun.maxRssBytes > off.maxRssBytes * 1.5) {
        notes.push(`Memory of the dry run: peak RSS ${fmt.mb(bestRun.maxRssBytes)} with the ledger on against ${fmt.mb(off.maxRssBytes)} with it off, over the same ${fmt.int(records)} records.`);
      }
    }
    notes.push(
      'Wall time of each child process from spawn to exit, so process start and module loading (config, mapping compilation, spec validators) count against the target; the children are single-threaded JavaScript (V8 collects garbage partly on a helper thread, which the CPU-time line shows).',
    );
    const headline = pass ? `${share3(share)} of raw` : gap(share, v.goal, 'at least', share3);
    ctx.progress(`cpu path (${v.label}): ${fmt.int(targetRate)} records/s, share of raw ${share3(share)}`);
    figures.push({
      id: v.id,
      title: v.title,
      result: `${headline} (${fmt.int(targetRate)} records/s against raw ${fmt.int(rawRate)} records/s)`,
      goal: `share of the raw readline + JSON.parse rate ≥ ${v.goal.toFixed(2)}`,
      status: pass ? 'PASS' : 'MISS',
      method: [
        `Input: ${fmt.int(records)} generated \`public-calls\` RECORD messages for the shipped mappings/default.yml (${fmt.mb(bytes)}, ${fmt.int(bytes / records)} bytes per line on average: tap-postgres column names and envelope with \`time_extracted\`; 20% of ids above 2^53, timestamps with microseconds and offsets, names with accents, notes, addresses, emails, a JSON-text column, nulls), with a STATE every 1,000 records.`,
        `Target: \`node dist/connector/cli.js --config … --input FILE --dry-run --dry-run-output /dev/null\` with ${v === defaults ? `default settings (record validation on${withLedgerSwitch ? ', ledger on' : ''})` : 'default settings except `ledger: false`'}. ${RAW_METHOD} ${raw.length} alternating round(s) of raw, default and ledger-off runs${ctx.quick ? '' : ` (the second only when a default run takes under ${SECOND_ROUND_MAX_MS / 1000} s)`}; the fastest run of each counts. Share = target records/s ÷ raw records/s.`,
        ...(profileLines.length > 0
          ? [`Where this dry run spends its time (CPU profile over the first ${fmt.int(profileRecords)} records, self time):\n\n| Function | Self ms | Share |\n|---|---|---|\n${profileLines.join('\n')}`]
          : []),
      ],
      details: {
        records,
        'input bytes per record': Math.round(bytes / records),
        'share of raw': Math.round(share * 1000) / 1000,
        'target wall time (best), s': bestRun.wallMs / 1000,
        'target records/s': Math.round(targetRate),
        'target CPU time (user+sys), s': bestRun.cpuMs / 1000,
        'target records per CPU-second': Math.round(records / (bestRun.cpuMs / 1000)),
        'target peak RSS, MB': Math.round(bestRun.maxRssBytes / 2 ** 20),
        'raw wall time (best), s': bestRaw.wallMs / 1000,
        'raw records/s': Math.round(rawRate),
        'raw MB/s': Math.round(bytes / 2 ** 20 / (bestRaw.wallMs / 1000)),
        'raw peak RSS, MB': Math.round(bestRaw.maxRssBytes / 2 ** 20),
        'all target runs, s': v.runs.map((r) => (r.wallMs / 1000).toFixed(2)).join(', '),
        'all raw runs, s': raw.map((r) => (r.wallMs / 1000).toFixed(2)).join(', '),
      },
      notes,
    });
  }
  if (!noLedger) {
    figures.push({
      id: 'cpu-path-no-ledger',
      title: 'CPU path with `ledger: false` (dry run)',
      result: 'not measured: the target has no `ledger` setting',
      goal: `share of the raw readline + JSON.parse rate ≥ ${CPU_NO_LEDGER_GOAL_SHARE_OF_RAW.toFixed(2)}`,
      status: 'NOT MEASURED',
      method: ['The target has no `ledger` setting (connector/config/settings.ts), so there is no ledger to turn off.'],
      details: {},
      notes: [],
    });
  }
  return figures;
}
