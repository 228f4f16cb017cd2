import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { settingsSchema } from '../connector/config/settings.js';
import { BENCH_TOKEN } from './context.js';
import { packageRoot } from './child.js';

/** The shipped default mapping: the one users start from, and the one the generated data is made for. */
export const defaultMappingFile = join(packageRoot, 'mappings', 'default.yml');

/** Whether the target has a setting (the bench runs against whatever the tree holds today). */
export function hasSetting(name: string): boolean {
  return Object.hasOwn(settingsSchema.shape, name);
}

/**
 * Writes a config file for one target run against a sandbox (or a dry run when baseUrl is undefined).
 * Every run gets its own rejects file, ledger and run reports in the scratch folder, so no run sees what an
 * earlier one left behind and nothing is written into the project.
 */
export function writeTargetConfig(dir: string, name: string, baseUrl: string | undefined, settings: Record<string, unknown> = {}): string {
  const path = join(dir, `${name}.config.json`);
  const config: Record<string, unknown> = {
    mappings: defaultMappingFile,
    rejects_file: join(dir, `${name}.rejects.jsonl`),
    ...(hasSetting('ledger_path') ? { ledger_path: join(dir, `${name}.ledger.sqlite`) } : {}),
    ...(hasSetting('reports_dir') ? { reports_dir: join(dir, `${name}.reports`) } : {}),
    ...(baseUrl ? { base_url: baseUrl, api_token: BENCH_TOKEN.token } : {}),
    ...settings,
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** What the bench reads from the target's own run report (reports_dir/<start time>-<run_id>.json). */
export interface RunReport {
  elapsed_s?: number;
  requests?: { count?: number; retries?: number; latency?: { count?: number; mean_ms?: number; p50_ms?: number; p95_ms?: number; p99_ms?: number } };
}

/** The newest run report of the runs made with `writeTargetConfig(dir, name, ...)`, if the target writes them. */
export function readRunReport(dir: string, name: string): RunReport | undefined {
  const reports = join(dir, `${name}.reports`);
  if (!existsSync(reports)) return undefined;
  const files = readdirSync(reports)
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(reports, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return files[0] ? (JSON.parse(readFileSync(files[0], 'utf8')) as RunReport) : undefined;
}
