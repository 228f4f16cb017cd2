import { closeSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { OutputError } from '../core/errors.js';
import { redact } from '../core/secrets.js';
import { writeAllSync } from '../core/write-all.js';
import { stringifyExact } from '../singer/exact-json.js';

/** One line of the rejects file: enough to find the record and fix it. */
export interface RejectEntry {
  stream: string;
  key: string;
  /** 1-based line of the RECORD (or of the BATCH message that named its file) in the input. */
  line: number;
  /** For a record of a BATCH message: its file and 1-based line there. */
  batch_file?: string;
  batch_row?: number;
  /** The record's position among RECORD messages (1-based). */
  seq: number;
  reasons: string[];
  /** Where the record was refused: its key, the record schema, the mapping (Siro's payload schema included), or Siro itself. */
  stage: 'input' | 'schema' | 'mapping' | 'siro';
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

  /** Appends the entry; an OutputError naming the file when it cannot (disk full, no permission, no folder). */
  write(entry: RejectEntry): void {
    const line = redact(stringifyExact({ at: new Date().toISOString(), run_id: this.runId, ...entry })) + '\n';
    try {
      if (this.fd === undefined) {
        mkdirSync(dirname(this.path), { recursive: true });
        this.fd = openSync(this.path, 'a');
      }
      // A short write (a nearly full disk) must not leave half a line that looks complete.
      writeAllSync(this.fd, Buffer.from(line));
    } catch (e) {
      throw new OutputError(`rejects_file ${this.path}`, e);
    }
    this.count++;
  }

  get written(): number {
    return this.count;
  }

  /** Rejects must survive a crash once their state is printed. */
  sync(): void {
    if (this.fd === undefined) return;
    try {
      fsyncSync(this.fd);
    } catch (e) {
      throw new OutputError(`rejects_file ${this.path}`, e);
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
