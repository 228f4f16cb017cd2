import { join } from 'node:path';
import { settingsSchema } from '../../connector/config/settings.js';
import { repoRoot, tempDir, writeJson } from './cli.js';

/** A config file for one test run: every runtime file in its own temp folder, never the repo's state/. */
export interface TestTarget {
  dir: string;
  config: string;
  rejectsFile: string;
  stateFile: string;
  ledgerPath: string;
}

export function targetConfig(settings: Record<string, unknown>, dir = tempDir()): TestTarget {
  const rejectsFile = join(dir, 'rejects.jsonl');
  const stateFile = join(dir, 'state.json');
  const ledgerPath = join(dir, 'ledger.sqlite');
  const config = writeJson(join(dir, `config-${Math.random().toString(36).slice(2, 8)}.json`), {
    mappings: join(repoRoot, 'mappings'),
    rejects_file: rejectsFile,
    ledger_path: ledgerPath,
    ...('reports_dir' in settingsSchema.shape ? { reports_dir: join(dir, 'runs') } : {}),
    log_level: 'warn',
    ...settings,
  });
  return { dir, config, rejectsFile, stateFile, ledgerPath };
}

export const conformanceMapping = join(repoRoot, 'test', 'fixtures', 'conformance-mapping.yml');
export const conformanceDir = join(repoRoot, 'test', 'fixtures', 'conformance');
export const sampleCalls = join(repoRoot, 'test', 'fixtures', 'sample-calls.singer');

/** Reads a JSON-lines file (rejects, dry-run output); missing file → []. */
export async function jsonLines(path: string): Promise<Record<string, unknown>[]> {
  const { existsSync, readFileSync } = await import('node:fs');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
