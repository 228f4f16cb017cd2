import { join } from 'node:path';
import type { Sandbox } from '../connector/sandbox/index.js';
import { childFailure, readProcStatus, runChild, startChild, targetCli } from './child.js';
import { fmt, sandboxWith, statePositionTracker, type BenchContext } from './context.js';
import { DeliveryWindow } from './delivery-window.js';
import { gap, type Figure } from './report.js';
import { Dataset } from './singer-data.js';
import { writeTargetConfig } from './target-config.js';

/**
 * Figure 4, memory: the kernel's peak RSS of the target delivering to a Siro (the sandbox) that answers
 * each request after 40 ms, with default settings, at 100k, 300k and 1M records. The sandbox is slower
 * than the target can read and map, so every run is under backpressure from start to end: the target must
 * stop reading instead of buffering the input, and its peak must not grow with the input. Peak RSS is the
 * larger of the child's own getrusage maxrss at exit (usage probe) and VmHWM sampled from /proc/<pid>/status
 * while it runs.
 */

export const MEMORY_GOAL_BYTES = 150 * 2 ** 20;
/** Flat: the peak at the largest size at most this much above the peak at the smallest. */
export const MEMORY_FLAT_MAX_GROWTH = 0.1;
const LATENCY_MS = 40;
/** The target's defaults (connector/config/settings.ts), for the ceiling in the method text only: the runs do not set them. */
const DEFAULT_BATCH_SIZE = 100;
const DEFAULT_CONCURRENCY = 4;
const CEILING = (DEFAULT_CONCURRENCY * DEFAULT_BATCH_SIZE) / (LATENCY_MS / 1000);
/** The client's default of 1000 requests/min would make the 1M run take 17 minutes and measure the limiter, not memory. */
const RATE_LIMIT_OUT_OF_THE_WAY = 10_000_000;
/** The sandbox keeps every payload; emptied now and then so the bench process stays small. */
const FORGET_EVERY_ITEMS = 100_000;

