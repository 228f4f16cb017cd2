import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * The raw reference of the CPU-path and re-run figures: node's own `readline` over a file stream and
 * `JSON.parse` per line, nothing else, as any script that reads Singer would. It is deliberately not the
 * target's line reader: the target's reader is part of what is being optimised, so the reference it is
 * measured against must be independent of it. Prints `{"lines": n, "records": m}` on stdout.
 *
 *   node dist/bench/raw-parse.js FILE
 */
const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: raw-parse FILE\n');
  process.exit(2);
}
let lines = 0;
let records = 0;
for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
  if (line === '') continue;
  lines++;
  // Touch the result so the parse cannot be optimised away.
  if ((JSON.parse(line) as { type?: string }).type === 'RECORD') records++;
}
process.stdout.write(JSON.stringify({ lines, records }) + '\n');
