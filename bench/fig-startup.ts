import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childFailure, runChild, targetCli, type ChildOptions } from './child.js';
import type { BenchContext } from './context.js';
import { gap, type Figure } from './report.js';
import { writeTargetConfig } from './target-config.js';

/**
 * Figure 5, start-up: the wall time of the commands a user or an orchestrator runs before any data moves
 * (`--version`, `--about`, a dry run over an empty input), above a bare `node -e 0` spawned the same way,
 * so what is left is the target's own cost (module loading, config, mapping compilation), not node's.
 * Spawns alternate round by round so drift hits every command alike; the median of each counts.
 */

export const STARTUP_GOAL_MS = 300;
const ROUNDS = 7;

interface Probe {
  label: string;
  /** How the command is shown in the results. */
  shown: string;
  opts: ChildOptions;
  ms: number[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
/** A time above bare node; negative when a command happened to start faster than the reference. */
const above = (ms: number) => `${ms < 0 ? '−' : '+'}${seconds(Math.abs(ms))}`;

export async function startupFigure(ctx: BenchContext): Promise<Figure> {
  const config = writeTargetConfig(ctx.dir, 'startup', undefined);
  const empty = join(ctx.dir, 'empty.jsonl');
  writeFileSync(empty, '');
  // runChild spawns `node SCRIPT ARGS`: with `-e` as the script that is `node -e 0`, spawned exactly like the others.
  const bare: Probe = { label: 'bare node', shown: '`node -e 0`', opts: { script: '-e', args: ['0'] }, ms: [] };
  const probes: Probe[] = [
    { label: '--version', shown: '`target-siro --version`', opts: { script: targetCli, args: ['--version'] }, ms: [] },
    { label: '--about', shown: '`target-siro --about`', opts: { script: targetCli, args: ['--about'] }, ms: [] },
    {
      label: 'empty dry run',
      shown: '`target-siro --config CONFIG --input EMPTY --dry-run`',
      opts: { script: targetCli, args: ['--config', config, '--input', empty, '--dry-run'] },
      ms: [],
    },
  ];
  // Quick mode proves the harness only: no warm-up, one round.
  const rounds = ctx.quick ? 1 : ROUNDS;
  const warmUps = ctx.quick ? 0 : 1;
  ctx.progress(`start-up: ${warmUps} warm-up and ${rounds} measured round(s) of ${[bare, ...probes].map((p) => p.label).join(', ')}`);
  for (let round = 1 - warmUps; round <= rounds; round++) {
    for (const p of [bare, ...probes]) {
      const r = await runChild(p.opts);
      if (r.code !== 0) throw childFailure(`start-up: ${p.label}`, r);
      if (round >= 1) p.ms.push(r.wallMs);
    }
  }
  const bareMs = median(bare.ms);
  const aboveBare = probes.map((p) => ({ p, ms: median(p.ms) - bareMs }));
  const over = aboveBare.filter((a) => a.ms > STARTUP_GOAL_MS);
  const pass = over.length === 0;
  const list = aboveBare.map((a) => `${a.p.label} ${above(a.ms)}`).join(', ');
  ctx.progress(`start-up: ${list} above bare node (${seconds(bareMs)})`);
  const notes: string[] = [];
  if (!pass) {
    notes.push(
      'Above the goal: what a command loads before it can answer (modules and the libraries behind them, config and mapping compilation, the ledger, validators) is the cost; `node --cpu-prof` on the command, or `NODE_DEBUG=module`, shows what is loaded. What was tried against it is listed under "What was tried".',
    );
    if (ctx.quick) notes.push('Quick mode: a single spawn of each, no warm-up.');
  }
  return {
    id: 'startup',
    title: 'Start-up: wall time above a bare `node -e 0`',
    result: pass ? `${list} above bare node (${seconds(bareMs)})` : `${over.map((a) => `${a.p.label} ${gap(a.ms, STARTUP_GOAL_MS, 'at most', above)}`).join('; ')} (all: ${list}; bare node ${seconds(bareMs)})`,
    goal: `each ≤ +${seconds(STARTUP_GOAL_MS)} above bare node`,
    status: pass ? 'PASS' : 'MISS',
    method: [
      `${probes.map((p) => p.shown).join(', ')} and, as the reference, ${bare.shown}, each spawned from the bench process the same way (\`node SCRIPT ARGS\`, stdio piped) and timed from spawn to exit. The dry run's config is a default one (ledger on, the shipped mappings/default.yml; the ledger file exists after the first spawn, as it does for every run but a user's first) and its input an empty file. ${warmUps ? `One warm-up round (page cache, compile cache) and then ${rounds}` : rounds} round(s), each spawning every command once in turn; the median of each counts, and the figure is its median minus bare node's.`,
    ],
    details: {
      'bare node -e 0, median s': bareMs / 1000,
      ...Object.fromEntries(aboveBare.map((a) => [`${a.p.label}: median s / above bare node, s`, `${(median(a.p.ms) / 1000).toFixed(3)} / ${(a.ms / 1000).toFixed(3)}`])),
      ...Object.fromEntries([bare, ...probes].map((p) => [`${p.label}: all runs, s`, p.ms.map((ms) => (ms / 1000).toFixed(3)).join(', ')])),
      rounds,
    },
    notes,
  };
}
