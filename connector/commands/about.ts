import { describeSettingType, type SettingTypeSchema } from '../config/setting-types.js';
import { ENV_PREFIX, SECRET_SETTINGS, settingsJsonSchema } from '../config/settings.js';
import { packageJson } from '../core/paths.js';

/** What `--about` tells: the Meltano SDK's plugin self-description. */
// activate-version and soft-delete: full-table versions drive the ledger's soft deletes (delete_mode: soft).
// batch: Meltano SDK BATCH messages (jsonl files, plain or gzip) are read like RECORDs (singer/batch-files.ts).
export const CAPABILITIES = ['about', 'validate-records', 'activate-version', 'soft-delete', 'batch'] as const;

export interface AboutInfo {
  name: string;
  version: string;
  description: string;
  capabilities: string[];
  settings: Record<string, unknown>;
  secret_settings: string[];
  env_var_prefix: string;
}

export function aboutInfo(): AboutInfo {
  return {
    name: packageJson.name,
    version: packageJson.version,
    description: packageJson.description,
    capabilities: [...CAPABILITIES],
    settings: settingsJsonSchema(),
    secret_settings: [...SECRET_SETTINGS],
    env_var_prefix: ENV_PREFIX,
  };
}

export function aboutText(): string {
  const info = aboutInfo();
  const props = (info.settings.properties ?? {}) as Record<string, SettingTypeSchema & { description?: string; default?: unknown }>;
  const lines = [
    `Name: ${info.name}`,
    `Version: ${info.version}`,
    `Description: ${info.description}`,
    `Capabilities: ${info.capabilities.join(', ')}`,
    `Env var prefix: ${info.env_var_prefix} (e.g. ${info.env_var_prefix}API_TOKEN)`,
    'Settings:',
  ];
  for (const [name, s] of Object.entries(props)) {
    // In words, as the README's settings reference has them: `integer ≥ 0, or percentage like "5%"`.
    const type = describeSettingType(s);
    const secret = (SECRET_SETTINGS as readonly string[]).includes(name) ? ', secret' : '';
    const def = s.default !== undefined ? `, default ${JSON.stringify(s.default)}` : '';
    lines.push(`  ${name} (${type}${secret}${def}): ${s.description ?? ''}`);
  }
  return lines.join('\n');
}

/** `target-siro --about [--format json]`. */
export function printAbout(format: string | undefined): number {
  process.stdout.write(format === 'json' ? JSON.stringify(aboutInfo(), null, 2) + '\n' : aboutText() + '\n');
  return 0;
}
