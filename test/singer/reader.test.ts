import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../connector/core/errors.js';
import { readLineBatches, readLines, readMessages } from '../../connector/singer/reader.js';
import type { InputMessage } from '../../connector/singer/messages.js';

async function collect(text: string | (Buffer | string)[], onUnknown = (_l: number, _t: string) => {}): Promise<InputMessage[]> {
  const out: InputMessage[] = [];
  for await (const m of readMessages(Readable.from(typeof text === 'string' ? [text] : text), onUnknown)) out.push(m);
  return out;
}

describe('reader', () => {
  it('numbers lines, skips blank lines, handles CRLF and a last line without newline', async () => {
    const msgs = await collect('{"type":"STATE","value":1}\r\n\n   \n{"type":"STATE","value":2}');
    expect(msgs.map((m) => m.line)).toEqual([1, 4]);
    expect(msgs.map((m) => (m.message as { value: number }).value)).toEqual([1, 2]);
  });

  it('joins lines and multi-byte characters split across chunks', async () => {
    const whole = Buffer.from('{"type":"STATE","value":"συμβολοσειρά 简单"}\n');
    const chunks = [whole.subarray(0, 27), whole.subarray(27, 29), whole.subarray(29)];
    const msgs = await collect(chunks);
    expect((msgs[0]!.message as { value: string }).value).toBe('συμβολοσειρά 简单');
  });

  it('reports unknown message types and goes on', async () => {
    const seen: [number, string][] = [];
    const msgs = await collect('{"type":"DEBUG_DUMP"}\n{"type":"STATE","value":{}}\n', (l, t) => seen.push([l, t]));
    expect(seen).toEqual([[1, 'DEBUG_DUMP']]);
    expect(msgs).toHaveLength(1);
  });

  it.each([
    ['{"type":"STATE", broken', /input line 2: malformed JSON/],
    ['{"stream":"s","record":{}}', /input line 2: message has no "type"/],
    ['[1,2]', /input line 2: a Singer message must be a JSON object/],
    ['{"type":"RECORD","stream":"calls"}', /input line 2 \(stream "calls"\): RECORD has no "record" object/],
    ['{"type":"SCHEMA","stream":"calls","schema":{},"key_properties":"id"}', /key_properties/],
    ['{"type":"BATCH","stream":"calls","encoding":{"format":"jsonl"}}', /input line 2 \(stream "calls"\): BATCH "manifest" must be a list/],
    ['{"type":"BATCH","stream":"calls","manifest":[]}', /BATCH has no "encoding"/],
  ])('stops on %s with the line number', async (bad, message) => {
    const err = await collect(`{"type":"STATE","value":1}\n${bad}\n`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(message);
  });

  it('keeps integers beyond 2^53 exact', async () => {
    const msgs = await collect('{"type":"RECORD","stream":"s","record":{"id":12345678901234567890,"small":42,"f":0.1}}\n');
    const rec = (msgs[0]!.message as { record: Record<string, unknown> }).record;
    expect(rec.id).toBe(12345678901234567890n);
    expect(rec.small).toBe(42);
    expect(rec.f).toBe(0.1);
  });

  it('reads lazily: a consumer that stops early leaves the rest unread', async () => {
    let produced = 0;
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 100_000; i++) {
          produced++;
          yield `{"type":"STATE","value":${i}}\n`;
        }
      })(),
    );
    let n = 0;
    for await (const _ of readLines(source)) if (++n === 10) break;
    expect(produced).toBeLessThan(1000);
  });

  it('reads one very long line in time linear in its size, split over many chunks', async () => {
    const size = 30 * 1024 * 1024;
    const record = `{"type":"STATE","value":"${'x'.repeat(size)}"}\n`;
    const chunks: string[] = [];
    for (let i = 0; i < record.length; i += 65_536) chunks.push(record.slice(i, i + 65_536));
    const started = performance.now();
    const msgs = await collect(chunks);
    expect((msgs[0]!.message as { value: string }).value).toHaveLength(size);
    // Quadratic splitting took many seconds for this; linear takes well under one.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('stops on a line longer than the limit, naming the line and the setting', async () => {
    const text = '{"type":"STATE","value":1}\n' + `{"type":"STATE","value":"${'y'.repeat(5000)}"}\n`;
    const read = async () => {
      for await (const _ of readLineBatches(Readable.from([text.slice(0, 3000), text.slice(3000)]), { maxLineBytes: 1000, limitName: 'max_line_bytes' }));
    };
    await expect(read()).rejects.toThrow(/input line 2: line is longer than 1000 bytes \(setting max_line_bytes\)/);
  });
});
