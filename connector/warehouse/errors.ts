import { ConfigError, EXIT_CODES, TargetError } from '../core/errors.js';

/**
 * tap-warehouse's failures, in target-siro's exit-code vocabulary (connector/core/errors.ts):
 *   2  configuration: a setting, a table, view or column that is not there, a `sql` stream's query the
 *      database refuses (syntax, unknown names, no rights), an unreadable --state or --catalog file
 *   3  bad data: the database refused a value while reading (SQLSTATE class 22: a cast in a `sql` stream,
 *      a bookmark that is not of the replication key's type)
 *   6  cannot connect: server down or unreachable, DNS, wrong password or user, missing database, SSL
 *      refused or an untrusted certificate, too many connections, the connection lost while reading, or
 *      the server canceled a read (statement_timeout, pg_cancel_backend: SQLSTATE 57014)
 *   130 interrupted by SIGTERM/SIGINT (cli.ts)
 *   1  anything else: a bug, or a database error with no class here (the message names its SQLSTATE)
 * Messages never hold a password.
 */

/** The database could not be reached, or refused the tap's connection (exit 6, as target-siro's "cannot connect"). */
export class WarehouseConnectError extends TargetError {
  readonly exitCode = EXIT_CODES.siroUnreachable; // the same code as target-siro's "cannot connect"
  constructor(message: string) {
    super(message);
    this.name = 'WarehouseConnectError';
  }
}

/** The database refused a value while the tap read rows (exit 3: bad input data). */
export class WarehouseDataError extends TargetError {
  readonly exitCode = EXIT_CODES.input;
  constructor(message: string) {
    super(message);
    this.name = 'WarehouseDataError';
  }
}

/** A query of the tap failed for a reason the tap has no class for (exit 1). */
export class WarehouseError extends TargetError {
  readonly exitCode = EXIT_CODES.bug;
  constructor(message: string) {
    super(message);
    this.name = 'WarehouseError';
  }
}

export type FailureKind = 'connect' | 'config' | 'data' | 'other';

/** Node's network and TLS error codes that mean the server could not be reached or not trusted. */
const CONNECT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EPIPE',
  'ECONNABORTED', 'EADDRNOTAVAIL',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** pg's own messages for connections that failed or were lost (they carry no code). */
const CONNECT_MESSAGES = [
  /does not support SSL/i,
  /Connection terminated/i,
  /timeout expired/i,
  /Timeout acquiring a connection/i,
  /SSL/,
  /certificate/i,
];

/**
 * What a driver error means for the tap. Postgres errors carry a SQLSTATE (`code`, five characters):
 * 08 connection exception, 28 invalid authorization (wrong password or user, pg_hba), 3D000 no such
 * database, 53300 too many connections, 57P01-57P03 the server shut down or is starting, 57014 a read
 * canceled by the server (statement_timeout, pg_cancel_backend: the warehouse did not serve it) → connect;
 * 42 syntax error or access rule violation (no such table or column, no rights), 3F000 no such schema → config;
 * 22 data exception → data.
 */
export function failureKind(e: unknown): FailureKind {
  for (const err of causes(e)) {
    const code = typeof err.code === 'string' ? err.code : undefined;
    if (code && /^[0-9A-Z]{5}$/.test(code) && !CONNECT_CODES.has(code)) {
      if (code.startsWith('08') || code.startsWith('28') || code === '3D000' || code === '53300' || /^57(014|P0[1-3])$/.test(code)) return 'connect';
      if (code.startsWith('42') || code === '3F000') return 'config';
      if (code.startsWith('22')) return 'data';
      return 'other';
    }
    if (code && (CONNECT_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))) return 'connect';
  }
  const message = e instanceof Error ? e.message : String(e);
  if (CONNECT_MESSAGES.some((m) => m.test(message))) return 'connect';
  return 'other';
}

/** The error and what it wraps (`cause`, an AggregateError's `errors`), each once. */
function causes(e: unknown): { code?: unknown }[] {
  const out: { code?: unknown }[] = [];
  const walk = (x: unknown, depth: number) => {
    if (x === null || typeof x !== 'object' || depth > 4 || out.includes(x)) return;
    out.push(x as { code?: unknown });
    walk((x as { cause?: unknown }).cause, depth + 1);
    const inner = (x as { errors?: unknown }).errors;
    if (Array.isArray(inner)) for (const i of inner) walk(i, depth + 1);
  };
  walk(e, 0);
  return out;
}

/** The SQLSTATE of a Postgres error, if it has one. */
function sqlState(e: unknown): string | undefined {
  for (const err of causes(e)) if (typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code) && !CONNECT_CODES.has(err.code)) return err.code;
  return undefined;
}

/** The error of the class `cause` calls for, with `message` (already free of secrets). */
export function warehouseError(message: string, cause: unknown): TargetError {
  switch (failureKind(cause)) {
    case 'connect':
      return new WarehouseConnectError(message);
    case 'config':
      return new ConfigError(message);
    case 'data':
      return new WarehouseDataError(message);
    default: {
      const state = sqlState(cause);
      return new WarehouseError(state ? `${message} (SQLSTATE ${state})` : message);
    }
  }
}

/** Removes every secret from a text (error messages of drivers may quote connection strings). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}
