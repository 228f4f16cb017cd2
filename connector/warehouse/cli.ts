#!/usr/bin/env node
import { Command } from 'commander';
import { TargetError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { packageJson } from '../core/paths.js';
import { connectionSecrets, describeConnection, loadSettings, type TapSettings } from './config.js';
import { openWarehouse, type WarehouseConnection } from './dialect.js';
import { catalogOf, discoverStreams, readDeselectedStreams } from './discovery.js';
import { redact } from './errors.js';
import { SingerWriter } from './singer-writer.js';
import { emptyState, readStateFile } from './state.js';
import { runSync } from './sync.js';

/**
 * tap-warehouse: a Singer tap that reads tables or queries of a SQL warehouse (Postgres for now).
 * stdout carries Singer messages only (or the catalog with --discover); logs go to stderr.
 */

interface CliOptions {
  config?: string;
  state?: string;
  discover?: boolean;
  catalog?: string;
}

const INTERRUPTED_EXIT_CODE = 130;
/** How long a signal waits for the current row and its STATE to be written before the tap exits anyway. */
const SIGNAL_GRACE_MS = 3_000;
/** Commander's usage errors (unknown option, missing value) are configuration errors, as in errors.ts. */
const USAGE_EXIT_CODE = 2;

/** The exit codes, as connector/warehouse/README.md documents them (target-siro's vocabulary). */
const EXIT_CODES = `
Exit codes:
  0    every configured stream was read
  1    unexpected error (a bug, or a database error the tap has no class for: the message names its SQLSTATE)
  2    configuration: a setting, an option, a missing table, view or column, a sql stream's query refused, an unreadable --state or --catalog
  3    bad data: the database refused a value while reading (SQLSTATE class 22)
  6    cannot connect: server down or unreachable, DNS, wrong password or user, missing database, SSL refused, connection lost, a read canceled by the server (statement_timeout)
  7    output: stdout closed (the target went away); the STATEs it took stay valid
  130  interrupted (SIGTERM/SIGINT): the last STATE printed resumes the run`;

async function main(opts: CliOptions, secrets: string[]): Promise<number> {
  const settings: TapSettings = loadSettings({ configFile: opts.config });
  secrets.push(...connectionSecrets(settings.connection));
  const log = createLogger(settings.logLevel);
  const deselected = opts.catalog && !opts.discover ? readDeselectedStreams(opts.catalog) : new Set<string>();
  const state = opts.state && !opts.discover ? readStateFile(opts.state) : emptyState();

  const streams = settings.streams.filter((s) => !deselected.has(s.name));
  for (const s of settings.streams) if (deselected.has(s.name)) log.info({ stream: s.name }, 'stream not selected in the catalog; skipped');

  const controller = new AbortController();
  let syncing = false;
  const stopNow = (signal: NodeJS.Signals) => {
    process.stderr.write(`tap-warehouse: interrupted by ${signal}\n`);
    process.exit(INTERRUPTED_EXIT_CODE);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    // Before the first row nothing needs saving: a connection or a query that hangs must not hold the exit.
    if (!syncing || controller.signal.aborted) stopNow(signal);
    log.warn({ signal }, 'stopping after the current row');
    controller.abort();
    // A consumer that stopped reading keeps the last writes pending forever: the STATEs it already got
    // stay valid, so exit after a short grace instead of hanging.
    setTimeout(() => stopNow(signal), SIGNAL_GRACE_MS).unref();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let warehouse: WarehouseConnection | undefined;
  try {
    log.info({ dialect: settings.dialect, database: describeConnection(settings.connection) }, 'connecting');
    warehouse = await openWarehouse(settings.dialect, { connection: settings.connection, log });
    await warehouse.check();
    const discovered = await discoverStreams(warehouse, streams);
    if (opts.discover) {
      const writer = new SingerWriter(process.stdout);
      await writer.line(JSON.stringify(catalogOf(discovered), null, 2));
      await writer.flush();
      return 0;
    }
    syncing = true;
    const result = await runSync({
      warehouse,
      streams: discovered,
      state,
      writer: new SingerWriter(process.stdout),
      stateEveryRows: settings.stateEveryRows,
      log,
      signal: controller.signal,
    });
    log.info({ rows: result.rows }, 'sync finished');
    return result.interrupted ? INTERRUPTED_EXIT_CODE : 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await warehouse?.close().catch(() => undefined);
  }
}

const program = new Command()
  .name('tap-warehouse')
  .description('Singer tap: reads tables or SQL queries of a warehouse (Postgres) as Singer streams.')
  .version(packageJson.version)
  .option('-c, --config <file>', 'JSON config file (settings may also come from TAP_WAREHOUSE_* env vars)')
  .option('-s, --state <file>', 'state to resume from: {"bookmarks": ...} or Meltano\'s {"singer_state": ...}')
  .option('-d, --discover', 'print the Singer catalog of the configured streams and exit')
  .option('--catalog <file>', 'Singer catalog; streams whose top-level metadata has "selected": false are skipped')
  .addHelpText('after', EXIT_CODES)
  .exitOverride((e) => {
    process.exit(e.exitCode === 0 ? 0 : USAGE_EXIT_CODE);
  })
  .action(async (opts: CliOptions) => {
    const secrets: string[] = [];
    try {
      process.exitCode = await main(opts, secrets);
    } catch (e) {
      const known = e instanceof TargetError;
      const text = known ? (e as Error).message : ((e as Error)?.stack ?? String(e));
      process.stderr.write(`tap-warehouse: ${redact(text, secrets)}\n`);
      process.exitCode = known ? (e as TargetError).exitCode : 1;
    }
  });

await program.parseAsync(process.argv);
