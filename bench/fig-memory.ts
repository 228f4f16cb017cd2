import { join } from 'node:path';
import { childFailure, readProcStatus, runChild, startChild, targetCli } from './child.js';
import { fmt, sandboxWith, statePositionTracker, type BenchContext } from './context.js';
import { DeliveryWindow } from './delivery-window.js';
import type { Figure } from './report.js';
import { Dataset } from './singer-data.js';
import { writeTargetConfig } from './target-config.js';

/**
 * Figure 4, memory: peak RSS of the target over the big input while Siro (the sandbox) is slower than the
 * target can map, so the whole run is under backpressure. The target must stop reading instead of
 * buffering the input. Peak RSS comes from the child itself at exit (getrusage maxrss) and from sampling
 * /proc/<pid>/status (VmHWM) while it runs.
 */

export const MEMORY_GOAL_BYTES = 256 * 2 ** 20;
const LATENCY_MS = 50;
const BATCH_SIZE = 500;
const CONCURRENCY = 4;
/** The sandbox keeps every payload; emptied now and then so the bench process stays small. */
const FORGET_EVERY_ITEMS = 100_000;

export async function memoryFigure(ctx: BenchContext, file: string, records: number): Promise<Figure> {
  const sandbox = await sandboxWith({ latencyMs: LATENCY_MS, rateLimitPerMinute: 0 });
  try {
    const config = writeTargetConfig(ctx.dir, 'memory', sandbox.url, {
      batch_size: BATCH_SIZE,
      max_concurrency: CONCURRENCY,
      rate_limit_per_minute: 10_000_000,
    });
    // The same run over a single record: what the process costs before any input is held.
    const tiny = join(ctx.dir, 'memory-baseline.jsonl');
    new Dataset({ records: 1, seed: 1 }).writeFile(tiny);
    const baselineRun = await runChild({ script: targetCli, args: ['--config', config, '--input', tiny], measureUsage: true });
    if (baselineRun.code !== 0) throw childFailure('target (memory baseline)', baselineRun);
    const baseline = baselineRun.usage?.maxRssBytes ?? NaN;
    sandbox.reset();
    ctx.progress(`memory: baseline (1 record) peak RSS ${fmt.mb(baseline)}; now ${fmt.int(records)} records, sandbox latency ${LATENCY_MS} ms, batch_size ${BATCH_SIZE}`);
    // RSS at each tenth of the input: flat means a fixed cost, rising means memory grows with the input.
    const rssAtTenth: (number | undefined)[] = [];
    let pid: number | undefined;
    const window: DeliveryWindow = new DeliveryWindow(sandbox, records, (written) => {
      if (sandbox.stats().itemsWritten >= FORGET_EVERY_ITEMS) window.forget();
      const tenth = Math.min(10, Math.floor((written / records) * 10));
      if (tenth >= 1 && rssAtTenth[tenth] === undefined) {
        rssAtTenth[tenth] = readProcStatus(pid, 'VmRSS') ?? 0;
        ctx.progress(`memory: ${fmt.int(written)} items delivered, RSS ${fmt.mb(rssAtTenth[tenth]!)}`);
      }
    }, 20);
    const states = statePositionTracker();
    const running = startChild({
      script: targetCli,
      args: ['--config', config, '--input', file],
      measureUsage: true,
      pollRss: true,
      onStdoutLine: states.onLine,
    });
    pid = running.child.pid;
    const run = await running.done;
    const windowMs = window.stop();
    if (run.code !== 0) throw childFailure('target (memory)', run);
    if (states.last !== records) throw new Error(`memory run: last state ${states.last}, expected ${records}`);
    const peak = Math.max(run.usage?.maxRssBytes ?? 0, run.polledPeakRssBytes ?? 0);
    const rate = windowMs ? records / (windowMs / 1000) : NaN;
    const ceiling = (CONCURRENCY * BATCH_SIZE) / (LATENCY_MS / 1000);
    const pass = peak > 0 && peak < MEMORY_GOAL_BYTES;
    ctx.progress(`memory: peak RSS ${fmt.mb(peak)}`);
    const timeline = rssAtTenth.slice(1).map((b) => (b ? Math.round(b / 2 ** 20) : NaN));
    const early = timeline.slice(0, 3).filter((v) => v > 0);
    const late = timeline.slice(-3).filter((v) => v > 0);
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const growing = early.length > 0 && late.length > 0 && avg(late) > avg(early) * 1.25;
    const notes: string[] = [];
    if (!pass) {
      notes.push(
        growing
          ? `Peak RSS above the goal, and RSS grows with the input (${timeline.join(', ')} MB at each tenth): something keeps per-record state for the whole run. A heap snapshot late in a run (\`node --heapsnapshot-signal=SIGUSR2\`) shows what.`
          : `Peak RSS above the goal, but RSS does not grow with the input (${timeline.join(', ')} MB at each tenth): it is a fixed cost, not a leak. It is made of the process baseline (node, the loaded modules, compiled validators and mapping: ${fmt.mb(baseline)} for a run of one record, measured with the same config), up to max(64, batch_size × max_concurrency × 4) = ${fmt.int(Math.max(64, BATCH_SIZE * CONCURRENCY * 4))} unfinished items held by the Siro sink under backpressure (records, payloads, serialised batches), and the V8 heap's headroom between collections. What would close it: a byte-based cap on the sink's queue (big batches × 4 × concurrency is a lot of payloads), a smaller young generation (\`--max-semi-space-size\`), or lazy loading of modules a run does not use.`,
      );
    }
    return {
      id: 'memory',
      title: 'Memory: peak RSS over a large input under backpressure',
      result: `peak RSS ${fmt.mb(peak)} over ${fmt.int(records)} records`,
      goal: `< ${fmt.mb(MEMORY_GOAL_BYTES)}`,
      status: pass ? 'PASS' : 'MISS',
      method: [
        `The CPU-path input (${fmt.int(records)} records) sent by the real CLI to the in-process sandbox with ${LATENCY_MS} ms latency per request, batch_size ${BATCH_SIZE}, max_concurrency ${CONCURRENCY}: at most ${fmt.int(ceiling)} items/s leave, less than the target can read and map, so it runs under backpressure from start to end. Peak RSS is the larger of the child's own getrusage maxrss at exit and VmHWM sampled from /proc every 100 ms.`,
      ],
      details: {
        records,
        'peak RSS (getrusage), MB': run.usage ? Math.round(run.usage.maxRssBytes / 2 ** 20) : null,
        'peak RSS of the same run over 1 record, MB': Math.round(baseline / 2 ** 20),
        'peak RSS (VmHWM sampled), MB': run.polledPeakRssBytes ? Math.round(run.polledPeakRssBytes / 2 ** 20) : null,
        'wall time, s': run.wallMs / 1000,
        'items/s (delivery window)': Math.round(rate),
        'ceiling of this setup, items/s': ceiling,
        'CPU time (user+sys), s': run.usage ? (run.usage.userMs + run.usage.systemMs) / 1000 : null,
        'items written by the sandbox': window.written,
        'RSS at each tenth of the input, MB': timeline.join(', '),
      },
      notes,
    };
  } finally {
    await sandbox.close();
  }
}
