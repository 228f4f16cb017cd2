#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, EXIT_CODES } from './core/errors.js';
import { didYouMean } from './core/suggest.js';
import { setMemoryFlags } from './core/memory-flags.js';
import { packageJson } from './core/paths.js';
import { CONFIG_FLAGS, commandAction, reportError } from './commands/command-support.js';
import type { RunFlags } from './commands/run.js';

/**
 * target-siro's command line, assembled from connector/commands/: without a command it runs as a Singer
 * target (commands/run.ts); every command lives in a module of its own there, and
 * commands/command-support.ts turns errors into exit codes for all of them.
 *
 * Modules load on demand: `--version` needs none of them, and a run or a command loads only its own, so
 * the process starts in a fraction of the time that importing every command (and every library behind
 * them) would take.
 */

setMemoryFlags();

type AddCommand = (program: Command) => unknown;

const COMMANDS: Record<string, () => Promise<AddCommand>> = {
  validate: async () => (await import('./commands/validate.js')).addValidateCommand,
  check: async () => (await import('./commands/check.js')).addCheckCommand,
  init: async () => (await import('./commands/init.js')).addInitCommand,
  preview: async () => (await import('./commands/preview.js')).addPreviewCommand,
  rejects: async () => (await import('./commands/rejects.js')).addRejectsCommand,
  runs: async () => (await import('./commands/runs.js')).addRunsCommand,
  history: async () => (await import('./commands/history.js')).addHistoryCommand,
  sandbox: async () => (await import('./commands/sandbox.js')).addSandboxCommand,
};

/** Program options that take a value: the word after them is not a command name. */
const VALUE_OPTIONS = new Set(['-c', '--config', '-i', '--input', '--dry-run-output', '--format']);

/** The command the arguments name, `*` when every command is needed (help), or undefined for a run. */
function requestedCommand(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-h' || arg === '--help') return '*';
    if (VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg === 'help' ? '*' : arg;
  }
  return undefined;
}

export async function buildProgram(args: readonly string[] = process.argv.slice(2)): Promise<Command> {
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
    .action(
      commandAction(async (flags: RunFlags) => {
        if (flags.about) return (await import('./commands/about.js')).printAbout(flags.format);
        return (await import('./commands/run.js')).runCommand(flags);
      }),
    );

  // Usage errors (unknown option, missing value) are configuration errors: one `target-siro:` line, exit 2.
  program
    .exitOverride()
    .helpCommand(true)
    .configureOutput({ outputError: (text, write) => write(`target-siro: ${text.replace(/^error: /, '')}`) });

  const wanted = requestedCommand(args);
  if (wanted !== undefined && wanted !== '*' && !Object.hasOwn(COMMANDS, wanted)) {
    // The program itself takes no arguments, so a word that names no command is a mistyped command.
    throw new ConfigError(`unknown command "${wanted}"${didYouMean(wanted, Object.keys(COMMANDS))}; the commands: ${Object.keys(COMMANDS).join(', ')} (\`target-siro --help\`)`);
  }
  const names = wanted === undefined ? [] : wanted === '*' ? Object.keys(COMMANDS) : [wanted];
  for (const name of names) (await COMMANDS[name]!())(program);
  return program;
}

try {
  await (await buildProgram()).parseAsync(process.argv);
} catch (e) {
  // Commander has written its own line (help, version, or a usage error through outputError above).
  if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : EXIT_CODES.config;
  else process.exitCode = reportError(e);
}
