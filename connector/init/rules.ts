import type { SiroObject } from '../siro/objects.js';
import {
  ACTIVITY_NAMES, CLOSED_NAMES, CONTENT_NAMES, CREATED_NAMES, DELETED_NAMES, DIRECTION_NAMES, DURATION_NAMES, END_NAMES,
  START_NAMES, SUBJECT_NAMES, UPDATED_NAMES, ZONE_NAMES, firstNamed, groupRole, lastSegment, normalName, type Role,
} from './column-names.js';
import { GENERIC_TIME_NAMES, KIND_TEXT, TIME_KINDS, describe, kindOf, type Kind } from './column-kinds.js';
import { pathOf, type ColumnProfile, type StreamProfile } from './profile.js';
import { activityOfStream, activityOfText, directionOf, dispositionOf, entityName, isZoneName, objectOfStream } from './value-words.js';
import { columnsRead, leaf, type Leaf, type MapEntry, type StreamSuggestion, type SuggestedField } from './suggestion.js';

/**
 * The suggestion rules: which column becomes which Siro field, from the column's name, its declared type
 * and the values sampled. Each rule is cautious: a field is suggested only when the column fits its type,
 * and every suggestion says why, so the user can check it in one read.
 */

/** Roles a column without a group word fills in the account or the deal (`phone`, `street`, `amount`); never a key. */
const BARE_ROLES: readonly Role[] = ['phone', 'email', 'street', 'city', 'state', 'zip', 'country', 'amount', 'status', 'closed'];

const LIQUID_NAME = /^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$/;

export interface SuggestOptions {
  object?: SiroObject;
  /** What the externalIds start with (`call` → `call-{{ id }}`); default: the stream's table name, singular. */
  idPrefix?: string;
}

/** `public-sales_meetings` → `sales-meeting`: the table's name, singular, as an externalId prefix. */
export function idPrefixOf(stream: string): string {
  return entityName(stream).replace(/_/g, '-');
}

/**
 * The externalId prefix of each stream of one run: the table's name, or, where two streams would get the same
 * one (`public-calls` and `archive-calls`), each stream's whole name, so their ids cannot collide in Siro.
 */
export function idPrefixes(streams: readonly string[]): Map<string, string> {
  const short = new Map(streams.map((s) => [s, idPrefixOf(s)]));
  const counts = new Map<string, number>();
  for (const p of short.values()) counts.set(p, (counts.get(p) ?? 0) + 1);
  return new Map(streams.map((s) => {
    const p = short.get(s)!;
    const whole = s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || p;
    return [s, counts.get(p)! > 1 ? whole : p];
  }));
}

export function suggestStream(profile: StreamProfile, opts: SuggestOptions = {}): StreamSuggestion {
  const object = opts.object ?? objectOfStream(profile.stream);
  const columns = [...profile.columns.values()];
  const kinds = new Map(columns.map((c) => [c.path, kindOf(c)]));
  const s = new Suggester(profile, kinds, object, opts.idPrefix ?? idPrefixOf(profile.stream));
  const fields = s.build();
  const read = columnsRead(fields);
  return { stream: profile.stream, object, fields, unused: unusedColumns(columns, read, kinds), dropped: [], notes: s.notes, sampled: profile.records.length };
}

/**
 * The columns no field reads: each top-level column once, and for an object column some of whose keys are
 * read (HubSpot's `properties`), the keys left, named up to a handful.
 */
function unusedColumns(columns: ColumnProfile[], read: Set<string>, kinds: Map<string, Kind>): string[] {
  const out: string[] = [];
  for (const c of columns) {
    if (c.parent !== undefined || read.has(c.path)) continue;
    const nested = columns.filter((n) => n.parent === c.path);
    const readNested = nested.filter((n) => read.has(n.path));
    if (readNested.length === 0) {
      out.push(describe(c, kinds));
      continue;
    }
    const left = nested.filter((n) => !readNested.includes(n));
    if (left.length === 0) continue;
    const shown = left.slice(0, 8).map((n) => lastSegment(n.path));
    out.push(`${c.path}: ${left.length} more keys (${shown.join(', ')}${left.length > shown.length ? ', …' : ''})`);
  }
  return out;
}

class Suggester {
  readonly notes: string[] = [];
  private readonly paths: string[];
  private readonly used = new Set<string>();

