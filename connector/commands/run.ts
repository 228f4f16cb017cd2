import { randomUUID } from 'node:crypto';
import { createReadStream, statSync, type ReadStream } from 'node:fs';
import { loadSettings, resolveMappingsPath, unknownEnvSettings, type Settings } from '../config/settings.js';
import { InterruptedError, OutputError, TargetError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { terminalLine } from '../core/terminal-line.js';
import { loadMappings } from '../mapping/index.js';
import type { OutcomeHandler, Sink } from '../delivery/sink.js';
import type { RunStatus } from '../ledger/index.js';
import { sinkFactory } from '../run/create-sink.js';
import { runTarget } from '../run/target-run.js';
import { printSummary } from '../run/summary.js';
import { RunCounters } from '../run/counters.js';
import { RunProgress } from '../run/progress.js';
import { RecordCountMetrics } from '../run/metrics.js';
import { buildRunReport, writeRunReport } from '../run/report.js';
import { exitCodeOf, reportError } from './command-support.js';
import { guardStdout } from '../core/stdout-guard.js';
import { remapWith } from '../run/remap.js';

/**
 * The default command: run as a Singer target (stdin or --input → Siro, or a dry run). Also answers
 * --about. Exit codes: see README "Commands and exit codes" (core/errors.ts has one class per code).
 */

export interface RunFlags {
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

export async function runCommand(flags: RunFlags): Promise<number> {
  // From here on stdout carries state lines only; anything else written there goes to stderr.
  guardStdout();
  const settings = settingsFrom(flags);
  const log = createLogger(settings.log_level);
  for (const warning of unknownEnvSettings()) log.warn(warning);
  // Mappings are checked before any input is read: a broken mapping never half-runs.
  const mappings = loadMappings(resolveMappingsPath(settings));
  log.info({ mappings: mappings.files, dry_run: settings.dry_run }, 'target-siro starting');

  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) {
      // A second signal: stop at once. Every state printed so far is safe; nothing after it is printed.
      terminalLine.writeAbove(`target-siro: ${sig} again: exiting at once (exit 130)\n`);
      process.exit(130);
    }
    log.warn({ signal: sig }, 'signal received: stopping (a second signal exits at once)');
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
  // The ledger (and the database layer behind it) loads only when the settings keep one.
  const ledgerModule = settings.ledger ? await import('../ledger/index.js') : undefined;
  const ledger = await ledgerModule?.openLedgerFromSettings(settings);
  await ledger?.startRun({ runId, dryRun: settings.dry_run });
  const createDeliverySink = await sinkFactory(settings, log, flags.dryRunOutput);
  const createSink = ledger && ledgerModule
    ? (onOutcome: OutcomeHandler) =>
        ledgerModule.createLedgerSink(createDeliverySink, ledgerModule.ledgerSinkOptions(settings, { store: ledger, runId, onOutcome, log, fullResync: flags.fullResync, remap: remapWith(mappings) }))
    : createDeliverySink;
  if (!flags.input && process.stdin.isTTY) {
    // Nothing piped in: say what the target waits for rather than sitting there silently.
    terminalLine.writeAbove(
      'target-siro: waiting for Singer messages on stdin: pipe a tap into it (tap-postgres | target-siro --config config.json), ' +
        'or read a file with --input FILE; Ctrl-D ends the input, Ctrl-C stops\n',
    );
  }
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
    try {
      await ledger.finishRun(runId, {
        status,
        counts: { read: totals.read, sent: totals.delivered, unchanged: totals.unchanged, rejected: totals.rejected, deleted: totals.deleted },
        lastState: result.lastState ?? null,
      });
    } catch (e) {
      // The run's own error says more; a ledger that fails only now still fails the run (exit 7).
      result.error ??= e instanceof TargetError ? e : new OutputError('the ledger', e);
    } finally {
      await ledger.close().catch(() => undefined);
    }
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
