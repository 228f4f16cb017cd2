import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { settingsSchema } from '../connector/config.js';
import { DEFAULT_SANDBOX_TOKEN } from '../connector/sandbox/index.js';
import { packageRoot } from './child.js';

/** The shipped default mapping: the one users start from, and the one the generated data is made for. */
export const defaultMappingFile = join(packageRoot, 'mappings', 'default.yml');

/** Whether the target has a setting (the bench runs against whatever the tree holds today). */
export function hasSetting(name: string): boolean {
  return Object.hasOwn(settingsSchema.shape, name);
}

/**
 * Writes a config file for one target run against a sandbox (or a dry run when baseUrl is undefined).
 * Every run gets its own rejects file and ledger, so no run sees what an earlier one left behind.
 */
export function writeTargetConfig(dir: string, name: string, baseUrl: string | undefined, settings: Record<string, unknown> = {}): string {
  const path = join(dir, `${name}.config.json`);
  const config: Record<string, unknown> = {
    mappings: defaultMappingFile,
    rejects_file: join(dir, `${name}.rejects.jsonl`),
    ...(hasSetting('ledger_path') ? { ledger_path: join(dir, `${name}.ledger.sqlite`) } : {}),
    ...(baseUrl ? { base_url: baseUrl, api_token: DEFAULT_SANDBOX_TOKEN.token } : {}),
    ...settings,
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}