  constructor(
    private readonly profile: StreamProfile,
    private readonly kinds: Map<string, Kind>,
    private readonly object: SiroObject,
    private readonly idPrefix: string,
  ) {
    this.paths = [...profile.columns.keys()];
  }

  private col(path: string): ColumnProfile {
    return this.profile.columns.get(path)!;
  }

  private kind(path: string): Kind {
    return this.kinds.get(path)!;
  }

  private why(path: string): string {
    return describe(this.col(path), this.kinds);
  }

  /** Unused columns of these kinds, by name preference. */
  private named(names: readonly string[], kinds: readonly Kind[]): string | undefined {
    const candidates = this.paths.filter((p) => !this.used.has(p) && kinds.includes(this.kind(p)) && !this.keyPaths.includes(p));
    const hit = firstNamed(candidates, names);
    if (hit) this.used.add(hit);
    return hit;
  }

  build(): SuggestedField[] {
    if (this.object === 'opportunity' && objectOfStream(this.profile.stream) !== 'opportunity') {
      // Deals from a table of other rows (calls with deal_* columns): one opportunity per deal, keyed by the deal.
      const deal = this.groups().get('opportunity');
      const id = deal?.get('id');
      if (deal && id) {
        this.used.add(id);
        const fields: SuggestedField[] = [
          { name: 'externalId', source: leaf(id, `${this.why(id)}: the deal's id (this stream's rows are not deals themselves; rows of one deal update the same opportunity)`) },
          ...this.opportunityFields(deal),
        ];
        return [...fields, ...this.account(this.groups())];
      }
      this.notes.push('--object opportunity, but the rows name no deal (no deal_id or opportunity_id column): each row becomes an opportunity of its own.');
    }
    const key = this.externalId();
    return this.object === 'engagement' ? [key, ...this.engagement()] : [key, ...this.opportunity()];
  }

  /** The declared key columns, as column paths (a key named `Row ID` is the path `["Row ID"]`). */
  private get keyPaths(): string[] {
    return this.profile.keyProperties.map((k) => pathOf(undefined, k));
  }

  private externalId(): SuggestedField {
    const keys = this.keyPaths.filter((k) => this.profile.columns.has(k));
    if (keys.length < this.profile.keyProperties.length) {
      const missing = this.profile.keyProperties.filter((k) => !this.profile.columns.has(pathOf(undefined, k)));
      throw new Error(`its key_properties ${missing.join(', ')} are not among its columns`);
    }
    if (keys.length === 0) {
      const id = firstNamed(this.paths, ['id', `${normalName(entityName(this.profile.stream))}id`, 'uuid', 'key', 'externalid']);
      if (!id) throw new Error(`no key_properties and no id column`);
      keys.push(id);
      this.notes.push(`The stream declares no key_properties: \`${id}\` is taken as the row's key. Check it is unique.`);
    }
    for (const k of keys) this.used.add(k);
    const keyWhy = `key_properties ${keys.join(', ')} (${keys.map((k) => KIND_TEXT[this.kind(k)]).join(', ')})`;
    if (keys.every((k) => LIQUID_NAME.test(k))) {
      const template = `${this.idPrefix}-${keys.map((k) => `{{ ${k} }}`).join('-')}`;
      return { name: 'externalId', source: leaf([['template', template]], `${keyWhy}, after \`${this.idPrefix}-\` so the ids of the other tables mapped here cannot collide; exact for big integers`) };
    }
    if (keys.length === 1) return { name: 'externalId', source: leaf(keys[0]!, `${keyWhy}: the key as is (its name cannot go in a template); make sure no other stream's ids can equal these`) };
    throw new Error(`its key columns (${keys.join(', ')}) cannot be combined in a template`);
  }

  // ---- time -------------------------------------------------------------------------------------------

  private zoneColumn: string | undefined | null = null;

  /** A column of IANA zone names (by its values, or by its name when nothing was sampled). */
  private zone(): string | undefined {
    if (this.zoneColumn !== null) return this.zoneColumn;
    const byValue = this.paths.filter((p) => this.kind(p) === 'zone');
    // Without records, a text column named like a zone (`timezone`, `customer_tz`) is taken on its name.
    const byName = this.profile.records.length === 0 ? this.paths.filter((p) => this.kind(p) === 'text' && isZoneName(p)) : [];
    const hit = firstNamed(byValue, ZONE_NAMES) ?? byValue[0] ?? firstNamed(byName, ZONE_NAMES) ?? byName[0];
    if (hit) this.used.add(hit);
    this.zoneColumn = hit;
    return hit;
  }