interface SizeRun {
  records: number;
  peak: number;
  usagePeak: number | undefined;
  polledPeak: number | undefined;
  wallMs: number;
  cpuMs: number | undefined;
  itemsPerSecond: number;
  /** At each tenth of the items delivered: seconds since start, VmRSS and VmHWM (running peak). */
  tenths: { s: number; rss: number; hwm: number }[];
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

export async function memoryFigure(ctx: BenchContext, file: string, records: number, seed: number): Promise<Figure> {
  const sizes = ctx.quick ? [500, 1_000, 2_000] : [100_000, 300_000, 1_000_000];
  const sandbox = await sandboxWith({ latencyMs: LATENCY_MS, rateLimitPerMinute: 0 });
  try {
    // The same run over a single record: what the process costs before any input is held (full runs only:
    // in quick mode every size is close to it anyway).
    let baseline: number | undefined;
    if (!ctx.quick) {
      const tiny = join(ctx.dir, 'memory-baseline.jsonl');
      new Dataset({ records: 1, seed }).writeFile(tiny);
      const config = writeTargetConfig(ctx.dir, 'memory-baseline', sandbox.url, { rate_limit_per_minute: RATE_LIMIT_OUT_OF_THE_WAY });
      const run = await runChild({ script: targetCli, args: ['--config', config, '--input', tiny], measureUsage: true, pollRss: true });
      if (run.code !== 0) throw childFailure('target (memory baseline)', run);
      baseline = Math.max(run.usage?.maxRssBytes ?? 0, run.polledPeakRssBytes ?? 0);
      sandbox.reset();
      ctx.progress(`memory: baseline (1 record) peak RSS ${fmt.mb(baseline)}`);
    }
    const runs: SizeRun[] = [];
    for (const size of sizes) {
      // Smaller sizes are prefixes of the big input: the same seed gives the same first records.
      let input = file;
      if (size !== records) {
        input = join(ctx.dir, `memory-${size}.jsonl`);
        new Dataset({ records: size, seed }).writeFile(input);
      }
      runs.push(await runSize(ctx, sandbox, input, size));
    }

    const smallest = runs[0]!;
    const largest = runs.at(-1)!;
    const worst = runs.reduce((a, b) => (b.peak > a.peak ? b : a));
    const growth = largest.peak / smallest.peak - 1;
    const underGoal = runs.every((r) => r.peak > 0 && r.peak <= MEMORY_GOAL_BYTES);
    const flat = growth <= MEMORY_FLAT_MAX_GROWTH;
    const pass = underGoal && flat;
    const peaks = `${runs.map((r) => fmt.mb(r.peak)).join(' / ')} at ${runs.map((r) => fmt.int(r.records)).join(' / ')} records`;
    const misses: string[] = [];
    if (!underGoal) misses.push(`largest peak ${gap(worst.peak, MEMORY_GOAL_BYTES, 'at most', fmt.mb)} (at ${fmt.int(worst.records)})`);
    if (!flat) {
      // A share of a share ("180% over") reads badly: the gap of a growth is in percentage points.
      const points = (n: number) => `+${(n * 100).toFixed(0)}%`;
      misses.push(
        `peak ${fmt.int(smallest.records)} → ${fmt.int(largest.records)} ${points(growth)}, goal ≤ ${points(MEMORY_FLAT_MAX_GROWTH)}: ${((growth - MEMORY_FLAT_MAX_GROWTH) * 100).toFixed(1)} percentage points over`,
      );
    }
    const timeline = (r: SizeRun) => r.tenths.map((t, i) => `${(i + 1) * 10}%: ${mb(t.rss)} MB at ${t.s.toFixed(1)} s`).join(', ');

    const notes: string[] = [];
    if (!pass) {
      const rising = largest.tenths.length >= 6 && avg(largest.tenths.slice(-3).map((t) => t.rss)) > avg(largest.tenths.slice(0, 3).map((t) => t.rss)) * 1.25;
      notes.push(
        rising
          ? `RSS grows with the input over the ${fmt.int(largest.records)}-record run (${largest.tenths.map((t) => mb(t.rss)).join(', ')} MB at each tenth): something keeps per-record state for the whole run. A heap snapshot late in a run (\`node --heapsnapshot-signal=SIGUSR2\`) shows what.`
          : `RSS does not grow through the ${fmt.int(largest.records)}-record run (${largest.tenths.map((t) => mb(t.rss)).join(', ')} MB at each tenth), so what is over the goal is a fixed cost, not a leak: the process baseline (node, the loaded modules, compiled validators and mapping${baseline ? `: ${fmt.mb(baseline)} for a run of one record with the same settings` : ''}), the unfinished items the Siro sink holds under backpressure (records, payloads, serialised batches), the ledger's buffers, and the V8 heap's headroom between collections. What was tried against it is listed under "What was tried".`,
      );
      if (ctx.quick) notes.push('Quick mode: tiny inputs, so every size is close to the process baseline and "flat" means little.');
    }

    return {
      id: 'memory',
      title: `Memory: peak RSS delivering to a ${LATENCY_MS} ms sandbox (backpressure), default settings`,
      result: pass ? `peaks ${peaks}` : `${misses.join('; ')}; peaks ${peaks}`,
      goal: `≤ ${fmt.mb(MEMORY_GOAL_BYTES)} at every size, and flat: the ${fmt.int(largest.records)}-record peak at most ${fmt.pct(MEMORY_FLAT_MAX_GROWTH)} above the ${fmt.int(smallest.records)}-record peak`,
      status: pass ? 'PASS' : 'MISS',
      method: [
        `The CPU-path input (the smaller sizes are its first records) sent by the real CLI to the in-process sandbox with ${LATENCY_MS} ms latency per request and no server rate limit, with the target's default settings (ledger on, batch_size ${DEFAULT_BATCH_SIZE}, max_concurrency ${DEFAULT_CONCURRENCY}: not set in the config) except \`rate_limit_per_minute: ${fmt.int(RATE_LIMIT_OUT_OF_THE_WAY)}\`, which takes the client limiter out of the way (its default of 1000 requests/min, ${fmt.int(1000 * DEFAULT_BATCH_SIZE)} items/min at the default batch_size, would make 1,000,000 records take ${Math.round(1_000_000 / DEFAULT_BATCH_SIZE / 1000)} minutes and the limiter, not the backpressure, bound the run). At most ${DEFAULT_CONCURRENCY} × ${DEFAULT_BATCH_SIZE} / ${LATENCY_MS / 1000} s = ${fmt.int(CEILING)} items/s can leave, so whenever the target reads and maps faster than that it is held back by the sink and must stop reading (the items/s below show how close each run came to that ceiling: well below it, the target's own CPU path was the bound rather than the latency). Each size runs on a fresh ledger.`,
        'Peak RSS is the kernel\'s, of the target process: the larger of its getrusage maxrss at exit (written by the preloaded usage probe) and VmHWM sampled from /proc/<pid>/status every 100 ms. The timeline reads VmRSS when the sandbox has received each tenth of the items.',
      ],
      details: {
        ...Object.fromEntries(runs.map((r) => [`peak RSS at ${fmt.int(r.records)} records, MB`, mb(r.peak)])),
        'largest peak RSS, MB': mb(worst.peak),
        [`growth of the peak ${fmt.int(smallest.records)} → ${fmt.int(largest.records)}`]: `${(growth * 100).toFixed(1)}%`,
        ...(baseline ? { 'peak RSS of the same run over 1 record, MB': mb(baseline) } : {}),
        ...Object.fromEntries(runs.map((r) => [`${fmt.int(r.records)}: getrusage / VmHWM sampled, MB`, `${r.usagePeak ? mb(r.usagePeak) : '?'} / ${r.polledPeak ? mb(r.polledPeak) : '?'}`])),
        ...Object.fromEntries(runs.map((r) => [`${fmt.int(r.records)}: wall time, s / items/s / CPU s`, `${(r.wallMs / 1000).toFixed(1)} / ${fmt.int(r.itemsPerSecond)} / ${r.cpuMs !== undefined ? (r.cpuMs / 1000).toFixed(1) : '?'}`])),
        'delivery ceiling of this setup, items/s': CEILING,
        [`RSS timeline of the ${fmt.int(largest.records)}-record run (VmRSS at each tenth delivered)`]: timeline(largest),
        [`running peak (VmHWM) at each tenth of the ${fmt.int(largest.records)}-record run, MB`]: largest.tenths.map((t) => mb(t.hwm)).join(', '),
        ...Object.fromEntries(runs.slice(0, -1).map((r) => [`RSS at each tenth of the ${fmt.int(r.records)}-record run, MB`, r.tenths.map((t) => mb(t.rss)).join(', ')])),
      },
      notes,
    };
  } finally {
    await sandbox.close();
  }
}

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function runSize(ctx: BenchContext, sandbox: Sandbox, input: string, records: number): Promise<SizeRun> {
  sandbox.reset();
  const config = writeTargetConfig(ctx.dir, `memory-${records}`, sandbox.url, { rate_limit_per_minute: RATE_LIMIT_OUT_OF_THE_WAY });
  ctx.progress(`memory: ${fmt.int(records)} records, sandbox latency ${LATENCY_MS} ms, default settings`);
  const tenths: SizeRun['tenths'] = [];
  let pid: number | undefined;
  const started = performance.now();
  const window: DeliveryWindow = new DeliveryWindow(
    sandbox,
    records,
    (written) => {
      if (sandbox.stats().itemsWritten >= FORGET_EVERY_ITEMS) window.forget();
      const tenth = Math.min(10, Math.floor((written / records) * 10));
      while (tenths.length < tenth) {
        const rss = readProcStatus(pid, 'VmRSS');
        if (rss === undefined) break; // already exited (the last tenth of a tiny run): no reading to take
        tenths.push({ s: (performance.now() - started) / 1000, rss, hwm: readProcStatus(pid, 'VmHWM') ?? rss });
        if (!ctx.quick) ctx.progress(`memory: ${fmt.int(records)}: ${tenths.length * 10}% delivered, RSS ${fmt.mb(rss)}`);
      }
    },
    20,
  );
  const states = statePositionTracker();
  const running = startChild({ script: targetCli, args: ['--config', config, '--input', input], measureUsage: true, pollRss: true, onStdoutLine: states.onLine });
  pid = running.child.pid;
  const run = await running.done;
  const windowMs = window.stop();
  if (run.code !== 0) throw childFailure(`target (memory, ${records} records)`, run);
  if (states.last !== records) throw new Error(`memory run of ${records}: last state ${states.last}, expected ${records}`);
  if (window.written !== records) throw new Error(`memory run of ${records}: the sandbox received ${window.written} items`);
  const peak = Math.max(run.usage?.maxRssBytes ?? 0, run.polledPeakRssBytes ?? 0);
  ctx.progress(`memory: ${fmt.int(records)} records: peak RSS ${fmt.mb(peak)}`);
  return {
    records,
    peak,
    usagePeak: run.usage?.maxRssBytes,
    polledPeak: run.polledPeakRssBytes,
    wallMs: run.wallMs,
    cpuMs: run.usage ? run.usage.userMs + run.usage.systemMs : undefined,
    itemsPerSecond: windowMs ? records / (windowMs / 1000) : NaN,
    tenths,
  };
}
