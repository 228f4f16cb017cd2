#!/usr/bin/env node
import { randomUUID } from 'node:crypto';
import { createReadStream, statSync, type ReadStream } from 'node:fs';
import { Command, Option } from 'commander';
import { aboutInfo, aboutText } from './about.js';
import { loadSettings, resolveMappingsPath, type Settings } from './config.js';
import { InterruptedError, TargetError } from './errors.js';
import { createLogger, type Logger } from './log.js';
import { loadMappings } from './mapping/index.js';
import { packageJson } from './paths.js';
import { sinkFactory } from './delivery/create-sink.js';
import type { OutcomeHandler, Sink } from './delivery/sink.js';
import { addRejectsCommand, createLedgerSink, ledgerSinkOptions, openLedgerFromSettings, type RunStatus } from './ledger/index.js';
import { runTarget } from './run/target-run.js';
import { printSummary } from './run/summary.js';
import { RunCounters } from './run/counters.js';
import { RunProgress } from './run/progress.js';
import { RecordCountMetrics } from './run/metrics.js';
import { buildRunReport, writeRunReport } from './run/report.js';
import { addSandboxCommand } from './sandbox/command.js';
import { addCheckCommand } from './commands/check.js';
import { addPreviewCommand } from './commands/preview.js';

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
  const startedAt = new Date();
  const counters = new RunCounters();
  let sink: Sink | undefined;
  // A dry run without --dry-run-output writes its payloads to stderr: a progress line there would only garble them.
  const progress =
    settings.dry_run && !flags.dryRunOutput
      ? undefined
      : RunProgress.forTerminal({ counters, stats: () => sink?.stats(), input: inputSize(flags.input, input), dryRun: settings.dry_run });
  const ledger = await openLedgerFromSettings(settings);
  await ledger?.startRun({ runId, dryRun: settings.dry_run });
  const createDeliverySink = sinkFactory(settings, log, flags.dryRunOutput);
  const createSink = ledger
    ? (onOutcome: OutcomeHandler) =>
        createLedgerSink(createDeliverySink, ledgerSinkOptions(settings, { store: ledger, runId, onOutcome, log, fullResync: flags.fullResync }))
    : createDeliverySink;
  progress?.start();
  const recordCounts = new RecordCountMetrics(counters, log);
  const result = await runTarget({
    settings,
    input,
    mappings,
    log,
    runId,
    counters,
    signal: abort.signal,
    createSink: (onOutcome) => (sink = createSink(onOutcome)),
  }).finally(() => {
    progress?.stop();
    recordCounts.stop();
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
  const exitCode = result.error ? exitCodeOf(result.error) : 0;
  const status = !result.error ? 'ok' : result.error instanceof InterruptedError ? 'interrupted' : 'failed';
  try {
    const report = buildRunReport(result, settings, { status, exitCode, error: result.error, startedAt, input: flags.input ?? 'stdin' });
    const path = writeRunReport(report, settings.reports_dir);
    process.stderr.write(`target-siro: run report ${path}\n`);
  } catch (e) {
    // The report is for people and monitors; failing to write it must not change what the run did.
    log.warn({ reports_dir: settings.reports_dir }, `cannot write the run report: ${(e as Error).message}`);
  }
  if (result.error) return reportError(result.error, log);
  return 0;
}

/** Bytes read and total size of an --input file, for the progress line's estimate of time left (never for stdin). */
function inputSize(file: string | undefined, input: NodeJS.ReadableStream): { bytesRead: () => number; totalBytes: number } | undefined {
  if (!file) return undefined;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return undefined;
    return { bytesRead: () => (input as ReadStream).bytesRead, totalBytes: stat.size };
  } catch {
    return undefined;
  }
}

function exitCodeOf(e: Error): number {
  return e instanceof TargetError ? e.exitCode : 1;
}

function reportError(e: Error, log?: Logger): number {
  const code = exitCodeOf(e);
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
  addCheckCommand(program);
  addPreviewCommand(program);
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