  /** A date-time leaf for a column: naive times read in the zone column, or a placeholder zone with a note. */
  private time(path: string, type: 'datetime' | 'localdatetime' = 'datetime', plus?: [string, string]): Leaf {
    const kind = this.kind(path);
    const zone = this.zone();
    const source: [string, unknown][] = [['column', path], ['type', type]];
    let why = this.why(path);
    if (kind === 'naive' || kind === 'wallclock') {
      source.push(['timezone', zone ? { column: zone } : 'UTC']);
      // The tap labels wall-clock values +00:00: the offset must not count.
      if (kind === 'wallclock') source.push(['offset', 'ignore']);
      const wall = kind === 'naive' ? 'no offset' : 'wall-clock times the tap labels +00:00';
      why += zone ? `; ${wall}: read in the zone of ${zone}` : `; ${wall}: set timezone to the zone they were written in`;
    } else if (this.col(path).shapes.get('naive')) {
      why += '; the values without an offset are read as UTC, like the rest';
    }
    if (type === 'localdatetime' && zone && kind === 'instant') {
      source.push(['timezone', { column: zone }]);
      why += `; shown in the zone of ${zone}`;
    }
    if (plus) {
      source.push(['plus', { column: plus[0], unit: plus[1] }]);
    }
    return leaf(source, why);
  }

  private times(startNames: readonly string[]): SuggestedField[] {
    const out: SuggestedField[] = [];
    const timeKinds: Kind[] = [...TIME_KINDS];
    const start = this.named(startNames, timeKinds);
    if (start) {
      // A second start column covers rows where the first is empty (HubSpot: hs_meeting_start_time is
      // optional, hs_timestamp required; Salesforce: StartDateTime, ActivityDateTime).
      // A generic name (`timestamp`) is a fallback only for a start the sample shows empty in some rows.
      const someEmpty = this.col(start).filled < this.profile.records.length;
      const fallback = this.named(startNames.filter((n) => someEmpty || !GENERIC_TIME_NAMES.has(n)), timeKinds);
      const sameClock = (p: string) => ['instant', 'epoch'].includes(this.kind(p));
      if (fallback && (this.kind(fallback) === this.kind(start) || (sameClock(start) && sameClock(fallback))) && LIQUID_NAME.test(start) && LIQUID_NAME.test(fallback)) {
        const l = this.time(start);
        (l.source as [string, unknown][])[0] = ['template', `{{ ${start} | default: ${fallback} }}`];
        l.why = `${this.why(start)}, else ${this.why(fallback)} where it is empty`;
        out.push({ name: 'startTime', source: l });
      } else {
        if (fallback) this.used.delete(fallback);
        out.push({ name: 'startTime', source: this.time(start) });
      }
      if (this.zone()) out.push({ name: 'startTimeLocalized', source: this.time(start, 'localdatetime') });
    }
    const end = this.named(END_NAMES, timeKinds);
    if (end) out.push({ name: 'endTime', source: this.time(end) });
    else if (start) {
      const duration = this.duration();
      if (duration) {
        const l = this.time(start, 'datetime', [duration.path, duration.unit]);
        l.why = `${this.why(start)} plus ${this.why(duration.path)} in ${duration.unit}${duration.sure ? ' (from its name)' : ' (a guess: check the unit)'}`;
        out.push({ name: 'endTime', source: l });
      }
    }
    return out;
  }

  /**
   * Postgres taps write `timestamp without time zone` values as wall-clock times labelled `+00:00`, which
   * read as UTC. Only the column's SQL type tells them from real UTC instants: say so when it is unknown.
   */
  private noteZeroOffsets(): void {
    const labelled = [...this.used].filter((p) => {
      const c = this.col(p);
      return this.kind(p) === 'instant' && c.sqlType === undefined && c.zeroOffset > 0 && c.zeroOffset === c.shapes.get('instant');
    });
    if (labelled.length === 0) return;
    this.notes.push(
      `${labelled.join(', ')}: every sampled time is labelled +00:00. Postgres taps label \`timestamp without time zone\` ` +
        'values so, although they are wall-clock times: check the SQL type (the tap\'s --discover output; `init --catalog ' +
        'catalog.json --input …` reads it) and, for wall-clock columns, say their zone (docs/mapping-language.md, Time zones).',
    );
  }

