import { writeFileSync } from 'node:fs';

/**
 * Preloaded into a measured child (`node --import usage-probe.js cli.js ...`): when the child exits, its
 * own resource usage (CPU time, peak RSS) is written as JSON to $BENCH_USAGE_FILE. Node cannot read a
 * child's rusage, and this leaves the measured program itself untouched.
 */

export interface ChildUsage {
  userMs: number;
  systemMs: number;
  /** Peak resident set size (VmHWM), bytes. */
  maxRssBytes: number;
}

const file = process.env.BENCH_USAGE_FILE;
if (file) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    const usage: ChildUsage = { userMs: u.userCPUTime / 1000, systemMs: u.systemCPUTime / 1000, maxRssBytes: u.maxRSS * 1024 };
    writeFileSync(file, JSON.stringify(usage));
  });
}
