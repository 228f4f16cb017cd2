import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { InputError } from '../core/errors.js';
import { parseExact } from './exact-json.js';
import type { BatchMessage, JsonObject } from './messages.js';
import { readLineBatches } from './reader.js';

/**
 * The records of a Meltano SDK BATCH message: each manifest entry is a local file (`file://` URL) of JSON
 * lines, one bare record object per line, plain or gzip-compressed. Read a chunk at a time, pulled by the
 * consumer, so memory stays flat however large the files are. Anything the target cannot read stops the run
 * (InputError, exit 3) naming the tap setting that changes it: records are never skipped.
 */

export interface BatchChunk {
  /** The manifest file these records come from, and the 1-based line of the first one in it. */
  file: string;
  firstRow: number;
  records: JsonObject[];
}

const READABLE_FORMATS = new Set(['jsonl']);
const COMPRESSIONS = new Set(['gzip', 'none']);

/** Throws unless the target can read every file of the BATCH; call before any of its records is used. */
export function checkBatchMessage(message: BatchMessage, line: number): void {
  const { format, compression } = message.encoding;
  if (!READABLE_FORMATS.has(format)) {
    throw new InputError(
      line,
      `BATCH files in format "${format}" cannot be read (only jsonl): set the tap's batch_config.encoding.format to "jsonl"`,
      message.stream,
    );
  }
  const codec = compression ?? 'none';
  if (!COMPRESSIONS.has(codec)) {
    throw new InputError(
      line,
      `BATCH files compressed with "${codec}" cannot be read (gzip or none): set the tap's batch_config.encoding.compression to "gzip"`,
      message.stream,
    );
  }
  for (const url of message.manifest) localPath(url, line, message.stream);
}

/** The records of every file of the BATCH, in manifest order, a chunk at a time. */
export async function* readBatchRecords(message: BatchMessage, line: number, maxLineBytes?: number): AsyncGenerator<BatchChunk> {
  checkBatchMessage(message, line);
  const gzip = message.encoding.compression === 'gzip';
  for (const url of message.manifest) {
    const path = localPath(url, line, message.stream);
    const file = createReadStream(path);
    const input: Readable = gzip ? file.pipe(createGunzip()) : file;
    try {
      for await (const { firstLine, lines } of inFile(readLineBatches(failingAs(input, file, path, line, message.stream), { maxLineBytes }), path, line, message.stream)) {
        const records: JsonObject[] = [];
        for (let i = 0; i < lines.length; i++) {
          const text = lines[i]!;
          if (text.trim() === '') continue;
          records.push(parseRecord(text, path, firstLine + i, line, message.stream));
        }
        if (records.length > 0) yield { file: path, firstRow: firstLine, records };
      }
    } finally {
      input.destroy();
      file.destroy();
    }
  }
}

/** A line-level InputError of a batch file (a line over max_line_bytes) names the file and the BATCH's input line. */
async function* inFile<T>(lines: AsyncGenerator<T>, path: string, line: number, stream: string): AsyncGenerator<T> {
  try {
    yield* lines;
  } catch (e) {
    if (e instanceof InputError && !e.detail.startsWith('BATCH ')) throw new InputError(line, `BATCH file ${path} line ${e.line}: ${e.detail}`, stream);
    throw e;
  }
}

function localPath(url: string, line: number, stream: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError(line, `BATCH manifest entry "${url}" is not a URL`, stream);
  }
  if (parsed.protocol !== 'file:') {
    throw new InputError(
      line,
      `BATCH file ${parsed.protocol}//${parsed.host}${parsed.pathname} is not on this machine (only file:// URLs are read): set the tap's batch_config.storage.root to a local folder (file://...)`,
      stream,
    );
  }
  try {
    return fileURLToPath(parsed);
  } catch (e) {
    // file://host/… (how a relative storage root parses) or an encoded "/": not a path on this machine.
    throw new InputError(line, `BATCH file URL ${url} is not a local path (${(e as Error).message}): set the tap's batch_config.storage.root to an absolute file:/// folder`, stream);
  }
}

function parseRecord(text: string, path: string, row: number, line: number, stream: string): JsonObject {
  let value: unknown;
  try {
    value = parseExact(text);
  } catch (e) {
    throw new InputError(line, `BATCH file ${path} line ${row}: malformed JSON: ${(e as Error).message}`, stream);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError(line, `BATCH file ${path} line ${row}: a record must be a JSON object`, stream);
  }
  return value as JsonObject;
}

/**
 * The decompressed bytes; a missing file or broken gzip data becomes an InputError naming the file, not a
 * stack trace (an error of the file stream does not travel through pipe(), so it is watched on its own).
 */
async function* failingAs(input: Readable, file: Readable, path: string, line: number, stream: string): AsyncGenerator<Buffer | string> {
  let fileError: Error | undefined;
  const onFileError = (e: Error) => {
    fileError = e;
    if (input !== file) input.destroy(e);
  };
  file.on('error', onFileError);
  try {
    for await (const chunk of input) yield chunk as Buffer;
    if (fileError) throw fileError;
  } catch (e) {
    const err = (fileError ?? e) as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'Z_DATA_ERROR' || err.code === 'Z_BUF_ERROR' ? 'not valid gzip data' : err.message;
    throw new InputError(line, `BATCH file ${path} cannot be read: ${why}`, stream);
  } finally {
    file.off('error', onFileError);
  }
}