  private duration(): { path: string; unit: string; sure: boolean } | undefined {
    const candidates = this.paths.filter((p) => !this.used.has(p) && (this.kind(p) === 'integer' || this.kind(p) === 'number'));
    for (const [name, unit, sure] of DURATION_NAMES) {
      const hit = candidates.find((p) => normalName(p) === name);
      if (hit) {
        this.used.add(hit);
        return { path: hit, unit, sure };
      }
    }
    return undefined;
  }

  private stamp(name: string, names: readonly string[]): SuggestedField[] {
    const path = this.named(names, [...TIME_KINDS, 'date']);
    return path ? [{ name, source: this.time(path) }] : [];
  }

  // ---- text and codes ---------------------------------------------------------------------------------

  private text(name: string, names: readonly string[]): SuggestedField[] {
    const path = this.named(names, ['text']);
    if (!path) return [];
    const c = this.col(path);
    const html = c.examples.some((e) => /<\/?[a-z][a-z0-9]*[\s/>]/i.test(e) || /&(?:[a-z]+|#\d+);/i.test(e));
    if (html && LIQUID_NAME.test(path)) {
      return [{ name, source: leaf([['template', `{{ ${path} | html_to_text }}`]], `${this.why(path)}: HTML in the sample, read as text`) }];
    }
    return [{ name, source: leaf(path, this.why(path)) }];
  }

  /** No subject column: one made of the activity kind and the account's name, as the shipped mapping does. */
  private subjectFrom(fields: SuggestedField[]): SuggestedField[] {
    if (fields.some((f) => f.name === 'subject')) return [];
    const typeName = (fields.find((f) => f.name === 'engagementType')?.source as { fields?: SuggestedField[] } | undefined)?.fields?.find((f) => f.name === 'name')?.source;
    const kindColumn = typeName?.kind === 'leaf' && typeof typeName.source !== 'string' && typeName.source[0]?.[0] === 'column' ? String(typeName.source[0][1]) : undefined;
    const account = (fields.find((f) => f.name === 'account')?.source as { fields?: SuggestedField[] } | undefined)?.fields?.find((f) => f.name === 'name')?.source;
    const accountColumn = account?.kind === 'leaf' && typeof account.source === 'string' ? account.source : undefined;
    if (!accountColumn || !LIQUID_NAME.test(accountColumn)) return [];
    const label = activityOfStream(this.profile.stream).toLowerCase();
    const what = kindColumn && LIQUID_NAME.test(kindColumn) ? `{{ ${kindColumn} | default: "${label.charAt(0).toUpperCase()}${label.slice(1)}" }}` : `${label.charAt(0).toUpperCase()}${label.slice(1)}`;
    return [{ name: 'subject', source: leaf([['template', `${what}{% if ${accountColumn} %} with {{ ${accountColumn} }}{% endif %}`]], kindColumn ? `no subject column: the kind and the account's name` : `no subject column: the stream's kind and the account's name`) }];
  }

  /** Sampled distinct values of a column, most frequent first (undefined: too many to be codes). */
  private values(path: string): [string, number][] | undefined {
    const d = this.col(path).distinct;
    return d ? [...d.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])) : undefined;
  }

  /**
   * A `map:` over every sampled value: those `decide` knows, and the rest to `fallback` marked for the user.
   * Keys that differ only in case are merged (the mapping looks values up ignoring case).
   */
  private mapOf(values: [string, number][], decide: (v: string) => string | undefined, fallback: string | null, ask: string): MapEntry[] {
    const seen = new Set<string>();
    const entries: MapEntry[] = [];
    for (const [value, count] of values) {
      const lower = value.toLowerCase();
      if (seen.has(lower)) continue;
      seen.add(lower);
      const to = decide(value);
      entries.push(to !== undefined ? { from: value, to, note: `${count}×` } : { from: value, to: fallback, note: `${count}×: ${ask}` });
    }
    return entries;
  }

