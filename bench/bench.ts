import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from './child.js';
import { fmt, progressLogger, type BenchContext } from './context.js';
import { cpuPathFigures } from './fig-cpu.js';
import { latencyFigure, naiveFigure } from './fig-delivery.js';
import { memoryFigure } from './fig-memory.js';
import { rateLimitFigure } from './fig-rate.js';
import { rerunFigure } from './fig-rerun.js';
import { startupFigure } from './fig-startup.js';
import { machineInfo } from './machine.js';
import { readLevers, writeResults, type Figure } from './report.js';
import { Dataset } from './singer-data.js';

/**
 * `npm run bench`: measures the target's speed and memory against references taken in the same run (the
 * figures of issue 13, each with its goal, plus the rate-limit-bound run and the naive baseline), and
 * writes bench/results.md and bench/results.json; results.md also carries bench/levers.md (what was tried).
 * Progress goes to stderr.
 *
 *   node dist/bench/bench.js [--quick] [--out DIR] [--only cpu,memory,latency,naive,rate,rerun,startup]
 *
 * --quick runs tiny sizes (seconds) for the smoke test; --out writes the results elsewhere (the smoke test
 * never overwrites the committed results). `cpu` measures both CPU-path figures (default settings and
 * `ledger: false`).
 */

const FIGURES = ['cpu', 'memory', 'latency', 'naive', 'rate', 'rerun', 'startup'] as const;
type FigureName = (typeof FIGURES)[number];
/** Issue 13's table in its order, then the two figures kept from before it. */
const FIGURE_ORDER = [
  'cpu-path',
  'cpu-path-no-ledger',
  'rerun-unchanged-1m',
  'memory',
  'startup',
  'latency-bound',
  'rate-limit-bound',
  'naive-baseline',
];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      only: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const only = new Set<FigureName>(
    values.only ? (values.only.split(',').map((s) => s.trim()) as FigureName[]) : FIGURES,
  );
  for (const name of only) if (!FIGURES.includes(name)) throw new Error(`--only: unknown figure "${name}" (known: ${FIGURES.join(', ')})`);
  const outDir = resolve(values.out ?? join(packageRoot, 'bench'));
  const started = performance.now();
  const ctx: BenchContext = {
    quick: values.quick ?? false,
    dir: mkdtempSync(join(tmpdir(), 'target-siro-bench-')),
    progress: progressLogger('bench'),
  };
  const machine = machineInfo();
  ctx.progress(`${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}${ctx.quick ? ' (quick)' : ''}`);
  const figures: Figure[] = [];
  try {
    // First, while nothing else of the bench has run yet: short spawns are the most sensitive to noise.
    if (only.has('startup')) figures.push(await startupFigure(ctx));
    if (only.has('cpu') || only.has('memory')) {
      const records = ctx.quick ? 10_000 : 1_000_000;
      const seed = 11;
      const file = join(ctx.dir, 'big.jsonl');
      ctx.progress(`generating ${fmt.int(records)} records`);
      const bytes = new Dataset({ records, seed }).writeFile(file, (n) => ctx.progress(`generated ${fmt.int(n)} lines`));
      ctx.progress(`generated ${fmt.mb(bytes)}`);
      if (only.has('cpu')) figures.push(...(await cpuPathFigures(ctx, file, records, bytes, seed)));
      if (only.has('memory')) figures.push(await memoryFigure(ctx, file, records, seed));
      rmSync(file, { force: true });
    }
    // Writes its own 1M FULL_TABLE file, after the big one is gone (disk, page cache).
    if (only.has('rerun')) figures.push(await rerunFigure(ctx));
    let latencyRate: number | undefined;
    if (only.has('latency')) {
      const latency = await latencyFigure(ctx);
      figures.push(latency.figure);
      latencyRate = latency.itemsPerSecond;
    }
    // Both are bound by the clock (a rate limit, a sequential client), not the CPU: run side by side.
    const [rate, naive] = await Promise.all([
      only.has('rate') ? rateLimitFigure(ctx) : undefined,
      only.has('naive') ? naiveFigure(ctx, latencyRate) : undefined,
    ]);
    if (rate) figures.push(rate);
    if (naive) figures.push(naive);
  } finally {
    if (!values.keep) rmSync(ctx.dir, { recursive: true, force: true });
    else ctx.progress(`scratch files kept in ${ctx.dir}`);
  }
  // Measured in the order that shares inputs and overlaps idle waits; published in the order.
  figures.sort((a, b) => FIGURE_ORDER.indexOf(a.id) - FIGURE_ORDER.indexOf(b.id));
  const totalSeconds = (performance.now() - started) / 1000;
  const written = writeResults(outDir, { machine, quick: ctx.quick, totalSeconds, figures, whatWasTried: readLevers() });
  for (const f of figures) process.stderr.write(`bench: ${f.status.padEnd(12)} ${f.title}: ${f.result}\n`);
  process.stderr.write(`bench: wrote ${written.markdown} and ${written.json} in ${totalSeconds.toFixed(0)} s\n`);
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e: Error) => {
    process.stderr.write(`bench: failed: ${e.stack ?? e.message}\n`);
    process.exitCode = 1;
  },
);
