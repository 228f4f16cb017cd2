import { childFailure, runChild, targetCli } from './child.js';
import { fmt, sandboxWith, statePositionTracker, type BenchContext } from './context.js';
import { DeliveryWindow } from './delivery-window.js';
import type { Figure } from './report.js';
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
    ctx.progress(`memory: ${fmt.int(records)} records, sandbox latency ${LATENCY_MS} ms, batch_size ${BATCH_SIZE}`);
    let nextReport = 100_000;
    const window: DeliveryWindow = new DeliveryWindow(sandbox, records, (written) => {
      if (sandbox.stats().itemsWritten >= FORGET_EVERY_ITEMS) window.forget();
      if (written >= nextReport) {
        ctx.progress(`memory: ${fmt.int(written)} items delivered`);
        nextReport += 100_000;
      }
    }, 20);
    const states = statePositionTracker();
    const run = await runChild({
      script: targetCli,
      args: ['--config', config, '--input', file],
      measureUsage: true,
      pollRss: true,
      onStdoutLine: states.onLine,
    });
    const windowMs = window.stop();
    if (run.code !== 0) throw childFailure('target (memory)', run);
    if (states.last !== records) throw new Error(`memory run: last state ${states.last}, expected ${records}`);
    const peak = Math.max(run.usage?.maxRssBytes ?? 0, run.polledPeakRssBytes ?? 0);
    const rate = windowMs ? records / (windowMs / 1000) : NaN;
    const ceiling = (CONCURRENCY * BATCH_SIZE) / (LATENCY_MS / 1000);
    const pass = peak > 0 && peak < MEMORY_GOAL_BYTES;
    ctx.progress(`memory: peak RSS ${fmt.mb(peak)}`);
    const notes: string[] = [];
    if (!pass) {
      notes.push(
        `Peak RSS above the goal. Under backpressure the target holds at most max(64, batch_size × max_concurrency × 4) = ${fmt.int(Math.max(64, BATCH_SIZE * CONCURRENCY * 4))} unfinished items (the Siro sink's queue limit) plus the input stream's buffer; if the peak is above the goal, either that queue (lower it, or count it in bytes) or the V8 heap's lazy collection (try --max-semi-space-size / --max-old-space-size) is the cause. A heap snapshot near the peak (node --heapsnapshot-near-heap-limit) shows which.`,
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
        'peak RSS (VmHWM sampled), MB': run.polledPeakRssBytes ? Math.round(run.polledPeakRssBytes / 2 ** 20) : null,
        'wall time, s': run.wallMs / 1000,
        'items/s (delivery window)': Math.round(rate),
        'ceiling of this setup, items/s': ceiling,
        'CPU time (user+sys), s': run.usage ? (run.usage.userMs + run.usage.systemMs) / 1000 : null,
        'items written by the sandbox': window.written,
      },
      notes,
    };
  } finally {
    await sandbox.close();
  }
}
