import type { Readable } from 'node:stream';
import { InputError } from '../core/errors.js';
import type { InputMessage, SingerMessage } from './messages.js';
import { parseExact } from './exact-json.js';

/** The longest line read unless the caller says otherwise (setting max_line_bytes). */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface LineReadOptions {
  /** A line longer than this many bytes stops the read with an InputError naming its number. */
  maxLineBytes?: number;
  /** The setting that raises the limit, for the message. */
  limitName?: string;
}

/**
 * Singer lines from a byte stream, a chunk's worth at a time. Pulls the next chunk only when the consumer
 * asks for the next batch, so a slow consumer (delivery backpressure) stops reading and memory stays flat.
 * Batches, not single lines, because each step of an async iterator costs a few promise hops: per chunk
 * that is noise, per line it was a large share of the target's CPU time.
 *
 * Split on bytes, decoded per line: newlines are found with `Buffer#indexOf` (native, no decoding) and each
 * line is decoded once on its own, so no chunk-sized string is built and sliced. A line that spans chunks
 * is kept as a list of byte pieces joined once at its end, so the work stays linear in the input (a
 * multi-byte character split between chunks is whole again once joined). A line over `maxLineBytes` is an
 * InputError, not an out-of-memory.
 */
export async function* readLineBatches(
  input: AsyncIterable<Buffer | string>,
  opts: LineReadOptions = {},
): AsyncGenerator<{ firstLine: number; lines: string[] }> {
  const maxBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  /** The start of a line that began in an earlier chunk, as byte pieces, and its length so far. */
  let pieces: Buffer[] = [];
  let pieceBytes = 0;
  let lineNo = 0;
  const tooLong = (): InputError =>
    new InputError(lineNo + 1, `line is longer than ${maxBytes} bytes${opts.limitName ? ` (setting ${opts.limitName})` : ''}; nothing after it was read`);
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const lines: string[] = [];
    // The lines before a too-long one are still handed over (their states can be printed), then the error.
    let error: InputError | undefined;
    let start = 0;
    let nl: number;
    while ((nl = bytes.indexOf(10, start)) !== -1) {
      if (pieceBytes + (nl - start) > maxBytes) {
        error = tooLong();
        break;
      }
      let whole = bytes;
      let from = start;
      let end = nl;
      if (pieces.length > 0) {
        pieces.push(bytes.subarray(start, nl));
        whole = Buffer.concat(pieces, pieceBytes + (nl - start));
        from = 0;
        end = whole.length;
        pieces = [];
        pieceBytes = 0;
      }
      if (end > from && whole[end - 1] === 13) end--; // CRLF
      lines.push(whole.toString('utf8', from, end));
      lineNo++;
      start = nl + 1;
    }
    if (!error && start < bytes.length) {
      pieces.push(bytes.subarray(start));
      pieceBytes += bytes.length - start;
      if (pieceBytes > maxBytes) error = tooLong();
    }
    if (lines.length > 0) yield { firstLine: lineNo - lines.length + 1, lines };
    if (error) throw error;
  }
  if (pieceBytes > 0) {
    const tail = Buffer.concat(pieces, pieceBytes);
    const end = tail[tail.length - 1] === 13 ? tail.length - 1 : tail.length;
    yield { firstLine: lineNo + 1, lines: [tail.toString('utf8', 0, end)] };
  }
}

/** Singer lines one at a time, with their 1-based line numbers. */
export async function* readLines(input: Readable): AsyncGenerator<{ line: number; text: string }> {
  for await (const { firstLine, lines } of readLineBatches(input)) {
    for (let i = 0; i < lines.length; i++) yield { line: firstLine + i, text: lines[i]! };
  }
}

export type UnknownMessageHandler = (line: number, type: string) => void;

