import { join } from 'node:path';
import { DEFAULT_SANDBOX_TOKEN } from '../connector/sandbox/index.js';
import { benchScript, childFailure, runChild, targetCli } from './child.js';
import { fmt, sandboxWith, statePositionTracker, type BenchContext } from './context.js';
import { DeliveryWindow } from './delivery-window.js';
import type { Figure } from './report.js';
import { Dataset } from './singer-data.js';
import { defaultMappingFile, writeTargetConfig } from './target-config.js';

/**
 * Figure 2, latency-bound delivery: a sandbox that takes 100 ms per request and has no rate limit, so the
 * only bound is concurrency × batch size / latency. And figure 6, the naive baseline against the same
 * sandbox: one PUT per record, one after the other, as a hand-written script does.
 */

export const LATENCY_MS = 100;
export const LATENCY_GOAL_SHARE = 0.9;
const BATCH_SIZE = 100;
const CONCURRENCY = 4;

export interface LatencyOutcome {
  figure: Figure;
  itemsPerSecond: number;
}

export async function latencyFigure(ctx: BenchContext): Promise<LatencyOutcome> {
  const records = ctx.quick ? 2_000 : 40_000;
  const dataset = new Dataset({ records, seed: 21 });
  const file = join(ctx.dir, 'latency.jsonl');
  dataset.writeFile(file);
  const sandbox = await sandboxWith({ latencyMs: LATENCY_MS, rateLimitPerMinute: 0 });
  try {
    const config = writeTargetConfig(ctx.dir, 'latency', sandbox.url, {
      batch_size: BATCH_SIZE,
      max_concurrency: CONCURRENCY,
      // The sandbox has no limit here; the client-side limit must not be what is measured either.
      rate_limit_per_minute: 10_000_000,
    });
    ctx.progress(`latency-bound: ${fmt.int(records)} records, sandbox latency ${LATENCY_MS} ms`);
    const window = new DeliveryWindow(sandbox, records);
    const states = statePositionTracker();
    const run = await runChild({ script: targetCli, args: ['--config', config, '--input', file], onStdoutLine: states.onLine });
    const windowMs = window.stop();
    if (run.code !== 0) throw childFailure('target (latency-bound)', run);
    const stored = sandbox.engagements().length;
    if (stored !== records || windowMs === undefined) throw new Error(`latency-bound run: sandbox holds ${stored} engagements, expected ${records}`);
    const ceiling = (CONCURRENCY * BATCH_SIZE) / (LATENCY_MS / 1000);
    const rate = records / (windowMs / 1000);
    const share = rate / ceiling;
    const endToEnd = records / (run.wallMs / 1000);
    const stats = sandbox.stats();
    const pass = share >= LATENCY_GOAL_SHARE;
    ctx.progress(`latency-bound: ${fmt.int(rate)} items/s (${fmt.pct(share)} of ${fmt.int(ceiling)})`);
    const notes: string[] = [];
    if (!pass) {
      notes.push(
        `Below the goal: with ${CONCURRENCY} requests of ${BATCH_SIZE} items always in flight the rate would be ${fmt.int(ceiling)} items/s; the gap is time when fewer than ${CONCURRENCY} requests were in flight (the pipeline not refilling batches fast enough, or the sandbox, which runs in the bench process and validates every item against Siro's schema, being busy). Check the CPU-path figure: if the target makes fewer than ${fmt.int(ceiling)} payloads per second, CPU is the bound.`,
      );
    }
    return {
      itemsPerSecond: rate,
      figure: {
        id: 'latency-bound',
        title: 'Latency-bound delivery (sandbox 100 ms per request, no rate limit)',
        result: `${fmt.int(rate)} items/s, ${fmt.pct(share)} of the ceiling ${fmt.int(ceiling)} items/s`,
        goal: `≥ ${fmt.pct(LATENCY_GOAL_SHARE)} of max_concurrency × batch_size / latency`,
        status: pass ? 'PASS' : 'MISS',
        method: [
          `${fmt.int(records)} records through the real CLI to the in-process sandbox (latency ${LATENCY_MS} ms per request, rate limit off), batch_size ${BATCH_SIZE}, max_concurrency ${CONCURRENCY}, client rate limit set out of the way. Ceiling: ${CONCURRENCY} × ${BATCH_SIZE} / ${LATENCY_MS / 1000} s = ${fmt.int(ceiling)} items/s.`,
          'Rate = items / delivery window, the window running from the first request the sandbox receives to the moment it has written the last item (sampled every 5 ms). The end-to-end rate below also counts process start and the last state.',
        ],
        details: {
          records,
          'batch_size': BATCH_SIZE,
          'max_concurrency': CONCURRENCY,
          'sandbox latency, ms': LATENCY_MS,
          'ceiling, items/s': ceiling,
          'delivery window, s': windowMs / 1000,
          'items/s (window)': Math.round(rate),
          'share of ceiling': Math.round(share * 1000) / 1000,
          'end-to-end wall time, s': run.wallMs / 1000,
          'items/s end to end': Math.round(endToEnd),
          'requests': stats.requests,
          '429 answers': stats.throttled,
          'last state position': states.last,
        },
        notes,
      },
    };
  } finally {
    await sandbox.close();
  }
}

