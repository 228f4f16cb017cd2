import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringifyExact } from '../singer/exact-json.js';

/** One line of the rejects file: enough to find the record and fix it. */
export interface RejectEntry {
  stream: string;
  key: string;
  /** 1-based line of the RECORD in the input. */
  line: number;
  /** The record's position among RECORD messages (1-based). */
  seq: number;
  reasons: string[];
  /** Where the record was refused: the record schema, the mapping, Siro's payload schema, or Siro itself. */
  stage: 'schema' | 'mapping' | 'payload' | 'siro' | 'input';
  status?: number;
  externalId?: string;
  payload?: Record<string, unknown>;
  record?: Record<string, unknown>;
}

/**
 * The rejects file (JSON lines). Written synchronously before the record counts as finished, so a state is
 * never printed ahead of a rejected record's line. Opened lazily: a clean run creates no file.
 */
export class RejectsFile {
  private fd: number | undefined;
  private count = 0;

  constructor(
    readonly path: string,
    private readonly runId: string,
  ) {}

  write(entry: RejectEntry): void {
    if (this.fd === undefined) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, 'a');
    }
    const line = stringifyExact({ at: new Date().toISOString(), run_id: this.runId, ...entry });
    writeSync(this.fd, line + '\n');
    this.count++;
  }

  get written(): number {
    return this.count;
  }

  /** Rejects must survive a crash once their state is printed. */
  sync(): void {
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
