import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { STREAM, type Dataset } from './singer-data.js';

/**
 * The soak's generated records delivered the way a Meltano singer-sdk tap with `batch_config` delivers them:
 * SCHEMA, then BATCH messages whose `manifest` names jsonl files (one bare record object per line, gzip or
 * plain), a STATE after each BATCH. The files are the Dataset's own records (the `record` object of each
 * RECORD line, byte for byte, so ids beyond 2^53 stay exact), written once; a rerun from a state re-sends
 * the BATCH messages after it, as a tap would.
 */

export interface BatchMessagePlan {
  /** First and last position (1-based, inclusive) of the records in this BATCH. */
  from: number;
  to: number;
  gzip: boolean;
  /** file:// URLs, in manifest order. */
  manifest: string[];
}

export interface BatchLayout {
  batches: BatchMessagePlan[];
  files: number;
  gzipFiles: number;
  plainFiles: number;
  /** The largest file: its records, its JSON size and its size on disk. */
  largest: { records: number; jsonBytes: number; fileBytes: number; gzip: boolean };
}

/** The bare record object of a RECORD line the Dataset generated (`{"type":"RECORD",...,"record":{...},"time_extracted":...}`). */
export function bareRecord(recordLine: string): string {
  const start = recordLine.indexOf('"record":') + '"record":'.length;
  const end = recordLine.lastIndexOf(',"time_extracted"');
  if (start < '"record":'.length || end < start) throw new Error(`not a generated RECORD line: ${recordLine.slice(0, 80)}`);
  return recordLine.slice(start, end);
}

/**
 * Splits the dataset into BATCH messages of about `batchSize` records (1–3 files each, gzip and plain
 * alternating), plus one BATCH of `largeBatch` records in a single gzip file starting near 30% of the
 * records, and writes the files to `dir`.
 */
export function writeBatchFiles(dataset: Dataset, dir: string, opts: { batchSize: number; largeBatch: number; draw: () => number }): BatchLayout {
  mkdirSync(dir, { recursive: true });
  const batches: BatchMessagePlan[] = [];
  const layout: BatchLayout = { batches, files: 0, gzipFiles: 0, plainFiles: 0, largest: { records: 0, jsonBytes: 0, fileBytes: 0, gzip: false } };
  const largeFrom = Math.floor(dataset.records * 0.3);
  let largeDone = opts.largeBatch <= 0;
  let p = 1;
  while (p <= dataset.records) {
    const large = !largeDone && p > largeFrom;
    if (large) largeDone = true;
    const size = Math.min(dataset.records - p + 1, large ? opts.largeBatch : Math.max(1, Math.round(opts.batchSize * (0.5 + opts.draw()))));
    const gzip = large || batches.length % 2 === 0;
    const fileCount = large ? 1 : Math.min(size, 1 + Math.floor(opts.draw() * 3));
    const manifest: string[] = [];
    let start = p;
    for (let f = 0; f < fileCount; f++) {
      const end = f === fileCount - 1 ? p + size - 1 : start + Math.floor(size / fileCount) - 1;
      const lines: string[] = [];
      for (let q = start; q <= end; q++) lines.push(bareRecord(dataset.recordLine(q)));
      const text = lines.join('\n') + '\n';
      const data = gzip ? gzipSync(text) : Buffer.from(text);
      layout.files++;
      const path = join(dir, `part-${layout.files}${gzip ? '.json.gz' : '.jsonl'}`);
      writeFileSync(path, data);
      if (gzip) layout.gzipFiles++;
      else layout.plainFiles++;
      if (lines.length > layout.largest.records) layout.largest = { records: lines.length, jsonBytes: Buffer.byteLength(text), fileBytes: data.length, gzip };
      manifest.push(pathToFileURL(path).href);
      start = end + 1;
    }
    batches.push({ from: p, to: p + size - 1, gzip, manifest });
    p += size;
  }
  return layout;
}

export function batchMessageLine(batch: BatchMessagePlan): string {
  return JSON.stringify({ type: 'BATCH', stream: STREAM, encoding: { format: 'jsonl', compression: batch.gzip ? 'gzip' : 'none' }, manifest: batch.manifest });
}

/**
 * The tap's output after `from` (the position of the last printed state): SCHEMA, then each BATCH not yet
 * covered by that state followed by its STATE. A state is only ever printed at a BATCH's end; a position
 * inside a BATCH (which no tap state names) is reported through `onOddPosition` and the whole BATCH re-sent.
 */
export function* batchInput(dataset: Dataset, layout: BatchLayout, from: number, onOddPosition?: (position: number) => void): Generator<string> {
  yield dataset.schemaLine();
  for (const batch of layout.batches) {
    if (batch.to <= from) continue;
    if (batch.from <= from) onOddPosition?.(from);
    yield batchMessageLine(batch);
    yield dataset.stateLine(batch.to);
  }
}
