import { createReadStream, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { Option, type Command } from 'commander';
import { stringify as losslessStringify } from 'lossless-json';
import { loadSettings, resolveMappingsPath, type Settings } from '../config/settings.js';
import { CONFIG_FLAGS, commandAction, configFileOf, parseLimit } from './command-support.js';
import { ConfigError, InputError } from '../core/errors.js';
import { decideChange, fingerprint, LedgerStore, ledgerOpenOptions, type KnownRow } from '../ledger/index.js';
import { loadMappings } from '../mapping/index.js';
import { unknownColumns, recordStep, type RecordRejectStage, type RecordStepResult } from '../run/record-step.js';
import type { JsonObject, RecordMessage } from '../singer/messages.js';
import { readMessages } from '../singer/reader.js';
import { readBatchRecords } from '../singer/batch-files.js';
import { StreamRegistry } from '../singer/streams.js';
import type { SiroObject } from '../siro/spec.js';

/**
 * `target-siro preview`: what the first records of an input would become, before anything is sent. For each
 * record: the record, the payload its mapping builds (or why it would be rejected) and, when the ledger is
 * there, whether Siro would get a new object, an update, nothing (payload unchanged) or a soft delete.
 * It sends nothing, writes no rejects, ledger rows or state, and prints no state.
 */

export type PreviewAction = 'create' | 'update' | 'unchanged' | 'delete' | 'upsert';

export interface PreviewItem {
  /** Position among the records previewed (1-based). */
  n: number;
  line: number;
  stream: string;
  /** key_properties as text, e.g. `id=42`. */
  key: string;
  record: JsonObject;
  outcome: 'mapped' | 'rejected' | 'skipped';
  object?: SiroObject;
  externalId?: string;
  payload?: Record<string, unknown>;
  /** Where a rejected record fails: its key, the stream's schema, or the mapping (which includes Siro's payload schema). */
  stage?: RecordRejectStage;
  reasons?: string[];
  /** What delivery would do (mapped records). `upsert` when there is no ledger to tell create from update. */
  action?: PreviewAction;
  note?: string;
}

export interface PreviewResult {
  input: string;
  limit: number;
  mappings: string[];
  ledger: { used: boolean; detail: string };
  records: PreviewItem[];
  /** True when the input holds more records after the last one previewed. */
  more: boolean;
  summary: { records: number; mapped: number; rejected: number; skipped: number; actions: Partial<Record<PreviewAction, number>> };
}

export interface PreviewOptions {
  configFile?: string;
  /** A file, or undefined / "-" for stdin. */
  input?: string;
  limit: number;
  env?: NodeJS.ProcessEnv;
  stdin?: Readable;
}

export async function runPreview(opts: PreviewOptions): Promise<PreviewResult> {
  // A preview never sends: no token needed.
  const settings = loadSettings({ configFile: opts.configFile, env: opts.env, overrides: { dry_run: true } });
  const mappings = loadMappings(resolveMappingsPath(settings));
  const fromFile = opts.input !== undefined && opts.input !== '-';
  if (fromFile && !existsSync(opts.input!)) throw new ConfigError(`--input ${opts.input}: no such file`);
  const input = fromFile ? createReadStream(opts.input!) : (opts.stdin ?? process.stdin);

  const ledger = await openLedgerIfPresent(settings);
  const registry = new StreamRegistry(settings.validate_records);
  const records: PreviewItem[] = [];
  /** Payload fingerprints of the records previewed so far: a later record with the same externalId compares with them. */
  const previewed = new Map<string, string>();
  let more = false;
  try {
    reading: for await (const { line, message } of readMessages(input, () => undefined)) {
      if (message.type === 'SCHEMA') {
        // The run's check of the columns a mapping reads, so preview fails where the run would.
        const mapping = mappings.forStream(message.stream);
        const unknown = mapping ? unknownColumns(message, line, mapping).error : undefined;
        if (unknown) throw unknown;
        registry.register(message, line);
      }
      // A BATCH's records are previewed like RECORDs (its files read as far as the limit needs).
      const batch = message.type === 'BATCH' ? readBatchRecords(message, line, settings.max_line_bytes) : undefined;
      if (message.type !== 'RECORD' && !batch) continue;
      const streamName = message.type === 'RECORD' || message.type === 'BATCH' ? message.stream : '';
      const stream = registry.get(streamName);
      if (!stream) throw new InputError(line, `${message.type} before any SCHEMA for its stream`, streamName);
      const sources = batch ?? oneRecord((message as RecordMessage).record);
      for await (const chunk of sources) {
        for (const record of chunk.records) {
          if (records.length >= opts.limit) {
            more = true;
            break reading;
          }
          const step = recordStep({ type: 'RECORD', stream: streamName, record }, stream, mappings.forStream(streamName));
          const item = previewItem(records.length + 1, line, record, stream.name, step);
          if (step.kind === 'item') {
            const known = ledger.store ? (await ledger.store.lookup(step.object, [step.externalId])).get(step.externalId) : undefined;
            previewAction(item, step, settings, known, previewed);
          }
          records.push(item);
        }
      }
    }
  } finally {
    input.destroy();
    await ledger.store?.close();
  }

  const summary: PreviewResult['summary'] = { records: records.length, mapped: 0, rejected: 0, skipped: 0, actions: {} };
  for (const r of records) {
    summary[r.outcome]++;
    if (r.action) summary.actions[r.action] = (summary.actions[r.action] ?? 0) + 1;
  }
  return {
    input: fromFile ? opts.input! : 'stdin',
    limit: opts.limit,
    mappings: mappings.files,
    ledger: { used: ledger.store !== undefined, detail: ledger.detail },
    records,
    more,
    summary,
  };
}

async function* oneRecord(record: JsonObject): AsyncGenerator<{ records: JsonObject[] }> {
  yield { records: [record] };
}

async function openLedgerIfPresent(settings: Settings): Promise<{ store?: LedgerStore; detail: string }> {
  if (!settings.ledger) return { detail: 'turned off (ledger: false): every record is sent as an upsert' };
  // A preview must not create a ledger: only an existing SQLite file (or a configured Postgres ledger) is read.
  if (!settings.ledger_url && !existsSync(resolve(settings.ledger_path))) {
    return { detail: `${settings.ledger_path} does not exist yet: every record is new to the target` };
  }
  const store = await LedgerStore.open(ledgerOpenOptions(settings));
  return { store, detail: store.location };
}

function previewItem(n: number, line: number, record: JsonObject, stream: string, step: RecordStepResult): PreviewItem {
  const base: PreviewItem = { n, line, stream, key: step.key, record, outcome: 'skipped' };
  if (step.kind === 'skip') return { ...base, note: step.note };
  if (step.kind === 'item') return { ...base, outcome: 'mapped', object: step.object, externalId: step.externalId, payload: step.payload };
  const built = step.stage === 'mapping' ? { object: step.object, reasons: step.reasons, payload: step.payload } : { reasons: step.reasons };
  return { ...base, outcome: 'rejected', stage: step.stage, ...built };
}

/** The ledger sink's change decision (ledger/change.ts); an earlier record of this preview stands for what a run would have written. */
function previewAction(
  item: PreviewItem,
  step: Extract<RecordStepResult, { kind: 'item' }>,
  settings: Settings,
  known: KnownRow | undefined,
  previewed: Map<string, string>,
): void {
  const fp = fingerprint(step.payload);
  const id = `${step.object}\u0000${step.externalId}`;
  const earlier = previewed.get(id);
  previewed.set(id, fp);
  const decision = decideChange({
    payload: step.payload,
    fingerprint: fp,
    known,
    openWrite: false,
    earlierFingerprint: earlier,
    skipUnchanged: settings.skip_unchanged,
    ledger: settings.ledger,
  });
  // Preview speaks of what Siro sees: bringing a soft-deleted row back is an update.
  item.action = decision.action === 'resurrect' ? 'update' : decision.action;
  if (decision.note !== undefined) item.note = decision.note;
}

// ---- output ----

/** The preview for a terminal: aligned labels, compact JSON that breaks into lines only where it must. */
export function formatPreviewText(result: PreviewResult, width = 100): string {
  const out: string[] = [];
  out.push(`preview of ${result.input}: first ${result.limit} record(s)`);
  out.push(`   mappings ${result.mappings.join(', ')}`);
  out.push(`   ledger   ${result.ledger.detail}`);
  const labelWidth = 9;
  // Continuation lines of compactJson carry their own indentation; reasons wrap under their first line.
  const column = 3 + labelWidth;
  const field = (label: string, text: string, indented: boolean) => {
    const lines = text.split('\n');
    out.push(`   ${label.padEnd(labelWidth)}${lines[0]}`);
    for (const l of lines.slice(1)) out.push(indented ? l : ' '.repeat(column) + l);
  };
  const jsonWidth = Math.max(60, width);
  for (const r of result.records) {
    out.push('');
    const where = `#${r.n} ${r.stream}${r.key ? ` ${r.key}` : ''} (line ${r.line})`;
    if (r.outcome === 'mapped') out.push(`${where} → ${r.object} "${r.externalId}": ${r.action!.toUpperCase()}${r.note ? ` (${r.note})` : ''}`);
    else if (r.outcome === 'rejected') out.push(`${where}: REJECTED at ${r.stage === 'mapping' ? 'mapping' : r.stage === 'schema' ? "the stream's schema" : 'its key'}`);
    else out.push(`${where}: SKIPPED (${r.note})`);
    field('record', compactJson(r.record, jsonWidth, column), true);
    if (r.payload) field('payload', compactJson(r.payload, jsonWidth, column), true);
    for (const reason of r.reasons ?? []) field('reason', reason, false);
  }
  out.push('');
  const s = result.summary;
  const actions = Object.entries(s.actions)
    .map(([a, c]) => `${c} ${a}`)
    .join(', ');
  out.push(
    `${s.records} record(s): ${s.mapped} mapped${actions ? ` (${actions})` : ''}, ${s.rejected} rejected, ${s.skipped} skipped` +
      `${result.more ? '; the input holds more records (--limit)' : ''}. Nothing was sent.`,
  );
  return out.join('\n') + '\n';
}

/**
 * JSON for a terminal: spaces after `:` and `,`, on one line when it fits in `width`; otherwise members are
 * filled into lines like words in a paragraph, aligned after the opening bracket, and only a member too long
 * for a line of its own is broken the same way. `startColumn` is where the first character will stand;
 * continuation lines carry their own indentation. Integers beyond 2^53 (bigint) are written exactly.
 */
export function compactJson(value: unknown, width = 100, startColumn = 0): string {
  const flat = inline(value);
  if (startColumn + flat.length <= width || value === null || typeof value !== 'object') return flat;
  const isArray = Array.isArray(value);
  const members: [prefix: string, value: unknown][] = isArray
    ? (value as unknown[]).map((v) => ['', v])
    : Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [`${JSON.stringify(k)}: `, v]);
  const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
  if (members.length === 0) return open + close;
  const inner = startColumn + 1;
  const pad = ' '.repeat(inner);
  const lines: string[] = [];
  let line = open;
  const column = () => (lines.length === 0 ? startColumn : 0) + line.length;
  const atLineStart = () => line === open || line === pad;
  members.forEach(([prefix, v], i) => {
    const tail = i === members.length - 1 ? close : ',';
    const whole = prefix + inline(v) + tail;
    const space = atLineStart() ? '' : ' ';
    if (column() + space.length + whole.length <= width) {
      line += space + whole;
      return;
    }
    if (!atLineStart()) {
      lines.push(line);
      line = pad;
    }
    if (inner + whole.length <= width) {
      line += whole;
      return;
    }
    const broken = (prefix + compactJson(v, width, inner + prefix.length) + tail).split('\n');
    line += broken[0];
    for (const part of broken.slice(1)) {
      lines.push(line);
      line = part;
    }
  });
  lines.push(line);
  return lines.join('\n');
}

function inline(value: unknown): string {
  if (value === null || typeof value !== 'object') return scalar(value);
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${inline(v)}`).join(', ')}}`;
}

function scalar(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value) ?? 'null';
}

export function formatPreviewJson(result: PreviewResult): string {
  return (losslessStringify(result, undefined, 2) ?? 'null') + '\n';
}

export function addPreviewCommand(program: Command): void {
  program
    .command('preview')
    .description('show what the first records of an input map to, and what delivery would do with them (sends nothing)')
    .option(CONFIG_FLAGS, 'JSON config file')
    .option('-i, --input <file>', 'Singer messages to preview ("-" or none: stdin)')
    .option('-n, --limit <n>', 'how many records to preview', (v) => parseLimit(v), 10)
    .addOption(new Option('--format <format>', 'output format: text for people, json (one JSON document) for scripts').choices(['text', 'json']).default('text'))
    .action(
      commandAction(async (flags: { input?: string; limit: number; format: 'text' | 'json' }, command: Command) => {
        const result = await runPreview({ configFile: configFileOf(command), input: flags.input, limit: flags.limit });
        process.stdout.write(flags.format === 'json' ? formatPreviewJson(result) : formatPreviewText(result, process.stdout.columns ?? 100));
      }),
    );
}
