/**
 * One error vocabulary for the whole target. Each error says where it happened, so the CLI can print
 * a single clear line and pick the exit code without a stack trace.
 */

/**
 * The exit codes of every command (README "Commands and exit codes"). `check` uses the same ones for the
 * same causes: 4 when Siro refused the token, 6 when Siro could not be reached or did not answer as Siro.
 */
export const EXIT_CODES = {
  ok: 0,
  bug: 1,
  config: 2,
  input: 3,
  siroRefused: 4,
  rejectLimit: 5,
  siroUnreachable: 6,
  output: 7,
  interrupted: 130,
} as const;

export abstract class TargetError extends Error {
  abstract readonly exitCode: number;
}

/** A setting is missing, unknown or invalid. */
export class ConfigError extends TargetError {
  readonly exitCode = EXIT_CODES.config;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/** A mapping file is wrong; the message starts with file:line:column. */
export class MappingError extends TargetError {
  readonly exitCode = EXIT_CODES.config;
  constructor(
    readonly position: SourcePosition,
    readonly detail: string,
  ) {
    super(`${position.file}:${position.line}:${position.column}: ${detail}`);
    this.name = 'MappingError';
  }
}

/** Several mapping problems found in one check, reported together. */
export class MappingErrors extends TargetError {
  readonly exitCode = EXIT_CODES.config;
  constructor(readonly errors: MappingError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'MappingErrors';
  }
}

/** The Singer input itself is broken (bad JSON, missing type, record before schema). */
export class InputError extends TargetError {
  readonly exitCode = EXIT_CODES.input;
  constructor(
    readonly line: number,
    readonly detail: string,
    readonly stream?: string,
  ) {
    super(`input line ${line}${stream !== undefined ? ` (stream "${stream}")` : ''}: ${detail}`);
    this.name = 'InputError';
  }
}

/** Siro refused the run as a whole (the token: 401/403): stop, print no further state. */
export class FatalApiError extends TargetError {
  readonly exitCode: number = EXIT_CODES.siroRefused;
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'FatalApiError';
  }
}

/**
 * Siro could not be reached, or did not answer as Siro, until the retries ran out: DNS, connection refused
 * or reset, TLS, timeouts, a 404 (no Siro API at base_url), 5xx, 429 or answers that are not Siro's. A
 * FatalApiError (the run stops, no further state), with the exit code `check` gives the same problem.
 */
export class SiroUnreachableError extends FatalApiError {
  override readonly exitCode: number = EXIT_CODES.siroUnreachable;
  constructor(message: string, status?: number) {
    super(message, status);
    this.name = 'SiroUnreachableError';
  }
}

/** Too many records were rejected (max_rejected). */
export class RejectLimitError extends TargetError {
  readonly exitCode = EXIT_CODES.rejectLimit;
  constructor(message: string) {
    super(message);
    this.name = 'RejectLimitError';
  }
}

/** The run was interrupted by SIGTERM/SIGINT with records left undelivered. */
export class InterruptedError extends TargetError {
  readonly exitCode = EXIT_CODES.interrupted;
  constructor(message: string) {
    super(message);
    this.name = 'InterruptedError';
  }
}

/**
 * An outcome could not be recorded: stdout (state lines), state_file, rejects_file, the ledger or the
 * dry-run output refused a write (closed pipe, disk full, permission denied, missing folder). The run stops
 * with no state past the failure: what was not recorded is read again next run.
 */
export class OutputError extends TargetError {
  readonly exitCode = EXIT_CODES.output;
  constructor(
    readonly target: string,
    readonly reason: unknown,
  ) {
    super(`cannot write ${target}: ${ioCause(reason)}`);
    this.name = 'OutputError';
  }
}

/** The short reason of a failed file operation (`no space left on device (ENOSPC)`), without a stack. */
export function ioCause(e: unknown): string {
  const err = e as NodeJS.ErrnoException | undefined;
  const code = err?.code;
  const known: Record<string, string> = {
    ENOSPC: 'no space left on device',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'no such file or folder',
    EROFS: 'read-only file system',
    EPIPE: 'the reader closed the pipe',
    EISDIR: 'it is a folder',
    EEXIST: 'a file stands where a folder is needed',
    ENOTDIR: 'a part of the path is not a folder',
    EDQUOT: 'disk quota exceeded',
    EIO: 'input/output error',
  };
  if (code && known[code]) return `${known[code]} (${code})`;
  const message = err?.message ?? String(e);
  return message.split('\n')[0]!;
}
