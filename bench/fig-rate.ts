import { join } from 'node:path';
import { childFailure, runChild, targetCli } from './child.js';
import { fmt, sandboxWith, statePositionTracker, type BenchContext } from './context.js';
import { DeliveryWindow } from './delivery-window.js';
import { Expectations, readRejects } from './expectations.js';
import type { Figure } from './report.js';
import { Dataset } from './singer-data.js';
import { defaultMappingFile, writeTargetConfig } from './target-config.js';

/**
 * Figure 7, rate-limit-bound delivery. Two runs side by side (they are bound by the clock, not the CPU):
 *
 * A. The sandbox allows R requests per minute (sliding 60 s window, like Siro) and the target is
 *    configured to R: items/s against R × batch_size / 60, and the count of 429s (goal: none).
 * B. The sandbox allows only R/2 while the target is still configured to R (a token shared with another
 *    job, or a lower limit than documented): the 429s must stay few and nothing may be lost.
 *
 * Why these sizes: Siro's limit is a sliding window of 60 s. A run that sends fewer than R requests can
 * never be throttled, whatever its client does, so it proves nothing; a client that bursts (e.g. a token
 * bucket holding a minute of tokens) only gets caught once its requests of the last 60 s exceed R. So
 * run A sends 1.25 × R requests over about 75 s, which makes the window slide and fill: any burst or
 * drift above R shows up as 429s. R is scaled to 1200/min (20 requests/s, twice Siro's 1000) so that
 * the run carries enough requests to measure the rate to well under 1%, and batch_size is 10 so the
 * items are few enough to check one by one. Run B sends 1000 requests against a 600/min window: 600
 * fit in the first 30 s, then the window is full until its oldest requests age out (a Retry-After of
 * about 30 s), and the rest must go through without losing anything.
 */

const R = 1200;
const BATCH_SIZE = 10;
const CONCURRENCY = 4;
const SANDBOX_LATENCY_MS = 20;
export const RATE_GOAL_SHARE = 0.95;
export const HALF_RATE_MAX_429_SHARE = 0.02;

export async function rateLimitFigure(ctx: BenchContext): Promise<Figure> {
  const itemsA = ctx.quick ? 200 : 15_000;
  const itemsB = ctx.quick ? 200 : 10_000;
  ctx.progress(`rate-limit-bound: A ${fmt.int(itemsA)} items at R=${R}/min, B ${fmt.int(itemsB)} items against R/2 (in parallel, ~${ctx.quick ? 3 : 100} s)`);
  const [a, b] = await Promise.all([runAtLimit(ctx, itemsA), runAtHalfLimit(ctx, itemsB)]);

  const ceiling = (R * BATCH_SIZE) / 60;
  const shareA = a.rate / ceiling;
  const passA = shareA >= RATE_GOAL_SHARE && a.throttled === 0;
  const share429B = b.requests > 0 ? b.throttled / b.requests : 0;
  const lostB = b.check.missing + b.check.stale + b.check.unexpected;
  const passB = share429B < HALF_RATE_MAX_429_SHARE && lostB === 0 && b.rejected === 0;
  ctx.progress(`rate-limit-bound: A ${a.rate.toFixed(1)} items/s (${fmt.pct(shareA)}), ${a.throttled} 429s; B ${b.throttled} 429s of ${b.requests} requests, ${lostB} lost`);

  const notes: string[] = [];
  if (shareA < RATE_GOAL_SHARE) {
    notes.push(
      `Run A below ${fmt.pct(RATE_GOAL_SHARE)} of the ceiling. The client limiter runs at 98% of the configured rate on purpose (headroom for clock and network jitter against the server's window); anything below that is time with no request ready (batches not refilled) or the ramp at the start.`,
    );
  }
  if (a.throttled > 0) {
    notes.push(`Run A got ${a.throttled} 429(s) at the configured rate: the client limiter let more than R requests into some 60 s window.`);
  }
  if (share429B >= HALF_RATE_MAX_429_SHARE) {
    notes.push(`Run B: 429s were ${fmt.pct(share429B)} of requests; the limiter's back-off after a 429 (pause for Retry-After, halve the rate) did not keep them rare.`);
  }
  if (lostB > 0) notes.push(`Run B lost records: ${b.check.examples.join('; ')}`);
  if (a.quick) notes.push('Quick mode: runs far shorter than the 60 s window, so neither run can show throttling.');

  return {
    id: 'rate-limit-bound',
    title: `Rate-limit-bound delivery (sandbox R = ${R}/min, batch_size ${BATCH_SIZE})`,
    result: `${a.rate.toFixed(1)} items/s = ${fmt.pct(shareA)} of ${fmt.int(ceiling)}, ${a.throttled} 429s; at R/2: ${b.throttled} 429s (${fmt.pct(share429B)} of requests), ${lostB} lost`,
    goal: `≥ ${fmt.pct(RATE_GOAL_SHARE)} of R × batch_size / 60 with 0 429s; at R/2: 429s < ${fmt.pct(HALF_RATE_MAX_429_SHARE)} of requests, nothing lost`,
    status: passA && passB ? 'PASS' : 'MISS',
    method: [
      `Run A: sandbox limit ${R} requests/min (sliding 60 s window), latency ${SANDBOX_LATENCY_MS} ms; target rate_limit_per_minute ${R}, batch_size ${BATCH_SIZE}, max_concurrency ${CONCURRENCY}; ${fmt.int(itemsA)} records = ${fmt.int(itemsA / BATCH_SIZE)} requests. Ceiling R × batch_size / 60 = ${fmt.int(ceiling)} items/s. Rate measured over the delivery window (first request received → last item written).`,
      `Run B (at the same time, own sandbox): sandbox limit ${R / 2}/min, target still configured to ${R}/min; ${fmt.int(itemsB)} records (5% of them updates of earlier rows), then the sandbox's contents are compared with the mapping of the last record of every id.`,
      `Why these sizes: the limit is a sliding 60 s window, so a run that sends fewer than R requests cannot be throttled whatever its client does. Run A sends ${fmt.int(itemsA / BATCH_SIZE)} requests (1.25 × R) over ~75 s, so the window slides and fills, and any burst above R would be answered 429. R is scaled to 1200/min (20 requests/s) so the run holds enough requests to measure the rate precisely while staying under 90 s; batch_size 10 keeps the item count checkable. In run B, 600 requests fit in the first 30 s; then the window stays full until they age out, which the sandbox announces with a Retry-After of about 30 s that the target honours (all requests pause, the rate is halved and climbs back).`,
    ],
    details: {
      'A records': itemsA,
      'A delivery window, s': a.windowMs / 1000,
      'A items/s': Math.round(a.rate * 10) / 10,
      'A ceiling, items/s': ceiling,
      'A share of ceiling': Math.round(shareA * 1000) / 1000,
      'A requests': a.requests,
      'A 429s': a.throttled,
      'B records': itemsB,
      'B valid ids expected': b.expectedIds,
      'B wall time, s': b.wallMs / 1000,
      'B items/s': Math.round(b.rate * 10) / 10,
      'B requests': b.requests,
      'B 429s': b.throttled,
      'B 429 share of requests': Math.round(share429B * 10000) / 10000,
      'B missing': b.check.missing,
      'B stale (not the last payload)': b.check.stale,
      'B unexpected': b.check.unexpected,
      'B rejected': b.rejected,
    },
    notes,
  };
}