  private direction(): SuggestedField[] {
    const candidates = this.paths.filter((p) => !this.used.has(p) && this.kind(p) === 'text');
    const byName = firstNamed(candidates, DIRECTION_NAMES);
    const byValue = candidates.find((p) => {
      const values = this.values(p);
      return values !== undefined && values.length > 0 && values.length <= 8 && values.every(([v]) => directionOf(v) !== undefined);
    });
    const path = byName ?? byValue;
    if (!path) return [];
    const values = this.values(path);
    if (!values && this.col(path).filled > 0) return [];
    this.used.add(path);
    const map: MapEntry[] = values && values.length > 0
      ? this.mapOf(values, directionOf, null, 'INBOUND or OUTBOUND? (null: sent without a direction)')
      : ['in', 'inbound', 'out', 'outbound'].map((v) => ({ from: v, to: directionOf(v)! }));
    const sampled = values && values.length > 0 ? `${values.length} sampled values` : 'no values sampled: the common spellings';
    return [{ name: 'direction', source: leaf([['column', path]], `${path} (${sampled}); a value not listed rejects its row`, { map }) }];
  }

  private engagementType(): SuggestedField[] {
    const fallback = activityOfStream(this.profile.stream);
    const label = fallback.charAt(0) + fallback.slice(1).toLowerCase();
    const candidates = this.paths.filter((p) => !this.used.has(p) && this.kind(p) === 'text');
    const path = firstNamed(
      candidates.filter((p) => {
        const v = this.values(p);
        return v !== undefined && v.length > 0 && v.length <= 20;
      }),
      ACTIVITY_NAMES,
    );
    const streamWhy = `from the stream name ${this.profile.stream}`;
    if (!path) {
      return [{
        name: 'engagementType',
        source: { kind: 'group', fields: [
          { name: 'name', source: leaf([['value', label]], `a constant: ${streamWhy}`) },
          { name: 'activityType', source: leaf([['value', fallback]], `a constant: ${streamWhy} (MEETING, CALL, APPOINTMENT, EMAIL, TEXT, EVENT)`) },
        ] },
      }];
    }
    this.used.add(path);
    const values = this.values(path)!;
    const map = this.mapOf(values, activityOfText, fallback, `guessed ${fallback} ${streamWhy}: decide`);
    return [{
      name: 'engagementType',
      source: { kind: 'group', why: `${path}: ${values.length} sampled kind${values.length === 1 ? '' : 's'}`, fields: [
        { name: 'name', source: leaf([['column', path], ['default', label]], `${this.why(path)}: the type's name in Siro`) },
        { name: 'activityType', source: leaf([['column', path]], `${path}: each sampled kind, as Siro's activity type`, { map, after: [['default', fallback]] }) },
      ] },
    }];
  }

  private disposition(path: string): Leaf | undefined {
    const values = this.values(path);
    if (!values || values.length === 0 || !values.some(([v]) => dispositionOf(v) !== undefined)) return undefined;
    const map = this.mapOf(values, dispositionOf, 'OPEN', 'guessed OPEN: decide');
    return leaf([['column', path]], `${path} (${values.length} sampled values); a value not listed rejects its row`, { map });
  }

  // ---- groups of columns → nested objects ----------------------------------------------------------------

  private groups(): Map<string, Map<Role, string>> {
    const groups = new Map<string, Map<Role, string>>();
    for (const p of this.paths) {
      const parent = this.col(p).parent;
      if (this.used.has(p) || (parent !== undefined && this.kind(parent) !== 'object')) continue;
      const { group, role } = groupRole(p);
      if (!group || !role) continue;
      const roles = groups.get(group) ?? new Map<Role, string>();
      groups.set(group, roles);
      if (!roles.has(role)) roles.set(role, p);
    }
    // Bare columns belong to the account (phone, email, address) and the deal (amount, status) when those exist.
    for (const p of this.paths) {
      if (this.used.has(p)) continue;
      const { group, role } = groupRole(p);
      if (group || !role || !BARE_ROLES.includes(role)) continue;
      const target = ['amount', 'status', 'closed'].includes(role) ? groups.get('opportunity') : groups.get('account');
      if (target && !target.has(role)) target.set(role, p);
    }
    return groups;
  }

  private idLeaf(path: string): Leaf {
    return leaf(path, this.why(path));
  }

  private textField(name: string, path: string | undefined, kinds: Kind[] = ['text']): SuggestedField[] {
    if (!path || !kinds.includes(this.kind(path))) return [];
    this.used.add(path);
    return [{ name, source: leaf(path, this.why(path)) }];
  }

  private listField(name: string, path: string | undefined): SuggestedField[] {
    if (!path || !['text', 'texts', 'integer'].includes(this.kind(path))) return [];
    this.used.add(path);
    return [{ name, source: { kind: 'list', items: [leaf(path, this.why(path))], why: this.why(path) } }];
  }

