import { join, resolve } from 'node:path';
import { repoRoot, tempDir, writeJson } from './cli.js';

/** A config file for one test run: every runtime file in its own temp folder, never the repo's state/. */
export interface TestTarget {
  dir: string;
  config: string;
  rejectsFile: string;
  stateFile: string;
  ledgerPath: string;
}

export interface TargetConfigOptions {
  /** Folder of the runtime files (rejects, ledger, reports, state); default: a fresh temp folder. */
  dir?: string;
  /** The config file: a name in `dir` or a path; default: a new `config-<random>.json` in `dir`. */
  file?: string;
  /** Also set `state_file` (the target then writes its newest state there, as a run outside an orchestrator does). */
  stateFile?: boolean;
  /** `log_level` of the run (settings can override it too); default `warn`, `info` keeps the run summary on stderr. */
  logLevel?: string;
}

export function targetConfig(settings: Record<string, unknown>, options: string | TargetConfigOptions = {}): TestTarget {
  const { dir = tempDir(), file = `config-${Math.random().toString(36).slice(2, 8)}.json`, logLevel = 'warn', ...opts } =
    typeof options === 'string' ? { dir: options } : options;
  const rejectsFile = join(dir, 'rejects.jsonl');
  const stateFile = join(dir, 'state.json');
  const ledgerPath = join(dir, 'ledger.sqlite');
  const config = writeJson(resolve(dir, file), {
    mappings: join(repoRoot, 'mappings'),
    rejects_file: rejectsFile,
    ledger_path: ledgerPath,
    reports_dir: join(dir, 'runs'),
    ...(opts.stateFile ? { state_file: stateFile } : {}),
    log_level: logLevel,
    ...settings,
  });
  return { dir, config, rejectsFile, stateFile, ledgerPath };
}

export const conformanceMapping = join(repoRoot, 'test', 'fixtures', 'conformance-mapping.yml');
export const conformanceDir = join(repoRoot, 'test', 'fixtures', 'conformance');
export const sampleCalls = join(repoRoot, 'test', 'fixtures', 'sample-calls.singer');

export { jsonLines } from './json-lines.js';
