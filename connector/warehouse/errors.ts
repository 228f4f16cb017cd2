import { TargetError } from '../core/errors.js';

/** The database could not be reached, or a query of the tap failed. The message never holds a password. */
export class WarehouseError extends TargetError {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'WarehouseError';
  }
}

/** Removes every secret from a text (error messages of drivers may quote connection strings). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}
