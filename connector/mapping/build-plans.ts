import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type YAMLMap, type YAMLSeq } from 'yaml';
import { MappingError } from '../core/errors.js';
import { SIRO_OBJECT_NAMES, isSiroObject, objectSchema, type SiroObject } from '../siro/objects.js';
import type { OpenApiSchema } from '../siro/spec.js';
import { ColumnPathSyntaxError, parseColumnPath, type ColumnPath } from './column-path.js';
import type {
  ConstantPlan,
  FieldEntry,
  FieldPlan,
  LeafPlan,
  MapTable,
  ObjectPlan,
  StreamPlan,
  ColumnRead,
  DurationPlan,
  DurationUnit,
  TargetField,
  ZonePlan,
} from './plan.js';
import { DURATION_UNITS } from './plan.js';
import { closest, didYouMean } from '../core/suggest.js';
import { TemplateSyntaxError, compileTemplate, type CompiledTemplate } from './templates.js';
import { knownTimeZones, timeZoneNamed, type TimeZone } from './time-zones.js';
import {
  TIME_TYPES,
  VALUE_TYPES,
  converterFor,
  mapKeyOf,
  nativeFieldType,
  typesFor,
  type FieldType,
  type ValueType,
} from './values.js';

/**
 * Checks one parsed mapping file against Siro's schema, before any record is read, and turns it into
 * plans (plan.ts). Every problem is collected with the file:line:column of the YAML node at fault, so
 * one run shows them all.
 */

const TOP_KEYS = ['version', 'streams'];
const STREAM_KEYS = ['object', 'fields'];
const SOURCE_KEYS = ['column', 'value', 'template'];
const LEAF_KEYS = [...SOURCE_KEYS, 'map', 'default', 'type', 'timezone', 'offset', 'plus'];
/** What `offset:` takes: `ignore` reads a labelled time as wall-clock time in the leaf's zone; `keep` is the default. */
const OFFSET_CHOICES = ['keep', 'ignore'];
const PLUS_KEYS = ['column', 'unit'];
const EACH_KEYS = ['each', 'fields'];
const ZONE_KEYS = ['column', 'default'];

type YamlNode = Node | null | undefined;

interface Entry {
  name: string;
  key: Node;
  value: YamlNode;
}

type SchemaKind = 'object' | 'array' | 'scalar';

function kindOf(schema: OpenApiSchema): SchemaKind {
  if (schema.type === 'array') return 'array';
  if (schema.type === 'object' || schema.properties) return 'object';
  return 'scalar';
}

function fieldTypeOf(schema: OpenApiSchema): FieldType {
  return schema.type === 'number' || schema.type === 'integer' || schema.type === 'boolean' ? schema.type : 'string';
}

/** The type a leaf is read as when the mapping names none: the field's own (date-time format → datetime). */
function impliedType(schema: OpenApiSchema): ValueType {
  if (schema.format === 'date-time') return 'datetime';
  return fieldTypeOf(schema);
}

function fieldNames(schema: OpenApiSchema): string[] {
  return Object.keys(schema.properties ?? {});
}

function describeSchema(schema: OpenApiSchema): string {
  switch (kindOf(schema)) {
    case 'object':
      return `an object (fields: ${fieldNames(schema).join(', ')})`;
    case 'array': {
      const items = schema.items ?? {};
      return kindOf(items) === 'object' ? `a list of objects (fields: ${fieldNames(items).join(', ')})` : `a list of ${describeSchema(items)}`;
    }
    case 'scalar':
      switch (fieldTypeOf(schema)) {
        case 'number':
          return 'a number';
        case 'integer':
          return 'an integer';
        case 'boolean':
          return 'a boolean';
        case 'string':
          return schema.enum ? `text (one of ${schema.enum.join(', ')})` : 'text';
      }
  }
}

function describeType(t: FieldType): string {
  return t === 'string' ? 'text' : t === 'integer' ? 'an integer' : t === 'boolean' ? 'a boolean' : 'a number';
}

function joinLabel(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}

export interface StreamEntry {
  name: string;
  file: string;
  line: number;
  column: number;
}

