/**
 * One error vocabulary for the whole target. Each error says where it happened, so the CLI can print
 * a single clear line and pick the exit code without a stack trace.
 */
export abstract class TargetError extends Error {
  abstract readonly exitCode: number;
}

/** A setting is missing, unknown or invalid. */
export class ConfigError extends TargetError {
  readonly exitCode = 2;
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
  readonly exitCode = 2;
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
  readonly exitCode = 2;
  constructor(readonly errors: MappingError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'MappingErrors';
  }
}

/** The Singer input itself is broken (bad JSON, missing type, record before schema). */
export class InputError extends TargetError {
  readonly exitCode = 3;
  constructor(
    readonly line: number,
    readonly detail: string,
    readonly stream?: string,
  ) {
    super(`input line ${line}${stream !== undefined ? ` (stream "${stream}")` : ''}: ${detail}`);
    this.name = 'InputError';
  }
}

/** Siro refused the run as a whole (401/403, retries exhausted): stop, print no further state. */
export class FatalApiError extends TargetError {
  readonly exitCode = 4;
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'FatalApiError';
  }
}

/** Too many records were rejected (max_rejected). */
export class RejectLimitError extends TargetError {
  readonly exitCode = 5;
  constructor(message: string) {
    super(message);
    this.name = 'RejectLimitError';
  }
}

/** The run was interrupted by SIGTERM/SIGINT with records left undelivered. */
export class InterruptedError extends TargetError {
  readonly exitCode = 130;
  constructor(message: string) {
    super(message);
    this.name = 'InterruptedError';
  }
}