/** Singer messages with their line numbers; blank lines are skipped, unknown types reported and skipped. */
export async function* readMessages(input: Readable, onUnknown: UnknownMessageHandler): AsyncGenerator<InputMessage> {
  for await (const { line, text } of readLines(input)) {
    if (text.trim() === '') continue;
    const message = decodeMessage(line, text, onUnknown);
    if (message) yield { line, message };
  }
}

export function decodeMessage(line: number, text: string, onUnknown: UnknownMessageHandler): SingerMessage | undefined {
  let value: unknown;
  try {
    value = parseExact(text);
  } catch (e) {
    throw new InputError(line, `malformed JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError(line, 'a Singer message must be a JSON object');
  }
  const msg = value as Record<string, unknown>;
  const type = msg.type;
  if (typeof type !== 'string') throw new InputError(line, 'message has no "type"');
  const stream = typeof msg.stream === 'string' ? msg.stream : undefined;
  switch (type) {
    case 'RECORD':
      if (stream === undefined) throw new InputError(line, 'RECORD has no "stream"');
      if (msg.record === null || typeof msg.record !== 'object' || Array.isArray(msg.record)) {
        throw new InputError(line, 'RECORD has no "record" object', stream);
      }
      return msg as unknown as SingerMessage;
    case 'SCHEMA':
      if (stream === undefined) throw new InputError(line, 'SCHEMA has no "stream"');
      checkNesting(msg.schema, line, 'SCHEMA', stream);
      if (msg.schema === null || typeof msg.schema !== 'object' || Array.isArray(msg.schema)) {
        throw new InputError(line, 'SCHEMA has no "schema" object', stream);
      }
      if (msg.key_properties !== undefined && !isStringArray(msg.key_properties)) {
        throw new InputError(line, '"key_properties" must be a list of property names', stream);
      }
      return { ...(msg as object), key_properties: (msg.key_properties as string[] | undefined) ?? [] } as SingerMessage;
    case 'STATE':
      if (!('value' in msg)) throw new InputError(line, 'STATE has no "value"');
      checkNesting(msg.value, line, 'STATE');
      return msg as unknown as SingerMessage;
    case 'ACTIVATE_VERSION':
      if (stream === undefined) throw new InputError(line, 'ACTIVATE_VERSION has no "stream"');
      return msg as unknown as SingerMessage;
    case 'BATCH':
      return decodeBatch(line, msg, stream);
    default:
      onUnknown(line, type);
      return undefined;
  }
}

/** A Meltano SDK BATCH message: `encoding` {format, compression} and a `manifest` of file URLs. */
function decodeBatch(line: number, msg: Record<string, unknown>, stream: string | undefined): SingerMessage {
  if (stream === undefined) throw new InputError(line, 'BATCH has no "stream"');
  const encoding = msg.encoding as { format?: unknown; compression?: unknown } | null | undefined;
  if (encoding === null || typeof encoding !== 'object' || typeof encoding.format !== 'string') {
    throw new InputError(line, 'BATCH has no "encoding" with a "format"', stream);
  }
  if (encoding.compression !== undefined && encoding.compression !== null && typeof encoding.compression !== 'string') {
    throw new InputError(line, 'BATCH "encoding.compression" must be text', stream);
  }
  if (!isStringArray(msg.manifest)) throw new InputError(line, 'BATCH "manifest" must be a list of file URLs', stream);
  return {
    type: 'BATCH',
    stream,
    encoding: { format: encoding.format, compression: (encoding.compression as string | null | undefined) ?? undefined },
    manifest: msg.manifest,
  };
}

/** The deepest nesting a SCHEMA or a STATE may have: real ones stay far below; deeper ones would crash the walks over them. */
export const MAX_NESTING = 256;

/** Counts nesting without recursion (a 50,000-level SCHEMA must not blow the stack while being measured). */
function checkNesting(value: unknown, line: number, what: string, stream?: string): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_NESTING) throw new InputError(line, `${what} is nested more than ${MAX_NESTING} levels deep`, stream);
    for (const child of Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}