export async function naiveFigure(ctx: BenchContext, targetItemsPerSecond: number | undefined): Promise<Figure> {
  const records = ctx.quick ? 5 : 200;
  const dataset = new Dataset({ records, seed: 61 });
  const file = join(ctx.dir, 'naive.jsonl');
  dataset.writeFile(file);
  const sandbox = await sandboxWith({ latencyMs: LATENCY_MS, rateLimitPerMinute: 0 });
  try {
    ctx.progress(`naive baseline: ${records} records, one PUT each, sequential`);
    const run = await runChild({
      script: benchScript('naive.js'),
      args: ['--input', file, '--base-url', sandbox.url, '--mappings', defaultMappingFile],
      env: { BENCH_SIRO_TOKEN: DEFAULT_SANDBOX_TOKEN.token },
    });
    if (run.code !== 0) throw childFailure('naive baseline', run);
    const out = JSON.parse(run.stdout) as { records: number; ok: number; failed: number; ms: number };
    if (out.ok !== records) throw new Error(`naive baseline delivered ${out.ok} of ${records} records (${out.failed} failed)`);
    const rate = out.ok / (out.ms / 1000);
    const ratio = targetItemsPerSecond !== undefined ? targetItemsPerSecond / rate : undefined;
    ctx.progress(`naive baseline: ${rate.toFixed(1)} items/s`);
    return {
      id: 'naive-baseline',
      title: 'Naive baseline: one PUT per record, sequential (same 100 ms sandbox)',
      result:
        ratio !== undefined
          ? `naive ${rate.toFixed(1)} items/s; target ${fmt.int(targetItemsPerSecond!)} items/s = ${fmt.int(ratio)}× faster`
          : `naive ${rate.toFixed(1)} items/s (no target figure to compare with)`,
      goal: 'none (reference): the ratio target / naive',
      status: ratio !== undefined ? 'INFO' : 'NOT MEASURED',
      method: [
        `\`node dist/bench/naive.js\`: reads the Singer file with readline, maps each record with the same mapping module (mappings/default.yml), and sends it with \`fetch\` to the single-item endpoint PUT /v1/integrations/sync/engagements, awaiting each answer before the next: what a hand-written sync script does. ${records} records against a sandbox with the same ${LATENCY_MS} ms latency as figure 2; its ceiling is 1 / latency = ${1000 / LATENCY_MS} items/s.`,
      ],
      details: {
        records,
        'naive time, s': out.ms / 1000,
        'naive items/s': Math.round(rate * 100) / 100,
        'target items/s (figure 2)': targetItemsPerSecond !== undefined ? Math.round(targetItemsPerSecond) : null,
        'target / naive': ratio !== undefined ? Math.round(ratio) : null,
      },
      notes: [],
    };
  } finally {
    await sandbox.close();
  }
}