  private personName(roles: Map<Role, string>): SuggestedField[] {
    const first = roles.get('firstName');
    const last = roles.get('lastName');
    if (roles.has('name')) return this.textField('name', roles.get('name'));
    if (first && last && LIQUID_NAME.test(first) && LIQUID_NAME.test(last)) {
      this.used.add(first).add(last);
      return [{ name: 'name', source: leaf([['template', `{{ ${first} }} {{ ${last} }}`]], `${first} and ${last}`) }];
    }
    return [];
  }

  private address(roles: Map<Role, string>): SuggestedField[] {
    const parts = (['street', 'city', 'state', 'zip'] as const).map((r) => roles.get(r));
    if (parts.some((p) => !p || this.kind(p) !== 'text' && this.kind(p) !== 'integer')) return [];
    const country = roles.get('country');
    const fields: SuggestedField[] = (['street', 'city', 'state', 'zip'] as const).map((r, i) => ({ name: r, source: leaf(parts[i]!, this.why(parts[i]!)) }));
    for (const p of parts) this.used.add(p!);
    if (country && this.kind(country) === 'text') {
      this.used.add(country);
      fields.push({ name: 'country', source: leaf([['column', country], ['default', 'US']], `${this.why(country)}; US when empty (Siro needs all five)`) });
    } else {
      fields.push({ name: 'country', source: leaf([['value', 'US']], 'no country column: a constant (Siro needs all five; change it if not US)') });
    }
    return [{ name: 'addresses', source: { kind: 'list', why: 'street, city, state, zip and country: Siro takes an address only with all five', items: [{ kind: 'group', fields }] } }];
  }

  private objectGroup(name: string, roles: Map<Role, string> | undefined, build: (roles: Map<Role, string>) => SuggestedField[]): SuggestedField[] {
    if (!roles) return [];
    let id = roles.get('id');
    let idSource: Leaf | undefined = id && ['text', 'integer'].includes(this.kind(id)) ? this.idLeaf(id) : undefined;
    const ids = roles.get('ids');
    if (!idSource && ids && this.kind(ids) === 'texts') {
      // A list of ids (singer-io tap-hubspot's associations.companyIds): the first one.
      id = ids;
      idSource = leaf(`${ids}[0]`, `${this.why(ids)}: the first id of the list`);
    }
    if (!id || !idSource) return [];
    this.used.add(id);
    const fields = [{ name: 'externalId', source: idSource }, ...build(roles)];
    return [{ name, source: { kind: 'group', fields, why: `columns ${[...new Set([id, ...columnsRead(fields)])].filter((c) => !/\[\d+\]$/.test(c)).join(', ')}; left out when they are all empty` } }];
  }

  private account(groups: Map<string, Map<Role, string>>): SuggestedField[] {
    return this.objectGroup('account', groups.get('account'), (r) => [
      ...this.textField('name', r.get('name')),
      ...this.address(r),
      ...this.listField('phoneNumbers', r.get('phone')),
      ...this.listField('emailAddresses', r.get('email')),
    ]);
  }

  private contact(groups: Map<string, Map<Role, string>>): SuggestedField[] {
    return this.objectGroup('contact', groups.get('contact'), (r) => [
      ...this.personName(r),
      ...this.address(r),
      ...this.listField('phoneNumbers', r.get('phone')),
      ...this.listField('emailAddresses', r.get('email')),
    ]);
  }

  private opportunityFields(r: Map<Role, string>): SuggestedField[] {
    const out: SuggestedField[] = [...this.textField('name', r.get('name'))];
    const amount = r.get('amount');
    if (amount && ['number', 'integer', 'text'].includes(this.kind(amount)) && (this.kind(amount) !== 'text' || this.col(amount).filled === 0)) {
      this.used.add(amount);
      out.push({ name: 'amount', source: leaf([['column', amount], ['type', 'number']], this.why(amount)) });
    }
    const status = r.get('status');
    const disposition = status ? this.disposition(status) : undefined;
    if (status && disposition) {
      this.used.add(status);
      out.push({ name: 'disposition', source: disposition });
    }
    const closed = r.get('closed');
    if (closed && [...TIME_KINDS, 'date'].includes(this.kind(closed))) {
      this.used.add(closed);
      out.push({ name: 'closedAt', source: this.time(closed) });
    }
    return out;
  }

