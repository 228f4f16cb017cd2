import type { Command } from 'commander';
import { loadSettings, resolveMappingsPath, unknownEnvSettings } from '../config/settings.js';
import { loadMappings } from '../mapping/index.js';
import { CONFIG_FLAGS, commandAction, configFileOf } from './command-support.js';

/** `target-siro validate`: check the config and every mapping file (against Siro's schema), read no input. */
export function validateCommand(configFile: string | undefined): number {
  const settings = loadSettings({ configFile, overrides: { dry_run: true } });
  const mappings = loadMappings(resolveMappingsPath(settings));
  for (const warning of unknownEnvSettings()) process.stderr.write(`target-siro: warning: ${warning}\n`);
  process.stderr.write(`target-siro: mappings OK (${mappings.files.join(', ')})\n`);
  return 0;
}

export function addValidateCommand(program: Command): void {
  program
    .command('validate')
    .description("check the config and the mapping files (against Siro's schema) and exit")
    .option(CONFIG_FLAGS, 'JSON config file')
    .action(commandAction((_flags: object, command: Command) => validateCommand(configFileOf(command))));
}