export class DocumentChecker {
  /** Every stream entry of the file, checked or not (for duplicate names across files). */
  readonly streams: StreamEntry[] = [];

  constructor(
    private readonly doc: Document,
    private readonly file: string,
    private readonly lines: LineCounter,
    private readonly errors: MappingError[],
  ) {}

  position(node: YamlNode): { file: string; line: number; column: number } {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  private fail(node: YamlNode, detail: string): undefined {
    this.errors.push(new MappingError(this.position(node), detail));
    return undefined;
  }

  private deref(node: YamlNode): YamlNode {
    return isAlias(node) ? (node.resolve(this.doc) as Node | undefined) : node;
  }

  private isNull(node: YamlNode): boolean {
    return node === null || node === undefined || (isScalar(node) && node.value === null);
  }

  private readonly entriesOf = new WeakMap<YAMLMap, Entry[]>();

  /** The pairs of a YAML mapping, by name (keys must be plain scalars; each problem reported once). */
  private entries(map: YAMLMap): Entry[] {
    const known = this.entriesOf.get(map);
    if (known) return known;
    const out: Entry[] = [];
    this.entriesOf.set(map, out);
    for (const pair of map.items) {
      const key = this.deref(pair.key as YamlNode);
      if (!isScalar(key) || key.value === null || typeof key.value === 'object') {
        this.fail(key ?? map, 'keys must be plain names');
        continue;
      }
      out.push({ name: String(key.value), key, value: this.deref(pair.value as YamlNode) });
    }
    return out;
  }

  private unknownKeys(entries: Entry[], allowed: readonly string[], where: string): boolean {
    let ok = true;
    for (const e of entries) {
      if (allowed.includes(e.name)) continue;
      ok = false;
      this.fail(e.key, `unknown key \`${e.name}\` in ${where}${didYouMean(e.name, allowed)}; allowed keys: ${allowed.join(', ')}`);
    }
    return ok;
  }

  /** Columns the stream being checked reads; `eachDepth` > 0 while inside an `each` item (element paths). */
  private reads: ColumnRead[] = [];
  private eachDepth = 0;

  private noteRead(column: string, text: string, node: Node): void {
    if (this.eachDepth > 0) return;
    const at = this.position(node);
    this.reads.push({ column, text, file: at.file, line: at.line, col: at.column });
  }

  checkDocument(): StreamPlan[] {
    const root = this.doc.contents as YamlNode;
    if (!isMap(root)) {
      this.fail(root, 'a mapping file is a YAML mapping with `version: 1` and `streams:`');
      return [];
    }
    const entries = this.entries(root);
    this.unknownKeys(entries, TOP_KEYS, 'the top level of a mapping file');
    const version = entries.find((e) => e.name === 'version');
    if (!version) this.fail(root, '`version: 1` is missing');
    else if (!isScalar(version.value) || version.value.value !== 1) {
      const v = isScalar(version.value) ? version.value.value : undefined;
      const shown = typeof v === 'string' ? JSON.stringify(v) : isScalar(version.value) ? String(version.value.source ?? v) : 'a collection';
      this.fail(version.value ?? version.key, `unsupported version ${shown}: this target reads \`version: 1\``);
    }
    const streams = entries.find((e) => e.name === 'streams');
    if (!streams) {
      this.fail(root, '`streams:` is missing');
      return [];
    }
    if (!isMap(streams.value) || streams.value.items.length === 0) {
      this.fail(streams.value ?? streams.key, '`streams:` must map stream names (or globs like "*-calls") to { object, fields }');
      return [];
    }
    const plans: StreamPlan[] = [];
    for (const e of this.entries(streams.value)) {
      const plan = this.checkStream(e);
      if (plan) plans.push(plan);
    }
    return plans;
  }

  private checkStream(stream: Entry): StreamPlan | undefined {
    this.streams.push({ name: stream.name, ...this.position(stream.key) });
    this.reads = [];
    const where = `stream \`${stream.name}\``;
    if (!isMap(stream.value)) return this.fail(stream.value ?? stream.key, `${where} must be a mapping with \`object:\` and \`fields:\``);
    const entries = this.entries(stream.value);
    this.unknownKeys(entries, STREAM_KEYS, where);
    const objectEntry = entries.find((e) => e.name === 'object');
    const fieldsEntry = entries.find((e) => e.name === 'fields');
    let object: SiroObject | undefined;
    if (!objectEntry) this.fail(stream.key, `${where}: \`object:\` is missing (${SIRO_OBJECT_NAMES.join(' or ')})`);
    else {
      const v = objectEntry.value;
      const name = isScalar(v) ? String(v.value) : '';
      if (isSiroObject(name)) object = name;
      else
        this.fail(
          v ?? objectEntry.key,
          `${where}: unknown Siro object \`${name}\`${didYouMean(name, SIRO_OBJECT_NAMES)}; objects: ${SIRO_OBJECT_NAMES.join(', ')}`,
        );
    }
    if (!fieldsEntry) return this.fail(stream.key, `${where}: \`fields:\` is missing`);
    if (!isMap(fieldsEntry.value)) {
      return this.fail(fieldsEntry.value ?? fieldsEntry.key, `${where}: \`fields:\` must map Siro fields to sources`);
    }
    if (!object) return undefined;
    const root = this.checkObject(fieldsEntry.value, objectSchema(object), '', fieldsEntry.key, object);
    if (!root) return undefined;
    const { line, column } = this.streams[this.streams.length - 1]!;
    return { pattern: stream.name, object, file: this.file, line, column, root, reads: this.reads };
  }

  /** A nested mapping filling a Siro object (or the record's top level when `rootObject` is given). */
  private checkObject(map: YAMLMap, schema: OpenApiSchema, label: string, anchor: Node, rootObject?: SiroObject): ObjectPlan | undefined {
    const properties = schema.properties ?? {};
    const names = Object.keys(properties);
    const where = rootObject ?? `\`${label}\``;
    const fields: FieldEntry[] = [];
    let ok = true;
    const mapped = new Set<string>();
    for (const e of this.entries(map)) {
      mapped.add(e.name);
      const fieldSchema = properties[e.name];
      if (!fieldSchema) {
        const hint = closest(e.name, names);
        this.fail(
          e.key,
          `unknown Siro field \`${e.name}\` in ${where}` + (hint ? ` (did you mean \`${hint}\`?)` : `; its fields: ${names.join(', ')}`),
        );
        ok = false;
        continue;
      }
      const plan = this.checkField(e.value, e.key, fieldSchema, joinLabel(label, e.name), rootObject !== undefined && e.name === 'externalId');
      if (plan) fields.push({ key: e.name, plan });
      else ok = false;
    }
    const required = schema.required ?? [];
    for (const r of required) {
      if (mapped.has(r)) continue;
      ok = false;
      this.fail(anchor, rootObject ? `\`${r}\` is not mapped: Siro requires it for every ${rootObject}` : `${where} does not map \`${r}\`, which Siro requires there`);
    }
    // Payload keys follow Siro's schema, not the YAML: the same data gives the same JSON text whatever order
    // a mapping lists its fields in, which is what lets the ledger fingerprint the JSON text directly.
    fields.sort((a, b) => names.indexOf(a.key) - names.indexOf(b.key));
    return ok ? { kind: 'object', label, fields, required } : undefined;
  }

  private checkField(node: YamlNode, key: Node, schema: OpenApiSchema, label: string, required: boolean): FieldPlan | undefined {
    if (this.isNull(node)) {
      return this.fail(key, `\`${label}\` has no source: write a column name, or { column: ... }, { value: ... } or { template: ... }`);
    }
    const kind = kindOf(schema);
    if (isSeq(node)) {
      if (kind !== 'array') return this.fail(node, `wrong nesting: \`${label}\` is ${describeSchema(schema)} in Siro's schema, not a list`);
      return this.checkList(node, schema, label);
    }
    if (isScalar(node)) {
      if (kind === 'object') {
        return this.fail(node, `wrong nesting: \`${label}\` is ${describeSchema(schema)} in Siro's schema; map its fields in a nested mapping instead of a column`);
      }
      if (kind === 'array') {
        const items = schema.items ?? {};
        if (kindOf(items) === 'object') return this.fail(node, this.listOfObjectsHint(label, schema));
        const leaf = this.checkBareColumn(node, items, `${label}[0]`, false);
        return leaf && { kind: 'scalar-list', label, items: [leaf] };
      }
      return this.checkBareColumn(node, schema, label, required);
    }
    if (!isMap(node)) return this.fail(node, `\`${label}\`: unsupported YAML here`);
    const entries = this.entries(node);
    const has = (k: string) => entries.find((e) => e.name === k);
    if (kind === 'object') {
      const properties = schema.properties ?? {};
      const stray = entries.find((e) => (EACH_KEYS.includes(e.name) || LEAF_KEYS.includes(e.name)) && !(e.name in properties));
      if (stray && EACH_KEYS.includes(stray.name)) {
        return this.fail(stray.key, `wrong nesting: \`${stray.name}\` builds lists, but \`${label}\` is ${describeSchema(schema)} in Siro's schema`);
      }
      if (stray) {
        return this.fail(
          stray.key,
          `wrong nesting: \`${label}\` is ${describeSchema(schema)} in Siro's schema; a leaf form (\`${stray.name}:\`) cannot fill it: map its fields instead`,
        );
      }
      return this.checkObject(node, schema, label, key);
    }
    if (kind === 'array') {
      const items = schema.items ?? {};
      if (has('each')) return this.checkEach(entries, schema, label);
      if (kindOf(items) !== 'object' && entries.some((e) => LEAF_KEYS.includes(e.name))) {
        const leaf = this.checkLeafForm(node, entries, items, `${label}[0]`, false);
        return leaf && { kind: 'scalar-list', label, items: [leaf] };
      }
      if (kindOf(items) === 'object') return this.fail(node, this.listOfObjectsHint(label, schema));
      return this.fail(node, `wrong nesting: \`${label}\` is ${describeSchema(schema)} in Siro's schema; write a YAML list of sources ([a, b]) or { each: <column> }`);
    }
    const each = has('each');
    if (each) return this.fail(each.key, `\`each\` only works on list fields, but \`${label}\` is ${describeSchema(schema)} in Siro's schema`);
    // A mapping can only fill a scalar field as a leaf form; keys that are (or look like misspelled) leaf
    // keys are checked as one, so `{ colum: x }` is reported as a typo rather than as wrong nesting.
    if (!entries.some((e) => LEAF_KEYS.includes(e.name) || closest(e.name, LEAF_KEYS) !== undefined)) {
      return this.fail(
        node,
        `wrong nesting: \`${label}\` is ${describeSchema(schema)} in Siro's schema; a nested mapping cannot fill it: write a column name or { column | value | template: ... }`,
      );
    }
    return this.checkLeafForm(node, entries, schema, label, required);
  }

  private listOfObjectsHint(label: string, schema: OpenApiSchema): string {
    return `wrong nesting: \`${label}\` is ${describeSchema(schema)} in Siro's schema; write its items as a YAML list (- { ... }) or use { each: <json array column>, fields: { ... } }`;
  }

  private checkList(seq: YAMLSeq, schema: OpenApiSchema, label: string): FieldPlan | undefined {
    if (seq.items.length === 0) return this.fail(seq, `\`${label}\`: an empty list maps nothing; leave the field out`);
    const itemSchema = schema.items ?? {};
    const objects = kindOf(itemSchema) === 'object';
    const objectItems: ObjectPlan[] = [];
    const leafItems: (LeafPlan | ConstantPlan)[] = [];
    let ok = true;
    seq.items.forEach((raw, i) => {
      const item = this.deref(raw as YamlNode);
      const itemLabel = `${label}[${i}]`;
      let plan: FieldPlan | undefined;
      if (objects) {
        if (!isMap(item)) plan = this.fail(item, `wrong nesting: items of \`${label}\` are ${describeSchema(itemSchema)} in Siro's schema; write { field: source, ... }`);
        else plan = this.checkObject(item, itemSchema, itemLabel, item);
        if (plan) objectItems.push(plan as ObjectPlan);
      } else {
        if (this.isNull(item)) plan = this.fail(item ?? seq, `\`${itemLabel}\` has no source`);
        else if (isScalar(item)) plan = this.checkBareColumn(item, itemSchema, itemLabel, false);
        else if (isMap(item)) {
          const entries = this.entries(item);
          if (!entries.some((e) => LEAF_KEYS.includes(e.name))) {
            plan = this.fail(item, `wrong nesting: items of \`${label}\` are ${describeSchema(itemSchema)}; write a column name or { column | value | template: ... }`);
          } else plan = this.checkLeafForm(item, entries, itemSchema, itemLabel, false);
        } else plan = this.fail(item, `wrong nesting: items of \`${label}\` are ${describeSchema(itemSchema)}, not lists`);
        if (plan) leafItems.push(plan as LeafPlan | ConstantPlan);
      }
      if (!plan) ok = false;
    });
    if (!ok) return undefined;
    return objects ? { kind: 'object-list', label, items: objectItems } : { kind: 'scalar-list', label, items: leafItems };
  }

  private checkEach(entries: Entry[], schema: OpenApiSchema, label: string): FieldPlan | undefined {
    let ok = this.unknownKeys(entries, EACH_KEYS, `the \`each\` of \`${label}\``);
    const each = entries.find((e) => e.name === 'each')!;
    const path = this.columnPath(each.value, each.key, `${label}: each`);
    const itemSchema = schema.items ?? {};
    const fields = entries.find((e) => e.name === 'fields');
    if (kindOf(itemSchema) !== 'object') {
      if (fields) return this.fail(fields.key, `\`${label}\` is ${describeSchema(schema)}: \`each\` takes the elements as they are, without \`fields\``);
      if (!path || !ok) return undefined;
      const leaf: LeafPlan = {
        kind: 'leaf',
        target: this.targetOf(itemSchema, `${label}[]`),
        source: { kind: 'column', path },
        type: impliedType(itemSchema),
        explicitType: false,
        required: false,
      };
      return { kind: 'scalar-list', label, items: [leaf] };
    }
    if (!fields) return this.fail(each.key, `\`${label}\`: \`each\` needs \`fields:\` to build one item per element`);
    if (!isMap(fields.value)) return this.fail(fields.value ?? fields.key, `\`${label}\`: \`fields:\` must map the item's Siro fields to sources`);
    this.eachDepth++;
    const item = this.checkObject(fields.value, itemSchema, `${label}[]`, fields.key);
    this.eachDepth--;
    if (!item) ok = false;
    return ok && path && item ? { kind: 'each', label, path, item } : undefined;
  }

  private columnPath(node: YamlNode, key: Node, label: string): ColumnPath | undefined {
    if (this.isNull(node)) return this.fail(key, `${label}: the column name is missing`);
    if (!isScalar(node) || typeof node.value !== 'string') {
      const shown = isScalar(node) ? String(node.source ?? node.value) : 'a collection';
      return this.fail(node, `${label}: a column name must be text, not ${shown} (quote it; for a constant use { value: ... })`);
    }
    try {
      const path = parseColumnPath(node.value);
      this.noteRead(path.segments[0]!, path.text, node);
      return path;
    } catch (e) {
      if (e instanceof ColumnPathSyntaxError) return this.fail(node, `${label}: ${e.message}`);
      throw e;
    }
  }

  private targetOf(schema: OpenApiSchema, label: string): TargetField {
    const values = schema.enum?.filter((v): v is string => typeof v === 'string');
    return { label, type: fieldTypeOf(schema), nullable: schema.nullable === true, ...(values ? { enum: values } : {}) };
  }

  private checkBareColumn(node: Node, schema: OpenApiSchema, label: string, required: boolean): LeafPlan | undefined {
    const path = this.columnPath(node, node, `\`${label}\``);
    if (!path) return undefined;
    return {
      kind: 'leaf',
      target: this.targetOf(schema, label),
      source: { kind: 'column', path },
      type: impliedType(schema),
      explicitType: false,
      required,
    };
  }

  private checkLeafForm(map: YAMLMap, entries: Entry[], schema: OpenApiSchema, label: string, required: boolean): LeafPlan | ConstantPlan | undefined {
    let ok = this.unknownKeys(entries, LEAF_KEYS, `the leaf \`${label}\``);
    const get = (k: string) => entries.find((e) => e.name === k);
    const sources = entries.filter((e) => SOURCE_KEYS.includes(e.name));
    if (sources.length === 0) return this.fail(map, `\`${label}\` needs a source: column, value or template`);
    if (sources.length > 1) {
      return this.fail(sources[1]!.key, `\`${label}\` has both \`${sources[0]!.name}\` and \`${sources[1]!.name}\`: give one source`);
    }
    const target = this.targetOf(schema, label);
    const source = sources[0]!;

    if (source.name === 'value') {
      for (const e of entries) {
        if (e.name !== 'value' && LEAF_KEYS.includes(e.name)) {
          ok = this.fail(e.key, `\`${label}\`: \`${e.name}\` does not apply to a constant \`value\``) ?? false;
        }
      }
      const constant = this.checkConstant(source.value, source.key, target, 'value', target.nullable);
      if (!constant || !ok) return undefined;
      return { kind: 'constant', target, value: constant.value };
    }

    let sourcePlan: LeafPlan['source'] | undefined;
    if (source.name === 'column') {
      const path = this.columnPath(source.value, source.key, `\`${label}\``);
      if (path) sourcePlan = { kind: 'column', path };
    } else {
      const template = this.template(source.value, source.key, label);
      if (template) sourcePlan = { kind: 'template', template };
    }
    if (!sourcePlan) ok = false;

    const typeEntry = get('type');
    let explicit: ValueType | undefined;
    if (typeEntry) {
      const t = isScalar(typeEntry.value) ? String(typeEntry.value.value) : '';
      if (VALUE_TYPES.includes(t as ValueType)) explicit = t as ValueType;
      else ok = this.fail(typeEntry.value ?? typeEntry.key, `\`${label}\`: unknown type \`${t}\`${didYouMean(t, VALUE_TYPES)}; types: ${VALUE_TYPES.join(', ')}`) ?? false;
    }
    const type = explicit ?? impliedType(schema);

    const mapEntry = get('map');
    let table: MapTable | undefined;
    if (mapEntry) {
      table = this.mapTable(mapEntry, target);
      if (!table) ok = false;
    } else if (explicit && !converterFor(explicit, target.type)) {
      const fits = typesFor(target.type);
      ok =
        this.fail(
          typeEntry!.value,
          `\`${label}\`: type \`${explicit}\` gives ${describeType(nativeFieldType(explicit))}, but \`${label}\` is ${describeSchema(schema)} in Siro's schema (types that fit: ${fits.join(', ')})`,
        ) ?? false;
    }

    const zoneEntry = get('timezone');
    let zone: ZonePlan | undefined;
    if (zoneEntry) {
      if (!TIME_TYPES.includes(type)) {
        ok = this.fail(zoneEntry.key, `\`${label}\`: \`timezone\` only applies to type datetime, localdatetime or date (this leaf reads ${type})`) ?? false;
      } else {
        zone = this.zonePlan(zoneEntry, label);
        if (!zone) ok = false;
      }
    }

    const offsetEntry = get('offset');
    let wallClock = false;
    if (offsetEntry) {
      const choice = isScalar(offsetEntry.value) ? String(offsetEntry.value.value) : '';
      if (!TIME_TYPES.includes(type)) {
        ok = this.fail(offsetEntry.key, `\`${label}\`: \`offset\` only applies to type datetime, localdatetime or date (this leaf reads ${type})`) ?? false;
      } else if (!OFFSET_CHOICES.includes(choice)) {
        ok = this.fail(offsetEntry.value ?? offsetEntry.key, `\`${label}\`: offset takes \`ignore\` (read the time as wall-clock time in \`timezone\`, whatever offset it carries) or \`keep\` (the default), not \`${choice}\`${didYouMean(choice, OFFSET_CHOICES)}`) ?? false;
      } else wallClock = choice === 'ignore';
    }

    const plusEntry = get('plus');
    let plus: DurationPlan | undefined;
    if (plusEntry) {
      if (type !== 'datetime' && type !== 'localdatetime') {
        ok = this.fail(plusEntry.key, `\`${label}\`: \`plus\` adds a duration to a date/time: it applies to type datetime or localdatetime (this leaf reads ${type})`) ?? false;
      } else if (table) {
        ok = this.fail(plusEntry.key, `\`${label}\`: \`plus\` and \`map\` do not go together`) ?? false;
      } else {
        plus = this.durationPlan(plusEntry, label);
        if (!plus) ok = false;
      }
    }

    const defaultEntry = get('default');
    let fallback: { value: unknown } | undefined;
    if (defaultEntry) {
      fallback = this.checkConstant(defaultEntry.value, defaultEntry.key, target, 'default', false);
      if (!fallback) ok = false;
    }

    if (!ok || !sourcePlan) return undefined;
    return {
      kind: 'leaf',
      target,
      source: sourcePlan,
      type,
      explicitType: explicit !== undefined,
      ...(table ? { map: table } : {}),
      ...(fallback ? { fallback } : {}),
      ...(zone ? { zone } : {}),
      ...(plus ? { plus } : {}),
      ...(wallClock ? { wallClock } : {}),
      required,
    };
  }

  /** `plus: { column: duration_seconds, unit: seconds }`. */
  private durationPlan(entry: Entry, label: string): DurationPlan | undefined {
    const node = entry.value;
    const units = Object.keys(DURATION_UNITS);
    if (!isMap(node)) return this.fail(node ?? entry.key, `\`${label}\`: plus needs { column: <duration column>, unit: ${units.join(' | ')} }`);
    const entries = this.entries(node);
    if (!this.unknownKeys(entries, PLUS_KEYS, `the plus of \`${label}\``)) return undefined;
    const column = entries.find((e) => e.name === 'column');
    const unit = entries.find((e) => e.name === 'unit');
    if (!column) return this.fail(node, `\`${label}\`: plus needs a \`column\` holding the duration`);
    if (!unit) return this.fail(node, `\`${label}\`: plus needs a \`unit\` (${units.join(', ')}): a duration column does not say its unit`);
    const unitText = isScalar(unit.value) ? String(unit.value.value) : '';
    if (!Object.hasOwn(DURATION_UNITS, unitText)) {
      return this.fail(unit.value ?? unit.key, `\`${label}\`: unknown unit \`${unitText}\`${didYouMean(unitText, units)}; units: ${units.join(', ')}`);
    }
    const path = this.columnPath(column.value, column.key, `\`${label}\` plus`);
    if (!path) return undefined;
    const name = unitText as DurationUnit;
    return { path, unit: name, unitMs: DURATION_UNITS[name] };
  }

  private template(node: YamlNode, key: Node, label: string): CompiledTemplate | undefined {
    if (!isScalar(node) || typeof node.value !== 'string') return this.fail(node ?? key, `\`${label}\`: a template must be text`);
    try {
      const template = compileTemplate(node.value);
      for (const root of template.roots) this.noteRead(root, `{{ ${root} }}`, node);
      return template;
    } catch (e) {
      if (e instanceof TemplateSyntaxError) return this.fail(node, `\`${label}\`: bad template: ${e.message}`);
      throw e;
    }
  }

  /** A constant (`value`, `default`, a `map` value): written as Siro takes it, so checked against the field. */
  private checkConstant(node: YamlNode, key: Node, target: TargetField, role: string, allowNull: boolean): { value: unknown } | undefined {
    const { label } = target;
    if (this.isNull(node)) {
      if (allowNull) return { value: null };
      return this.fail(
        node ?? key,
        role === 'value'
          ? `\`${label}\` is not nullable in Siro's schema: a null value would always be left out; remove the field instead`
          : `\`${label}\`: ${role} null does nothing; remove it`,
      );
    }
    if (!isScalar(node)) return this.fail(node, `\`${label}\`: ${role} must be a single value, not a ${isSeq(node) ? 'list' : 'mapping'}`);
    const v = node.value;
    const source = String(node.source ?? v);
    const written = typeof v === 'string' ? JSON.stringify(v) : source;
    const wanted = target.type;
    const fits =
      wanted === 'string'
        ? typeof v === 'string'
        : wanted === 'boolean'
          ? typeof v === 'boolean'
          : typeof v === 'number' && Number.isFinite(v) && (wanted === 'number' || Number.isInteger(v));
    if (!fits) {
      const hint = wanted === 'string' ? `: quote it ("${source}")` : '';
      return this.fail(node, `\`${label}\`: ${role} ${written} is not ${describeType(wanted)}, which Siro's schema wants there${hint}`);
    }
    if (target.enum && !target.enum.includes(v as string)) {
      return this.fail(
        node,
        `\`${label}\`: bad enum constant: ${role} ${written} is not one of ${target.enum.join(', ')}${didYouMean(String(v), target.enum)}`,
      );
    }
    return { value: v };
  }

  private mapTable(entry: Entry, target: TargetField): MapTable | undefined {
    const { label } = target;
    const node = entry.value;
    if (!isMap(node) || node.items.length === 0) {
      return this.fail(node ?? entry.key, `\`${label}\`: \`map\` must map source values to Siro values, like { in: INBOUND, out: OUTBOUND }`);
    }
    const lookup = new Map<string, unknown>();
    const keys: string[] = [];
    let ok = true;
    for (const pair of node.items) {
      const k = this.deref(pair.key as YamlNode);
      if (!isScalar(k) || k.value === null || typeof k.value === 'object') {
        ok = this.fail(k ?? node, `\`${label}\`: map keys are source values (text, numbers or booleans); a missing source uses \`default\``) ?? false;
        continue;
      }
      const written = String(k.source ?? k.value);
      const out = this.checkConstant(this.deref(pair.value as YamlNode), k, target, `map value for "${written}"`, true);
      if (!out) {
        ok = false;
        continue;
      }
      for (const norm of new Set([mapKeyOf(k.value), mapKeyOf(written)])) {
        if (lookup.has(norm) && lookup.get(norm) !== out.value) {
          ok = this.fail(k, `\`${label}\`: map key "${written}" clashes with another key: lookups ignore case`) ?? false;
        }
        lookup.set(norm, out.value);
      }
      keys.push(written);
    }
    return ok ? { lookup, keys } : undefined;
  }

  private zoneNamed(node: YamlNode, key: Node, label: string): TimeZone | undefined {
    const name = isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
    const zone = name === undefined ? undefined : timeZoneNamed(name);
    if (zone) return zone;
    const shown = name ?? (isScalar(node) ? String(node.source ?? node.value) : 'a collection');
    return this.fail(
      node ?? key,
      `\`${label}\`: unknown time zone "${shown}"${name ? didYouMean(name, knownTimeZones()) : ''}; use an IANA name like America/Chicago, or { column: <tz column> }`,
    );
  }

  private zonePlan(entry: Entry, label: string): ZonePlan | undefined {
    const node = entry.value;
    if (!isMap(node)) {
      const zone = this.zoneNamed(node, entry.key, label);
      return zone && { kind: 'fixed', zone };
    }
    const entries = this.entries(node);
    if (!this.unknownKeys(entries, ZONE_KEYS, `the timezone of \`${label}\``)) return undefined;
    const column = entries.find((e) => e.name === 'column');
    if (!column) return this.fail(node, `\`${label}\`: timezone needs { column: <tz column> } or an IANA name`);
    const path = this.columnPath(column.value, column.key, `\`${label}\` timezone`);
    const def = entries.find((e) => e.name === 'default');
    const fallback = def ? this.zoneNamed(def.value, def.key, label) : undefined;
    if (!path || (def && !fallback)) return undefined;
    return { kind: 'column', path, ...(fallback ? { fallback } : {}) };
  }
}
