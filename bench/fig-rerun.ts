import { join } from 'node:path';
import { childFailure, runChild, targetCli } from './child.js';
import { fmt, sandboxWith, statePositionTracker, type BenchContext } from './context.js';
import type { Figure } from './report.js';
import { Dataset } from './singer-data.js';
import { hasSetting, writeTargetConfig } from './target-config.js';

/**
 * Figure 5, re-run of an unchanged full table: the same FULL_TABLE stream (ACTIVATE_VERSION around the
 * rows) sent twice with the same ledger. The second run should send nothing (skip_unchanged) and take
 * only the time to read, map and compare.
 */

const TITLE = 'Re-run of an unchanged full table (ledger, skip_unchanged)';
const GOAL = '0 requests on the second identical run';

export async function rerunFigure(ctx: BenchContext): Promise<Figure> {
  if (!hasSetting('skip_unchanged')) {
    return {
      id: 'rerun-unchanged',
      title: TITLE,
      result: 'not measured: ledger not built yet',
      goal: GOAL,
      status: 'NOT MEASURED',
      method: ['The target has no `skip_unchanged` setting yet (connector/config.ts), so there is no ledger to skip unchanged rows with.'],
      details: {},
      notes: [],
    };
  }
  const records = ctx.quick ? 300 : 50_000;
  const dataset = new Dataset({ records, seed: 51, tableVersion: 1_767_000_000_000 });
  const file = join(ctx.dir, 'rerun.jsonl');
  dataset.writeFile(file);
  const sandbox = await sandboxWith({ latencyMs: 20, rateLimitPerMinute: 0 });
  try {
    const config = writeTargetConfig(ctx.dir, 'rerun', sandbox.url, { skip_unchanged: true, rate_limit_per_minute: 10_000_000 });
    const runOnce = async (n: number) => {
      ctx.progress(`re-run: run ${n} of ${fmt.int(records)} records`);
      const before = sandbox.stats().requests;
      const states = statePositionTracker();
      const run = await runChild({ script: targetCli, args: ['--config', config, '--input', file], onStdoutLine: states.onLine });
      if (run.code !== 0) throw childFailure(`target (re-run ${n})`, run);
      if (states.last !== records) throw new Error(`re-run ${n}: last state ${states.last}, expected ${records}`);
      return { wallMs: run.wallMs, requests: sandbox.stats().requests - before };
    };
    const first = await runOnce(1);
    const second = await runOnce(2);
    const pass = second.requests === 0;
    ctx.progress(`re-run: second run ${second.requests} requests, ${fmt.s(second.wallMs)}`);
    return {
      id: 'rerun-unchanged',
      title: TITLE,
      result: `second run: ${fmt.int(second.requests)} requests in ${fmt.s(second.wallMs)} (first run: ${fmt.int(first.requests)} requests in ${fmt.s(first.wallMs)})`,
      goal: GOAL,
      status: pass ? 'PASS' : 'MISS',
      method: [
        `${fmt.int(records)} records of a FULL_TABLE stream (ACTIVATE_VERSION before and after the rows, as tap-postgres sends them) through the real CLI twice, same config and same ledger file (default settings: ledger on, skip_unchanged true, batch_size 100, max_concurrency 4); sandbox latency 20 ms, no rate limit. Requests counted by the sandbox.`,
      ],
      details: {
        records,
        'run 1 requests': first.requests,
        'run 1 wall time, s': first.wallMs / 1000,
        'run 2 requests': second.requests,
        'run 2 wall time, s': second.wallMs / 1000,
        'run 2 records/s': Math.round(records / (second.wallMs / 1000)),
      },
      notes: pass
        ? []
        : [`The second run still sent ${second.requests} request(s): the ledger did not recognise the rows as unchanged (check that the payload fingerprint is stable across runs, and that the first run's acknowledgements were committed to the ledger before it exited).`],
    };
  } finally {
    await sandbox.close();
  }
}
