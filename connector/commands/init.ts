import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import type { Readable } from 'node:stream';
import { Option, type Command } from 'commander';
import { ConfigError, InputError, OutputError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { checkedSuggestion, DEFAULT_SAMPLE, profileCatalog, profileMessages, type CheckedSuggestion, type Profiles } from '../init/suggest-mappings.js';
import { mappingText, nextCommand, type FileHeader } from '../init/yaml-text.js';
import { idPrefixes } from '../init/rules.js';
import type { SiroObject } from '../siro/objects.js';
import { commandAction, parseLimit } from './command-support.js';

/**
 * `target-siro init`: starter mapping files written from a tap's own output (or its catalog): each Siro
 * field with the column suggested for it and why, checked against the sampled records before it is written.
 * It sends nothing and writes nothing but the files it reports; an existing file is replaced only with --force.
 */

export interface InitOptions {
  input?: string;
  catalog?: string;
  streams?: string[];
  object?: SiroObject;
  /** A folder (one file per stream) or a .yml/.yaml file (every stream in it). */
  out: string;
  force: boolean;
  sample: number;
  stdin?: Readable;
}

export interface WrittenFile {
  file: string;
  streams: CheckedSuggestion[];
}

const YAML_FILE = /\.ya?ml$/i;

async function readProfiles(opts: InitOptions): Promise<{ profiles: Profiles; source: string; input?: string }> {
  const catalog = opts.catalog !== undefined ? readCatalog(opts.catalog) : undefined;
  // A catalog alone describes the streams; with --input (a file, or "-" for stdin) the records are read too.
  if (catalog && opts.input === undefined) return { profiles: catalog, source: `the catalog ${basename(opts.catalog!)}` };
  const fromFile = opts.input !== undefined && opts.input !== '-';
  if (fromFile && !existsSync(opts.input!)) throw new ConfigError(`--input ${opts.input}: no such file`);
  if (fromFile && statSync(opts.input!).isDirectory()) throw new ConfigError(`--input ${opts.input} is a folder: give the file of Singer messages`);
  const stdin = opts.stdin ?? process.stdin;
  if (!fromFile && (stdin as { isTTY?: boolean }).isTTY) {
    throw new ConfigError('init reads a tap\'s output: pipe it in (`tap-postgres … | target-siro init`), or give --input FILE or --catalog FILE');
  }
  const input = fromFile ? createReadStream(opts.input!) : stdin;
  try {
    const profiles = await profileMessages(input, opts.sample);
    if (catalog) addCatalog(profiles, catalog);
    const source = fromFile ? basename(opts.input!) : 'stdin';
    return { profiles, source: catalog ? `${source} and the catalog ${basename(opts.catalog!)}` : source, input: fromFile ? opts.input : undefined };
  } finally {
    input.destroy();
  }
}

function readCatalog(file: string): Profiles {
  if (!existsSync(file)) throw new ConfigError(`--catalog ${file}: no such file`);
  if (statSync(file).isDirectory()) throw new ConfigError(`--catalog ${file} is a folder: give the catalog file`);
  let catalog: unknown;
  try {
    catalog = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`--catalog ${file} is not JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  return profileCatalog(catalog, file);
}

/** The catalog's SQL types onto the streams the records describe (the records' own SCHEMA stays). */
function addCatalog(profiles: Profiles, catalog: Profiles): void {
  for (const [name, described] of catalog.streams) {
    const profile = profiles.streams.get(name);
    if (!profile) continue;
    for (const column of described.columns.values()) {
      const c = profile.columns.get(column.path);
      if (c && column.sqlType !== undefined) c.sqlType = column.sqlType;
    }
  }
}

function chosenStreams(profiles: Profiles, wanted: string[] | undefined): string[] {
  const seen = [...profiles.streams.keys()];
  if (seen.length === 0) throw new InputError(1, 'no stream to map: the input has no SCHEMA message (or the catalog no stream with a schema)');
  if (!wanted || wanted.length === 0) return seen;
  wanted = [...new Set(wanted)];
  for (const w of wanted) {
    if (!profiles.streams.has(w)) throw new ConfigError(`--stream ${w}: the input has no such stream${didYouMean(w, seen)} (streams: ${seen.join(', ')})`);
  }
  return wanted;
}

/** `public-calls` → `public-calls.yml`; characters a file name should not hold become `_`. */
function fileNameOf(stream: string): string {
  return `${stream.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_') || 'stream'}.yml`;
}

/** The files to write: one per stream in a folder, or all streams in the one file --out names. */
function plannedFiles(streams: string[], out: string): { file: string; streams: string[] }[] {
  const isFile = YAML_FILE.test(out) && !(existsSync(out) && statSync(out).isDirectory());
  if (isFile) return [{ file: out, streams }];
  // Two streams whose names make the same file name (`crm/calls`, `crm calls`) get a number each after the first.
  const taken = new Set<string>();
  return streams.map((s) => {
    let name = fileNameOf(s);
    for (let n = 2; taken.has(name.toLowerCase()); n++) name = fileNameOf(s).replace(/\.yml$/, `-${n}.yml`);
    taken.add(name.toLowerCase());
    return { file: join(out, name), streams: [s] };
  });
}

export async function runInit(opts: InitOptions): Promise<WrittenFile[]> {
  const { profiles, source, input } = await readProfiles(opts);
  const streams = chosenStreams(profiles, opts.streams);
  const plans = plannedFiles(streams, opts.out);
  const existing = plans.filter((p) => existsSync(p.file)).map((p) => p.file);
  if (existing.length > 0 && !opts.force) {
    throw new ConfigError(`${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}: init never overwrites a mapping; use --force to replace, or --out to write elsewhere`);
  }
  refuseMappedElsewhere(plans, opts.out);
  const prefixes = idPrefixes(streams);
  const written: WrittenFile[] = [];
  const texts: { file: string; text: string }[] = [];
  for (const plan of plans) {
    const header: FileHeader = { source: opts.catalog !== undefined && opts.input === undefined ? source : `${source} (${describeSample(profiles, plan.streams)})`, file: shownPath(plan.file), input };
    const checked = plan.streams.map((stream) => {
      try {
        return checkedSuggestion(profiles, stream, { object: opts.object, idPrefix: prefixes.get(stream) }, header);
      } catch (e) {
        if (e instanceof Error && /^(no key_properties|its key columns|its key_properties)/.test(e.message)) {
          const others = profiles.streams.size > 1 ? '; --stream picks the other streams' : '';
          throw new InputError(profiles.streams.get(stream)!.schemaLine, `cannot suggest a mapping: ${e.message}: Siro needs a key for externalId (the tap's key_properties)${others}`, stream);
        }
        throw e;
      }
    });
    texts.push({ file: plan.file, text: mappingText(checked.map((c) => c.suggestion), header) });
    written.push({ file: plan.file, streams: checked });
  }
  // Every file is built before the first is written: a failure leaves no half-written set behind.
  for (const { file, text } of texts) {
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
    } catch (e) {
      throw new OutputError(file, e);
    }
  }
  return written;
}

/**
 * A run loads every mapping file of a folder, and a stream may be named in only one: a stream the folder's
 * other files already name exactly would make every run fail, so init refuses it here and names the file.
 */
function refuseMappedElsewhere(plans: { file: string; streams: string[] }[], out: string): void {
  // A single --out file is loaded alone; a folder of mappings is loaded as a whole.
  const folder = out;
  if (!existsSync(folder) || !statSync(folder).isDirectory()) return;
  const ours = new Set(plans.map((p) => resolve(p.file)));
  for (const name of readdirSync(folder).filter((n) => YAML_FILE.test(n)).sort()) {
    const file = join(folder, name);
    if (ours.has(resolve(file))) continue;
    let names: string[];
    try {
      const doc = parse(readFileSync(file, 'utf8')) as { streams?: unknown } | null;
      names = doc?.streams && typeof doc.streams === 'object' ? Object.keys(doc.streams) : [];
    } catch {
      continue; // not a mapping init can read; `validate` reports it
    }
    const taken = plans.flatMap((p) => p.streams).filter((s) => names.includes(s));
    if (taken.length > 0) {
      throw new ConfigError(`${file} already maps ${taken.join(', ')}: a stream may be mapped in one file only (a run loads every file in ${folder}); use --out to write elsewhere, or --stream to leave it out`);
    }
  }
}

/** A path as the header's commands show it: relative to here when it is below here, else as given. */
function shownPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

function describeSample(profiles: Profiles, streams: string[]): string {
  const n = streams.reduce((sum, s) => sum + profiles.streams.get(s)!.records.length, 0);
  return `${n} record${n === 1 ? '' : 's'} sampled`;
}

/** What init reports on stderr: each file, each stream's outcome on the sample, then the next step. */
export function initReport(written: WrittenFile[], input: string | undefined): string {
  const lines: string[] = [];
  for (const w of written) {
    lines.push(`target-siro: wrote ${w.file}`);
    for (const c of w.streams) {
      const s = c.suggestion;
      const fields = countFields(s.fields);
      const sample = s.sampled === 0
        ? 'no records sampled (schema only)'
        : `${c.mapped.toLocaleString('en-US')} of ${s.sampled.toLocaleString('en-US')} sampled records map${c.unsampled > 0 ? ` (${c.unsampled} more not sampled)` : ''}`;
      const unused = s.unused.length === 0 ? 'every column used' : `${s.unused.length} column${s.unused.length === 1 ? '' : 's'} not used (listed in the file)`;
      lines.push(`  ${s.stream} → ${s.object}: ${fields} fields; ${sample}; ${unused}`);
      if (c.refused.count > 0) lines.push(`  ${s.stream}: ${c.refused.count} sampled records are refused whatever the mapping: ${c.refused.reason}`);
      for (const d of s.dropped) lines.push(`  ${s.stream}: left out ${d}`);
    }
  }
  const file = written.length === 1 ? written[0]!.file : dirname(written[0]!.file);
  lines.push(`next: ${nextCommand(file, input, 'preview')}`);
  return `${lines.join('\n')}\n`;
}

function countFields(fields: CheckedSuggestion['suggestion']['fields']): number {
  let n = 0;
  for (const f of fields) {
    const s = f.source;
    n += s.kind === 'leaf' ? 1 : s.kind === 'list' && s.items.every((i) => i.kind === 'leaf') ? 1 : s.kind === 'group' || s.kind === 'each' ? countFields(s.fields) : s.items.reduce((sum, i) => sum + (i.kind === 'group' ? countFields(i.fields) : 1), 0);
  }
  return n;
}

export function addInitCommand(program: Command): void {
  program
    .command('init')
    .description("write starter mapping files from a tap's output or catalog (sends nothing)")
    .option('-i, --input <file>', 'Singer messages to learn from ("-" or none: stdin)')
    .option('--catalog <file>', 'a Singer catalog (a tap\'s --discover output): its schemas alone, or with --input its SQL types beside the records')
    .option('-s, --stream <name...>', 'only these streams (default: every stream in the input)')
    .addOption(new Option('--object <object>', 'the Siro object to map to (default: opportunity for deal/opportunity streams, else engagement)').choices(['engagement', 'opportunity']))
    .option('-o, --out <path>', 'a folder (one file per stream) or a .yml file (all streams)', 'mappings')
    .option('--force', 'replace mapping files that exist')
    .option('--sample <n>', 'records to sample per stream', (v) => parseLimit(v, '--sample'), DEFAULT_SAMPLE)
    .action(
      commandAction(async (flags: { input?: string; catalog?: string; stream?: string[]; object?: SiroObject; out: string; force?: boolean; sample: number }) => {
        const written = await runInit({ ...flags, streams: flags.stream, force: flags.force === true });
        process.stderr.write(initReport(written, flags.input));
      }),
    );
}
