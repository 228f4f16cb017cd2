import type { Readable } from 'node:stream';
import { InputError, MappingErrors } from '../core/errors.js';
import { loadMappingText } from '../mapping/index.js';
import { recordStep } from '../run/record-step.js';
import { readBatchRecords } from '../singer/batch-files.js';
import type { JsonObject, SchemaMessage } from '../singer/messages.js';
import { readMessages } from '../singer/reader.js';
import { StreamRegistry, type StreamInfo } from '../singer/streams.js';
import { declareSchema, declareSqlType, newStreamProfile, sampleRecord, type StreamProfile } from './profile.js';
import { suggestStream, type SuggestOptions } from './rules.js';
import type { FieldSource, StreamSuggestion, SuggestedField } from './suggestion.js';
import { mappingText, type FileHeader } from './yaml-text.js';

/**
 * `init`'s work without its files: profile the streams of a tap's output (or a catalog), suggest a mapping
 * for each, and check the suggestion the way a run would: it must load, and every sampled record must map.
 * A field the sample shows would reject rows is left out (and listed), so the file works as written.
 */

export const DEFAULT_SAMPLE = 10_000;

export interface Profiles {
  streams: Map<string, StreamProfile>;
  /** The last SCHEMA of each stream (for the record check); none for a catalog. */
  schemas: Map<string, SchemaMessage>;
}

/** Reads Singer messages, keeping each stream's schema and its first `sample` records. */
export async function profileMessages(input: Readable, sample: number, maxLineBytes?: number): Promise<Profiles> {
  const streams = new Map<string, StreamProfile>();
  const schemas = new Map<string, SchemaMessage>();
  for await (const { line, message } of readMessages(input, () => undefined)) {
    if (message.type === 'SCHEMA') {
      const profile = streams.get(message.stream) ?? newStreamProfile(message.stream);
      streams.set(message.stream, profile);
      declareSchema(profile, message.schema, message.key_properties ?? []);
      profile.schemaLine = line;
      schemas.set(message.stream, message);
      continue;
    }
    if (message.type !== 'RECORD' && message.type !== 'BATCH') continue;
    const profile = streams.get(message.stream);
    if (!profile) throw new InputError(line, `${message.type} before any SCHEMA for its stream`, message.stream);
    if (message.type === 'RECORD') {
      if (profile.records.length < sample) sampleRecord(profile, message.record);
      else profile.unsampled++;
      continue;
    }
    for await (const chunk of readBatchRecords(message, line, maxLineBytes)) {
      for (const record of chunk.records) {
        if (profile.records.length < sample) sampleRecord(profile, record);
        else profile.unsampled++;
      }
    }
  }
  return { streams, schemas };
}

/** A Singer catalog (`--discover` output): each stream's schema, key and, when the tap says them, SQL types. */
export function profileCatalog(catalog: unknown, file: string): Profiles {
  const entries = (catalog as { streams?: unknown })?.streams;
  if (!Array.isArray(entries)) throw new InputError(1, `${file} is not a Singer catalog: it has no "streams" list`);
  const streams = new Map<string, StreamProfile>();
  const selected = entries.filter((e) => isSelected(e as JsonObject));
  for (const entry of (selected.length > 0 ? selected : entries) as JsonObject[]) {
    const name = typeof entry.stream === 'string' ? entry.stream : entry.tap_stream_id;
    if (typeof name !== 'string' || entry.schema === null || typeof entry.schema !== 'object') continue;
    const metadata = Array.isArray(entry.metadata) ? (entry.metadata as { breadcrumb?: unknown; metadata?: JsonObject }[]) : [];
    const top = metadata.find((m) => Array.isArray(m.breadcrumb) && m.breadcrumb.length === 0)?.metadata ?? {};
    const keys = Array.isArray(entry.key_properties) ? entry.key_properties : Array.isArray(top['table-key-properties']) ? top['table-key-properties'] : [];
    const profile = newStreamProfile(name);
    declareSchema(profile, entry.schema as JsonObject, keys.filter((k): k is string => typeof k === 'string'));
    for (const m of metadata) {
      const crumb = m.breadcrumb;
      const sqlType = m.metadata?.['sql-datatype'];
      if (Array.isArray(crumb) && crumb.length === 2 && crumb[0] === 'properties' && typeof sqlType === 'string') declareSqlType(profile, String(crumb[1]), sqlType);
    }
    streams.set(name, profile);
  }
  return { streams, schemas: new Map() };
}

function isSelected(entry: JsonObject): boolean {
  const metadata = Array.isArray(entry.metadata) ? (entry.metadata as { breadcrumb?: unknown; metadata?: JsonObject }[]) : [];
  const top = metadata.find((m) => Array.isArray(m.breadcrumb) && m.breadcrumb.length === 0)?.metadata;
  return top?.selected === true || entry.selected === true;
}

