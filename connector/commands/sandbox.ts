import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { commandAction } from './command-support.js';
import { parseFaults } from '../sandbox/faults.js';
import { startSandbox } from '../sandbox/server.js';
import { DEFAULT_SANDBOX_TOKEN, type Sandbox, type SandboxFaults } from '../sandbox/types.js';

/**
 * `target-siro sandbox`: runs the sandbox until SIGINT/SIGTERM, for trying the target (and the demo) without
 * a Siro account. A fixed default port lets a config file point at it without editing.
 */

export const SANDBOX_CLI_DEFAULT_PORT = 4010;

export interface SandboxFaultOption {
  /** Commander flags, e.g. "--latency-ms <ms>". */
  flags: string;
  description: string;
  /** The key commander gives the value under in `opts()` (camelCase of the flag). */
  attribute: string;
  apply(faults: SandboxFaults, value: number): void;
}

export const sandboxFaultOptions: readonly SandboxFaultOption[] = [
  { flags: '--latency-ms <ms>', description: 'latency added to every API request', attribute: 'latencyMs', apply: (f, v) => (f.latencyMs = v) },
  { flags: '--jitter-ms <ms>', description: 'plus a random 0..ms', attribute: 'jitterMs', apply: (f, v) => (f.jitterMs = v) },
  { flags: '--error-rate <share>', description: 'share (0..1) of sync requests answered 500 before writing', attribute: 'errorRate', apply: (f, v) => (f.errorRate = v) },
  {
    flags: '--error-after-write-rate <share>',
    description: 'share (0..1) of sync requests answered 500 after writing',
    attribute: 'errorAfterWriteRate',
    apply: (f, v) => (f.errorAfterWriteRate = v),
  },
  { flags: '--drop-rate <share>', description: 'share (0..1) of sync requests whose connection is dropped unanswered', attribute: 'dropRate', apply: (f, v) => (f.dropRate = v) },
  { flags: '--rate-limit <perMinute>', description: 'requests per token per minute (default 1000; 0 = no limit)', attribute: 'rateLimit', apply: (f, v) => (f.rateLimitPerMinute = v) },
  { flags: '--max-batch-size <n>', description: 'batches with more items are answered 413', attribute: 'maxBatchSize', apply: (f, v) => (f.maxBatchSize = v) },
  { flags: '--burst-429 <count>', description: 'answer the first <count> API requests 429', attribute: 'burst429', apply: (f, v) => (f.burst429 = { count: v }) },
  { flags: '--seed <n>', description: 'seed of the fault draws', attribute: 'seed', apply: (f, v) => (f.seed = v) },
];

/** Fault settings from parsed CLI options (commander's `opts()`); ConfigError on a bad value. */
export function faultsFromCliOptions(values: Record<string, unknown>): SandboxFaults {
  const faults: SandboxFaults = {};
  for (const option of sandboxFaultOptions) {
    const raw = values[option.attribute];
    if (raw === undefined) continue;
    const value = typeof raw === 'number' ? raw : Number(String(raw).trim() || NaN);
    const flag = option.flags.split(' ')[0];
    if (!Number.isFinite(value)) throw new ConfigError(`sandbox option ${flag} needs a number, got "${String(raw)}"`);
    option.apply(faults, value);
  }
  try {
    return parseFaults(faults);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

export interface SandboxCommandOptions {
  port?: number;
  host?: string;
  token?: string;
  faults?: SandboxFaults;
  log?: (line: string) => void;
}

/**
 * Starts the sandbox, says where it listens, and closes it on SIGINT/SIGTERM. A token the user chose is
 * never printed; only the built-in demo token is, since it is no secret.
 */
export async function runSandboxCommand(opts: SandboxCommandOptions): Promise<Sandbox> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const token = opts.token ?? DEFAULT_SANDBOX_TOKEN.token;
  const port = opts.port ?? SANDBOX_CLI_DEFAULT_PORT;
  const sandbox = await startSandbox({ port, host: opts.host, tokens: [{ ...DEFAULT_SANDBOX_TOKEN, token }], faults: opts.faults }).catch(
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') throw new ConfigError(`sandbox: port ${port} is in use; pick another with --port (0 = any free port)`);
      throw e;
    },
  );
  log(`target-siro sandbox listening on ${sandbox.url} (use it as base_url)`);
  log('accepts token(s): 1');
  if (token === DEFAULT_SANDBOX_TOKEN.token) log(`token: ${DEFAULT_SANDBOX_TOKEN.token}`);
  const faults = Object.keys(opts.faults ?? {}).length ? JSON.stringify(opts.faults) : 'none';
  log(`faults: ${faults}; read-back: ${sandbox.url}/_sandbox/engagements, ${sandbox.url}/_sandbox/stats`);

  const close = async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await sandbox.close();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    void close().then(
      () => {
        const s = sandbox.stats();
        log(`sandbox stopped (${signal}): ${s.requests} requests, ${s.itemsWritten} items written, ${s.throttled} throttled`);
      },
      (e: Error) => {
        log(`sandbox failed to stop cleanly: ${e.message}`);
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { ...sandbox, close };
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`sandbox option --port needs 0..65535, got "${value}"`);
  return port;
}

/** Adds `target-siro sandbox [--port N] [fault options]` to the CLI. */
export function addSandboxCommand(program: Command): Command {
  const command = program
    .command('sandbox')
    .description("run a local stand-in for Siro's sync API (validation, upserts, rate limit, fault injection) until Ctrl-C")
    .option('-p, --port <port>', `port to listen on (0 picks a free one)`, String(SANDBOX_CLI_DEFAULT_PORT))
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--token <token>', `API token to accept (default "${DEFAULT_SANDBOX_TOKEN.token}")`);
  for (const option of sandboxFaultOptions) command.option(option.flags, option.description);
  command.action(
    commandAction(async (flags: Record<string, unknown> & { port: string; host: string; token?: string }) => {
      await runSandboxCommand({
        port: parsePort(flags.port),
        host: flags.host,
        token: flags.token,
        faults: faultsFromCliOptions(flags),
      });
    }),
  );
  return command;
}
