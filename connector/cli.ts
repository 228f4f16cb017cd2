#!/usr/bin/env node
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Command, Option } from 'commander';
import { aboutInfo, aboutText } from './about.js';
import { loadSettings, resolveMappingsPath, type Settings } from './config.js';
import { InterruptedError, TargetError } from './errors.js';
import { createLogger, type Logger } from './log.js';
import { loadMappings } from './mapping/index.js';
import { packageJson } from './paths.js';
import { sinkFactory } from './delivery/create-sink.js';
import { addRejectsCommand, createLedgerSink, ledgerSinkOptions, openLedgerFromSettings, type RunStatus } from './ledger/index.js';
import { runTarget } from './run/target-run.js';
import { printSummary } from './run/summary.js';
import { addSandboxCommand } from './sandbox/command.js';

/**
 * target-siro's command line. Without a command it runs as a Singer target (stdin → Siro). Exit codes:
 * 0 ok, 1 unexpected error, 2 configuration or mapping error, 3 bad Singer input, 4 Siro refused the run
 * (401/403, retries exhausted), 5 more rejected records than max_rejected, 130 interrupted with records
 * left undelivered.
 */

interface RunFlags {
  config?: string;
  input?: string;
  dryRun?: boolean;
  dryRunOutput?: string;
  fullResync?: boolean;
  about?: boolean;
  format?: string;
}

function settingsFrom(flags: { config?: string; dryRun?: boolean }): Settings {
  return loadSettings({ configFile: flags.config, overrides: flags.dryRun ? { dry_run: true } : {} });
}

async function runCommand(flags: RunFlags): Promise<number> {
  if (flags.about) {
    process.stdout.write(flags.format === 'json' ? JSON.stringify(aboutInfo(), null, 2) + '\n' : aboutText() + '\n');
    return 0;
  }
  const settings = settingsFrom(flags);
  const log = createLogger(settings.log_level);
  // Mappings are checked before any input is read: a broken mapping never half-runs.
  const mappings = loadMappings(resolveMappingsPath(settings));
  log.info({ mappings: mappings.files, dry_run: settings.dry_run }, 'target-siro starting');

  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) return;
    log.warn({ signal: sig }, 'signal received');
    abort.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const input = flags.input ? createReadStream(flags.input) : process.stdin;
  const runId = randomUUID();
  const ledger = await openLedgerFromSettings(settings);
  await ledger?.startRun({ runId, dryRun: settings.dry_run });
  const createDeliverySink = sinkFactory(settings, log, flags.dryRunOutput);
  const result = await runTarget({
    settings,
    input,
    mappings,
    log,
    runId,
    signal: abort.signal,
    createSink: ledger
      ? (onOutcome) =>
          createLedgerSink(createDeliverySink, ledgerSinkOptions(settings, { store: ledger, runId, onOutcome, log, fullResync: flags.fullResync }))
      : createDeliverySink,
  });
  if (ledger) {
    const totals = result.counters.totals();
    const status: Exclude<RunStatus, 'running'> = !result.error ? 'ok' : result.error instanceof InterruptedError ? 'interrupted' : 'failed';
    await ledger.finishRun(runId, {
      status,
      counts: { read: totals.read, sent: totals.delivered, unchanged: totals.unchanged, rejected: totals.rejected, deleted: totals.deleted },
      lastState: result.lastState ?? null,
    });
    await ledger.close();
  }
  printSummary(result, settings, log);
  if (result.error) return reportError(result.error, log);
  return 0;
}

function reportError(e: Error, log?: Logger): number {
  const code = e instanceof TargetError ? e.exitCode : 1;
  const text = e instanceof TargetError ? e.message : (e.stack ?? e.message);
  if (log) log.error({ error: e.name }, text);
  process.stderr.write(`target-siro: ${text}\n`);
  return code;
}

function validateCommand(flags: { config?: string }): number {
  const settings = loadSettings({ configFile: flags.config, overrides: { dry_run: true } });
  const path = resolveMappingsPath(settings);
  const mappings = loadMappings(path);
  process.stderr.write(`target-siro: mappings OK (${mappings.files.join(', ')})\n`);
  return 0;
}

export function buildProgram(): Command {
  const program = new Command('target-siro')
    .description(packageJson.description)
    .version(packageJson.version, '-V, --version')
    // `target-siro validate --config F`: options after a command belong to that command.
    .enablePositionalOptions()
    .option('-c, --config <file>', 'JSON config file (settings can also come from TARGET_SIRO_* env vars)')
    .option('-i, --input <file>', 'read Singer messages from this file instead of stdin')
    .option('--dry-run', 'map and validate, print payloads instead of sending them')
    .option('--dry-run-output <file>', 'with --dry-run: write payload lines to this file instead of stderr')
    .option('--full-resync', 'send every record even when the ledger says Siro already holds the same payload')
    .option('--about', 'describe the target (settings, capabilities) and exit')
    .addOption(new Option('--format <format>', 'output format of --about').choices(['text', 'json']).default('text'))
    .action(async (flags: RunFlags) => {
      process.exitCode = await runCommand(flags);
    });

  program
    .command('validate')
    .description('check the config and the mapping files (against Siro\'s schema) and exit')
    .option('-c, --config <file>', 'JSON config file')
    .action((flags: { config?: string }) => {
      process.exitCode = validateCommand(flags);
    });

  addSandboxCommand(program);
  addRejectsCommand(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (e) {
    process.exitCode = reportError(e as Error);
  }
}

await main();
