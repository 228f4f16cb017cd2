import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { InputError } from '../core/errors.js';
import type { InputMessage, SingerMessage } from './messages.js';
import { parseExact } from './exact-json.js';

/**
 * Singer lines from a byte stream, a chunk's worth at a time. Pulls the next chunk only when the consumer
 * asks for the next batch, so a slow consumer (delivery backpressure) stops reading and memory stays flat.
 * Batches, not single lines, because each step of an async iterator costs a few promise hops: per chunk
 * that is noise, per line it was a large share of the target's CPU time.
 */
export async function* readLineBatches(input: Readable): AsyncGenerator<{ firstLine: number; lines: string[] }> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let lineNo = 0;
  for await (const chunk of input) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
    const lines: string[] = [];
    let start = 0;
    let nl: number;
    while ((nl = pending.indexOf('\n', start)) !== -1) {
      const end = nl > start && pending.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      lines.push(pending.slice(start, end));
      start = nl + 1;
    }
    pending = pending.slice(start);
    if (lines.length > 0) {
      yield { firstLine: lineNo + 1, lines };
      lineNo += lines.length;
    }
  }
  pending += decoder.end();
  if (pending.length > 0) yield { firstLine: lineNo + 1, lines: [pending.endsWith('\r') ? pending.slice(0, -1) : pending] };
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
      if (msg.schema === null || typeof msg.schema !== 'object' || Array.isArray(msg.schema)) {
        throw new InputError(line, 'SCHEMA has no "schema" object', stream);
      }
      if (msg.key_properties !== undefined && !isStringArray(msg.key_properties)) {
        throw new InputError(line, '"key_properties" must be a list of property names', stream);
      }
      return { ...(msg as object), key_properties: (msg.key_properties as string[] | undefined) ?? [] } as SingerMessage;
    case 'STATE':
      if (!('value' in msg)) throw new InputError(line, 'STATE has no "value"');
      return msg as unknown as SingerMessage;
    case 'ACTIVATE_VERSION':
      if (stream === undefined) throw new InputError(line, 'ACTIVATE_VERSION has no "stream"');
      return msg as unknown as SingerMessage;
    default:
      onUnknown(line, type);
      return undefined;
  }
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}
