#!/usr/bin/env node
import { Command, Option } from 'commander';
import { packageJson } from './core/paths.js';
import { CONFIG_FLAGS, commandAction, reportError } from './commands/command-support.js';
import { runCommand, type RunFlags } from './commands/run.js';
import { addValidateCommand } from './commands/validate.js';
import { addCheckCommand } from './commands/check.js';
import { addPreviewCommand } from './commands/preview.js';
import { addRejectsCommand } from './commands/rejects.js';
import { addSandboxCommand } from './commands/sandbox.js';

/**
 * target-siro's command line, assembled from connector/commands/: without a command it runs as a Singer
 * target (commands/run.ts); every command lives in a module of its own there, and
 * commands/command-support.ts turns errors into exit codes for all of them.
 */
export function buildProgram(): Command {
  const program = new Command('target-siro')
    .description(packageJson.description)
    .version(packageJson.version, '-V, --version')
    // `target-siro validate --config F`: options after a command belong to that command; a --config before
    // the command reaches it too (configFileOf).
    .enablePositionalOptions()
    .option(CONFIG_FLAGS, 'JSON config file (settings can also come from TARGET_SIRO_* env vars)')
    .option('-i, --input <file>', 'read Singer messages from this file instead of stdin')
    .option('--dry-run', 'map and validate, print payloads instead of sending them')
    .option('--dry-run-output <file>', 'with --dry-run: write payload lines to this file instead of stderr')
    .option('--full-resync', 'send every record even when the ledger says Siro already holds the same payload')
    .option('--about', 'describe the target (settings, capabilities) and exit')
    .addOption(new Option('--format <format>', 'output format of --about').choices(['text', 'json']).default('text'))
    .action(commandAction((flags: RunFlags) => runCommand(flags)));

  addValidateCommand(program);
  addSandboxCommand(program);
  addRejectsCommand(program);
  addCheckCommand(program);
  addPreviewCommand(program);
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  process.exitCode = reportError(e);
}