export interface CheckedSuggestion {
  suggestion: StreamSuggestion;
  /** Sampled records the written mapping maps. */
  mapped: number;
  /** Sampled records refused whatever the mapping (their key or the stream's own schema), with a reason each. */
  refused: { count: number; reason?: string };
  unsampled: number;
}

/**
 * The suggestion for one stream, checked: the text loads as a mapping file, and fields that reject sampled
 * records are left out (a few rounds: leaving a field out can only remove reasons).
 */
/** A field that rejects at most this share of the sampled rows is kept (the rows are the data's fault), else left out. */
const KEEP_FIELD_UP_TO = 0.05;

export function checkedSuggestion(profiles: Profiles, stream: string, opts: SuggestOptions, header: FileHeader): CheckedSuggestion {
  const profile = profiles.streams.get(stream)!;
  const suggestion = suggestStream(profile, opts);
  const schema = profiles.schemas.get(stream);
  const info = schema ? new StreamRegistry(true).register(schema, 1) : undefined;
  const kept = new Set<string>();
  let result = sampleCheck(suggestion, info, profile, header);
  for (let round = 0; round < 4 && [...result.failing.keys()].some((f) => !kept.has(f)); round++) {
    for (const [field, { reason, count }] of result.failing) {
      if (kept.has(field)) continue;
      const rows = `${count} of ${profile.records.length} sampled rows`;
      if (count <= profile.records.length * KEEP_FIELD_UP_TO) {
        // A few bad values in a good column: keep the field; those rows go to the rejects file with the reason.
        kept.add(field);
        suggestion.notes.push(`${field} rejects ${rows} (e.g. ${reason}): fix them at the source, or they go to the rejects file.`);
      } else if (removeField(suggestion.fields, field.split('.'))) suggestion.dropped.push(`${field}: it would reject ${rows}, e.g. ${reason}`);
    }
    result = sampleCheck(suggestion, info, profile, header);
  }
  return { suggestion, mapped: result.mapped, refused: result.refused, unsampled: profile.unsampled };
}

function sampleCheck(suggestion: StreamSuggestion, info: StreamInfo | undefined, profile: StreamProfile, header: FileHeader) {
  let mapping;
  try {
    mapping = loadMappingText(header.file, mappingText([suggestion], header)).forStream(suggestion.stream)!;
  } catch (e) {
    // A suggestion that does not load is a bug in the rules, not the user's input.
    if (e instanceof MappingErrors) throw new Error(`init wrote a mapping that does not load:\n${e.message}`);
    throw e;
  }
  const failing = new Map<string, { reason: string; count: number }>();
  const refused = { count: 0, reason: undefined as string | undefined };
  let mapped = 0;
  if (!info) return { mapped, failing, refused };
  for (const record of profile.records) {
    const step = recordStep({ type: 'RECORD', stream: suggestion.stream, record }, info, mapping);
    if (step.kind === 'item') mapped++;
    else if (step.kind === 'reject' && step.stage === 'mapping') {
      for (const reason of step.reasons) {
        const field = fieldOfReason(reason);
        if (!field || field === 'externalId') continue;
        const seen = failing.get(field);
        if (seen) seen.count++;
        else failing.set(field, { reason: reason.slice(reason.indexOf(':') + 1).trim(), count: 1 });
      }
      if (step.reasons.every((r) => fieldOfReason(r) === 'externalId')) refused.count++, (refused.reason ??= step.reasons[0]);
    } else if (step.kind === 'reject') {
      refused.count++;
      refused.reason ??= step.reasons[0];
    }
  }
  return { mapped, failing, refused };
}

/** `account.addresses[0].zip: value …` → `account.addresses.zip`. */
function fieldOfReason(reason: string): string | undefined {
  const m = /^([A-Za-z][\w.[\]]*):/.exec(reason);
  return m ? m[1]!.replace(/\[\d+\]/g, '') : undefined;
}

/** Removes the field at a path of field names (list items and `each` fields are walked through). */
function removeField(fields: SuggestedField[], path: string[]): boolean {
  const i = fields.findIndex((f) => f.name === path[0]);
  if (i < 0) return false;
  if (path.length === 1) {
    fields.splice(i, 1);
    return true;
  }
  const inner = (s: FieldSource): SuggestedField[][] =>
    s.kind === 'group' || s.kind === 'each' ? [s.fields] : s.kind === 'list' ? s.items.flatMap((item) => inner(item)) : [];
  return inner(fields[i]!.source).some((f) => removeField(f, path.slice(1)));
}