  private users(groups: Map<string, Map<Role, string>>): SuggestedField[] {
    const roles = groups.get('user');
    const id = roles?.get('id');
    if (roles && id && ['text', 'integer'].includes(this.kind(id))) {
      this.used.add(id);
      const fields: SuggestedField[] = [
        { name: 'externalId', source: this.idLeaf(id) },
        ...this.textField('email', roles.get('email')),
        ...this.personName(roles),
      ];
      return [{ name: 'engagementUsers', source: { kind: 'list', why: `the rep: columns ${[...columnsRead(fields)].join(', ')}; dropped when ${id} is empty`, items: [{ kind: 'group', fields }] } }];
    }
    // A JSON array of people (attendees, participants): one engagement user per element.
    const people = this.paths.find((p) => !this.used.has(p) && this.kind(p) === 'objects' && /attendee|participant|user|rep|host|owner|agent|member|people|staff|invitee/i.test(lastSegment(p)));
    if (!people) return [];
    const keys = [...this.col(people).elementKeys];
    const idKey = firstNamed(keys, ['id', 'userid', 'externalid', 'repid', 'employeeid', 'uuid', 'email', 'emailaddress']);
    if (!idKey || !LIQUID_NAME.test(idKey)) return [];
    this.used.add(people);
    const email = firstNamed(keys.filter((k) => k !== idKey), ['email', 'emailaddress', 'mail']);
    const name = firstNamed(keys.filter((k) => k !== idKey), ['name', 'fullname', 'displayname']);
    const fields: SuggestedField[] = [
      { name: 'externalId', source: leaf(pathOf(undefined, idKey), `each element's ${idKey}`) },
      ...(email ? [{ name: 'email', source: leaf(pathOf(undefined, email), `each element's ${email}`) }] : []),
      ...(name ? [{ name: 'name', source: leaf(pathOf(undefined, name), `each element's ${name}`) }] : []),
    ];
    return [{ name: 'engagementUsers', source: { kind: 'each', column: people, fields, why: `${this.why(people)}: one user per element (keys ${keys.slice(0, 6).join(', ')})` } }];
  }

  // ---- the two objects ------------------------------------------------------------------------------------

  private engagement(): SuggestedField[] {
    const times = this.times(START_NAMES);
    const fields: SuggestedField[] = [
      ...this.text('subject', SUBJECT_NAMES),
      ...this.text('content', CONTENT_NAMES),
      ...this.direction(),
      ...times,
      ...this.stamp('remoteCreatedAt', CREATED_NAMES),
      ...this.stamp('remoteUpdatedAt', UPDATED_NAMES),
      ...this.stamp('deletedAt', DELETED_NAMES),
      ...this.engagementType(),
    ];
    if (!times.some((f) => f.name === 'startTime')) this.notes.push('No start time found: Siro shows engagements by startTime, so map one if the table has it.');
    this.noteZeroOffsets();
    const groups = this.groups();
    fields.push(...this.account(groups), ...this.contact(groups), ...this.users(groups));
    fields.push(...this.objectGroup('opportunity', groups.get('opportunity'), (r) => this.opportunityFields(r)));
    fields.splice(0, 0, ...this.subjectFrom(fields));
    return fields;
  }

  private opportunity(): SuggestedField[] {
    const groups = this.groups();
    // The table is the deal itself: its own name, amount and stage columns have no prefix.
    const own = new Map<Role, string>();
    const name = this.named(['name', 'dealname', 'opportunityname', 'title', 'subject'], ['text']);
    if (name) own.set('name', name);
    const amount = this.named(['amount', 'dealamount', 'hsamount', 'value', 'total', 'opportunityamount', 'price'], ['number', 'integer']);
    if (amount) own.set('amount', amount);
    const status = firstNamed(this.paths.filter((p) => !this.used.has(p) && this.kind(p) === 'text'), ['disposition', 'status', 'stage', 'dealstage', 'stagename', 'opportunitystage', 'state']);
    if (status) own.set('status', status);
    const closed = this.named(CLOSED_NAMES, [...TIME_KINDS, 'date']);
    if (closed) own.set('closed', closed);
    if (name) this.used.delete(name);
    if (amount) this.used.delete(amount);
    if (closed) this.used.delete(closed);
    const fields = this.opportunityFields(own);
    fields.push(...this.stamp('remoteCreatedAt', CREATED_NAMES), ...this.stamp('deletedAt', DELETED_NAMES));
    fields.push(...this.account(groups), ...this.contact(groups));
    return fields;
  }
}
