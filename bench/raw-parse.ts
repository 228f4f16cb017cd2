import { createReadStream } from 'node:fs';
import { readLineBatches } from '../connector/singer/reader.js';

/**
 * The raw limit of the CPU-path figure: read the Singer file exactly as the target does (same stream, same
 * line splitter, `readLineBatches`) and `JSON.parse` each line, nothing else. The target cannot be faster
 * than this; the figure is how close it gets. Prints `{"lines": n, "records": m}` on stdout.
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
for await (const batch of readLineBatches(createReadStream(file))) {
  for (const text of batch.lines) {
    lines++;
    // Touch the result so the parse cannot be optimised away.
    if ((JSON.parse(text) as { type?: string }).type === 'RECORD') records++;
  }
}
process.stdout.write(JSON.stringify({ lines, records }) + '\n');