interface RunA {
  quick: boolean;
  rate: number;
  windowMs: number;
  requests: number;
  throttled: number;
}

async function runAtLimit(ctx: BenchContext, records: number): Promise<RunA> {
  const dataset = new Dataset({ records, seed: 31 });
  const file = join(ctx.dir, 'rate-a.jsonl');
  dataset.writeFile(file);
  const sandbox = await sandboxWith({ latencyMs: SANDBOX_LATENCY_MS, rateLimitPerMinute: R });
  try {
    const config = writeTargetConfig(ctx.dir, 'rate-a', sandbox.url, { batch_size: BATCH_SIZE, max_concurrency: CONCURRENCY, rate_limit_per_minute: R });
    const window = new DeliveryWindow(sandbox, records);
    const states = statePositionTracker();
    const run = await runChild({ script: targetCli, args: ['--config', config, '--input', file], onStdoutLine: states.onLine });
    const windowMs = window.stop();
    if (run.code !== 0) throw childFailure('target (rate limit A)', run);
    if (windowMs === undefined || sandbox.engagements().length !== records) {
      throw new Error(`rate limit run A: sandbox holds ${sandbox.engagements().length} of ${records} engagements`);
    }
    const stats = sandbox.stats();
    return { quick: ctx.quick, rate: records / (windowMs / 1000), windowMs, requests: stats.requests, throttled: stats.throttled };
  } finally {
    await sandbox.close();
  }
}

interface RunB {
  rate: number;
  wallMs: number;
  requests: number;
  throttled: number;
  expectedIds: number;
  rejected: number;
  check: ReturnType<Expectations['checkFinal']>;
}

async function runAtHalfLimit(ctx: BenchContext, records: number): Promise<RunB> {
  const dataset = new Dataset({ records, seed: 32, updateShare: 0.05 });
  const file = join(ctx.dir, 'rate-b.jsonl');
  dataset.writeFile(file);
  const expected = new Expectations(dataset, defaultMappingFile);
  const sandbox = await sandboxWith({ latencyMs: SANDBOX_LATENCY_MS, rateLimitPerMinute: R / 2 });
  try {
    const config = writeTargetConfig(ctx.dir, 'rate-b', sandbox.url, { batch_size: BATCH_SIZE, max_concurrency: CONCURRENCY, rate_limit_per_minute: R });
    const states = statePositionTracker();
    const run = await runChild({ script: targetCli, args: ['--config', config, '--input', file], onStdoutLine: states.onLine });
    if (run.code !== 0) throw childFailure('target (rate limit B)', run);
    if (states.last !== records) throw new Error(`rate limit run B: last state ${states.last}, expected ${records}`);
    const stats = sandbox.stats();
    return {
      rate: records / (run.wallMs / 1000),
      wallMs: run.wallMs,
      requests: stats.requests,
      throttled: stats.throttled,
      expectedIds: expected.validIds,
      rejected: readRejects(join(ctx.dir, 'rate-b.rejects.jsonl')).size,
      check: expected.checkFinal(sandbox.engagements()),
    };
  } finally {
    await sandbox.close();
  }
}
