import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadMappings } from '../connector/mapping/index.js';
import { SIRO_OBJECTS } from '../connector/siro/objects.js';

/**
 * The naive baseline: what a hand-written sync script does. Read the Singer file line by line, map each
 * record with the same mapping module, and PUT it to the single-item endpoint, one request after the
 * other, waiting for each answer. No batching, no concurrency. Prints
 * `{"records": n, "ok": n, "failed": n, "ms": t}` on stdout; the token comes from $BENCH_SIRO_TOKEN.
 *
 *   node dist/bench/naive.js --input FILE --base-url URL --mappings PATH
 */

const { values } = parseArgs({
  options: {
    input: { type: 'string' },
    'base-url': { type: 'string' },
    mappings: { type: 'string' },
  },
});
if (!values.input || !values['base-url'] || !values.mappings) {
  process.stderr.write('usage: naive --input FILE --base-url URL --mappings PATH\n');
  process.exit(2);
}
const token = process.env.BENCH_SIRO_TOKEN ?? '';
const mappings = loadMappings(values.mappings);
const url = new URL(SIRO_OBJECTS.engagement.paths.single.slice(1), values['base-url'].replace(/\/*$/, '/')).href;

const started = performance.now();
let records = 0;
let ok = 0;
let failed = 0;
for await (const line of createInterface({ input: createReadStream(values.input), crlfDelay: Infinity })) {
  if (line.trim() === '') continue;
  const message = JSON.parse(line) as { type: string; stream: string; record: Record<string, unknown> };
  if (message.type !== 'RECORD') continue;
  records++;
  const mapped = mappings.forStream(message.stream)?.map(message.record);
  if (!mapped?.ok) {
    failed++;
    continue;
  }
  const res = await fetch(url, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(mapped.payload),
  });
  await res.arrayBuffer();
  if (res.ok) ok++;
  else failed++;
}
process.stdout.write(JSON.stringify({ records, ok, failed, ms: performance.now() - started }) + '\n');
