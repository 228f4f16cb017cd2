import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings that keep a run's peak memory down (bench/levers.md has the numbers), set at start by the CLI
 * since a Singer target is started by an orchestrator, not with flags:
 *
 * - `--heap-growing-percent=30`: collect the old generation once it grew 30% past what was live after the
 *   last collection. V8's own factor lets it grow up to 4×: a run keeps ~30 MB live but its heap reached
 *   ~135 MB of mostly dead records between collections (peak RSS 256 → 171 MB delivering 100k records, for
   ~10% more CPU on a CPU-bound dry run). No cap: a record near max_line_bytes still fits.
 * - `--liftoff-only`: compile undici's HTTP parser (WebAssembly) with the baseline compiler only; the
 *   optimising compile took a ~35 MB spike at the first request, and parsing a few hundred answers a second
 *   does not need it.
 *
 * A flag the user set (NODE_OPTIONS, node's command line) wins.
 */
const FLAGS: Record<string, string> = {
  'heap-growing-percent': '--heap-growing-percent=30',
  'liftoff-only': '--liftoff-only',
};

export function setMemoryFlags(): void {
  const given = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`.replace(/_/g, '-');
  for (const [name, flag] of Object.entries(FLAGS)) if (!given.includes(name)) setFlagsFromString(flag);
}
