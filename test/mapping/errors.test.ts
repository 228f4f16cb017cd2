import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MappingError, MappingErrors } from '../../connector/core/errors.js';
import { loadMappings } from '../../connector/mapping/index.js';
import { loadErrors, mappingText, tempFile, tempFolder } from './helpers.js';

/** Load-time errors of one file, with its temp path shown as `F`. */
function errorsOf(text: string): string[] {
  const file = tempFile(text);
  return loadErrors(file).map((m) => m.split(file).join('F'));
}

/** Errors of a one-stream file whose `fields:` body is given; its first body line is line 6. */
function fieldErrors(fields: string, object = 'engagement'): string[] {
  return errorsOf(mappingText(fields, object));
}

describe('load-time errors name file:line:column', () => {
  it('YAML syntax errors', () => {
    expect(errorsOf('version: 1\nstreams:\n  s:\n    object: engagement\n    fields: { externalId: id\n')).toEqual([
      expect.stringMatching(/^F:6:1: YAML syntax error: /),
    ]);
    expect(errorsOf('version: 1\nstreams:\n  s:\n    object: engagement\n    object: opportunity\n')).toEqual([
      'F:5:5: YAML syntax error: Map keys must be unique',
    ]);
  });

  it('version missing or not 1', () => {
    expect(errorsOf('streams:\n  s:\n    object: engagement\n    fields: { externalId: id }\n')).toEqual(['F:1:1: `version: 1` is missing']);
    expect(errorsOf('# mappings\nversion: 2\nstreams:\n  s:\n    object: engagement\n    fields: { externalId: id }\n')).toEqual([
      'F:2:10: unsupported version 2: this target reads `version: 1`',
    ]);
  });

  it('unknown top-level and stream keys', () => {
    expect(errorsOf('version: 1\nstream:\n  s: {}\n')).toEqual([
      'F:2:1: unknown key `stream` in the top level of a mapping file (did you mean `streams`?); allowed keys: version, streams',
      'F:1:1: `streams:` is missing',
    ]);
    expect(errorsOf('version: 1\nstreams:\n  s:\n    object: engagement\n    feilds: { externalId: id }\n')).toEqual([
      'F:5:5: unknown key `feilds` in stream `s` (did you mean `fields`?); allowed keys: object, fields',
      'F:3:3: stream `s`: `fields:` is missing',
    ]);
  });

  it('missing or unknown object', () => {
    expect(errorsOf('version: 1\nstreams:\n  public-calls:\n    fields: { externalId: id }\n')).toEqual([
      'F:3:3: stream `public-calls`: `object:` is missing (engagement or opportunity)',
    ]);
    expect(errorsOf('version: 1\nstreams:\n  s:\n    object: engagment\n    fields: { externalId: id }\n')).toEqual([
      'F:4:13: stream `s`: unknown Siro object `engagment` (did you mean `engagement`?); objects: engagement, opportunity',
    ]);
  });

  it('unknown Siro field, with a suggestion from the schema', () => {
    expect(
      fieldErrors(`
        externalId: id
        subjct: title
        account:
          externalId: a
          nmae: n
      `),
    ).toEqual([
      'F:7:7: unknown Siro field `subjct` in engagement (did you mean `subject`?)',
      'F:10:9: unknown Siro field `nmae` in `account` (did you mean `name`?)',
    ]);
    expect(fieldErrors('externalId: id\nzzzzzzzz: x\n', 'opportunity')[0]).toMatch(
      /^F:7:7: unknown Siro field `zzzzzzzz` in opportunity; its fields: externalId, name, amount, /,
    );
  });

  it('missing top-level externalId mapping', () => {
    expect(fieldErrors('content: notes\n')).toEqual(['F:5:5: `externalId` is not mapped: Siro requires it for every engagement']);
  });

  it('a nested object or list item that can never have its required keys', () => {
    expect(
      fieldErrors(`
        externalId: id
        engagementType:
          name: t
        account:
          addresses:
            - { street: s, city: c, state: st, zip: z }
      `),
    ).toEqual([
      'F:7:7: `engagementType` does not map `activityType`, which Siro requires there',
      'F:11:13: `account.addresses[0]` does not map `country`, which Siro requires there',
    ]);
  });

  it('wrong nesting', () => {
    expect(
      fieldErrors(`
        externalId: id
        account: account_id
        opportunity: { column: opportunity_id }
        subject: { name: a }
        content: [a, b]
        direction: { each: dirs }
        engagementUsers: { externalId: rep_id }
        engagementType: { each: types, fields: { name: n } }
      `),
    ).toEqual([
      "F:7:16: wrong nesting: `account` is an object (fields: externalId, name, latitude, longitude, addresses, phoneNumbers, emailAddresses, lastActivityAt, deletedAt, owner, mergedToExternalId, mergedFromExternalIds) in Siro's schema; map its fields in a nested mapping instead of a column",
      "F:8:22: wrong nesting: `opportunity` is an object (fields: externalId, name, amount, closedAt, remoteCreatedAt, lastActivityAt, disposition, copyEngagementRelationships) in Siro's schema; a leaf form (`column:`) cannot fill it: map its fields instead",
      "F:9:16: wrong nesting: `subject` is text in Siro's schema; a nested mapping cannot fill it: write a column name or { column | value | template: ... }",
      "F:10:16: wrong nesting: `content` is text in Siro's schema, not a list",
      "F:11:20: `each` only works on list fields, but `direction` is text (one of INBOUND, OUTBOUND) in Siro's schema",
      "F:12:24: wrong nesting: `engagementUsers` is a list of objects (fields: externalId, email, shareOfSale, name, deletedAt) in Siro's schema; write its items as a YAML list (- { ... }) or use { each: <json array column>, fields: { ... } }",
      "F:13:25: wrong nesting: `each` builds lists, but `engagementType` is an object (fields: externalId, name, activityType) in Siro's schema",
    ]);
  });

  it('bad enum constants in value, map and default', () => {
    expect(
      fieldErrors(`
        externalId: id
        direction: { column: d, map: { in: INBOUND, out: OUTBND } }
        engagementType:
          name: { value: Call }
          activityType: { column: k, map: { call: CALL }, default: call }
        opportunity:
          externalId: o
          disposition: { value: won }
      `),
    ).toEqual([
      'F:7:56: `direction`: bad enum constant: map value for "out" "OUTBND" is not one of INBOUND, OUTBOUND (did you mean `OUTBOUND`?)',
      'F:10:66: `engagementType.activityType`: bad enum constant: default "call" is not one of MEETING, CALL, APPOINTMENT, EMAIL, TEXT, EVENT, SIRO_EVENT, SIRO_BOT_RECORDING (did you mean `CALL`?)',
      '`opportunity.disposition`: bad enum constant: value "won" is not one of OPEN, LOST, WON (did you mean `WON`?)',
    ].map((m, i) => (i === 2 ? 'F:13:31: ' + m : m)));
  });

  it('a value of the wrong type', () => {
    expect(
      fieldErrors(`
        externalId: id
        subject: { value: 00012 }
        opportunity:
          externalId: o
          amount: { value: "12" }
          copyEngagementRelationships: { value: yes }
        content: { value: null }
        account:
          name: { value: null }
      `),
    ).toEqual([
      'F:7:25: `subject`: value 00012 is not text, which Siro\'s schema wants there: quote it ("00012")',
      "F:10:26: `opportunity.amount`: value \"12\" is not a number, which Siro's schema wants there",
      "F:11:47: `opportunity.copyEngagementRelationships`: value \"yes\" is not a boolean, which Siro's schema wants there",
      "F:14:24: `account.name` is not nullable in Siro's schema: a null value would always be left out; remove the field instead",
    ]);
  });

  it('bad time zones', () => {
    expect(
      fieldErrors(`
        externalId: id
        startTime: { column: t, type: datetime, timezone: America/Chicgo }
        endTime: { column: t, type: datetime, timezone: { column: tz, default: Mars/Base } }
        startTimeLocalized: { column: t, timezone: UTC }
      `),
    ).toEqual([
      'F:7:57: `startTime`: unknown time zone "America/Chicgo" (did you mean `America/Chicago`?); use an IANA name like America/Chicago, or { column: <tz column> }',
      'F:8:78: `endTime`: unknown time zone "Mars/Base"; use an IANA name like America/Chicago, or { column: <tz column> }',
      'F:9:40: `startTimeLocalized`: `timezone` only applies to type datetime, localdatetime or date (this leaf reads string)',
    ]);
  });

  it('bad templates (Liquid parse errors)', () => {
    expect(
      fieldErrors(`
        externalId: id
        subject: { template: "{{ call_type " }
        content: { template: "{{ notes | shout }}" }
      `),
    ).toEqual([
      'F:7:28: `subject`: bad template: output "{{ call_type " not closed, line:1, col:1',
      'F:8:28: `content`: bad template: undefined filter: shout, line:1, col:1',
    ]);
  });

  it('unknown keys in a leaf, unknown types, types that do not fit the field', () => {
    expect(
      fieldErrors(`
        externalId: id
        subject: { colum: title }
        content: { column: notes, type: text }
        startTime: { column: t, type: datetme }
        opportunity:
          externalId: o
          amount: { column: a, type: datetime }
      `),
    ).toEqual([
      'F:7:18: unknown key `colum` in the leaf `subject` (did you mean `column`?); allowed keys: column, value, template, map, default, type, timezone, offset, plus',
      'F:7:16: `subject` needs a source: column, value or template',
      'F:8:39: `content`: unknown type `text`; types: string, number, integer, boolean, datetime, localdatetime, date',
      'F:9:37: `startTime`: unknown type `datetme` (did you mean `datetime`?); types: string, number, integer, boolean, datetime, localdatetime, date',
      "F:12:36: `opportunity.amount`: type `datetime` gives text, but `opportunity.amount` is a number in Siro's schema (types that fit: number, integer)",
    ]);
  });

  it('two sources, modifiers on a constant, bad column paths, empty sources', () => {
    expect(
      fieldErrors(`
        externalId: id
        subject: { column: a, template: "{{ b }}" }
        content: { value: x, default: y }
        direction: 'a[b'
        remoteCreatedAt:
        account:
          phoneNumbers: []
      `),
    ).toEqual([
      'F:7:29: `subject` has both `column` and `template`: give one source',
      'F:8:28: `content`: `default` does not apply to a constant `value`',
      'F:9:18: `direction`: bad column path "a[b": expected a quoted key or a list index after [ at character 3',
      'F:10:7: `remoteCreatedAt` has no source: write a column name, or { column: ... }, { value: ... } or { template: ... }',
      'F:12:23: `account.phoneNumbers`: an empty list maps nothing; leave the field out',
    ]);
  });

  it('map keys that clash when case is ignored', () => {
    expect(fieldErrors('externalId: id\ndirection: { column: d, map: { in: INBOUND, IN: OUTBOUND } }\n')).toEqual([
      'F:7:51: `direction`: map key "IN" clashes with another key: lookups ignore case',
    ]);
  });

  it('duplicate stream names across files, and every error of every file at once', () => {
    const dir = tempFolder({
      'a.yml': 'version: 1\nstreams:\n  public-calls:\n    object: engagement\n    fields: { externalId: id, subjec: s }\n',
      'b.yaml': 'version: 1\nstreams:\n  other:\n    object: opportunity\n    fields: { externalId: id }\n  public-calls:\n    object: engagement\n    fields: { externalId: id }\n',
      'c.yml': 'version: 3\nstreams: {}\n',
    });
    let thrown: unknown;
    try {
      loadMappings(dir);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(MappingErrors);
    const errors = (thrown as MappingErrors).errors;
    expect(errors.every((e) => e instanceof MappingError)).toBe(true);
    expect(errors.map((e) => [e.position.file, e.position.line, e.position.column, e.detail])).toEqual([
      [join(dir, 'a.yml'), 5, 31, 'unknown Siro field `subjec` in engagement (did you mean `subject`?)'],
      [join(dir, 'b.yaml'), 6, 3, `stream \`public-calls\` is already mapped at ${join(dir, 'a.yml')}:3`],
      [join(dir, 'c.yml'), 1, 10, 'unsupported version 3: this target reads `version: 1`'],
      [join(dir, 'c.yml'), 2, 10, '`streams:` must map stream names (or globs like "*-calls") to { object, fields }'],
    ]);
    expect((thrown as MappingErrors).message.split('\n')[0]).toBe(
      `${join(dir, 'a.yml')}:5:31: unknown Siro field \`subjec\` in engagement (did you mean \`subject\`?)`,
    );
  });

  it('a missing path, and a folder without mapping files', () => {
    const dir = tempFolder({ 'notes.txt': 'x', 'examples/a.yml': mappingText('externalId: id') });
    expect(loadErrors(join(dir, 'nope.yml'))).toEqual([expect.stringMatching(/nope\.yml:1:1: cannot read the mappings: ENOENT/)]);
    expect(loadErrors(dir)).toEqual([`${dir}:1:1: no *.yml or *.yaml mapping files in this folder (subfolders are not read)`]);
  });
});

describe('aliases', () => {
  it('reports a problem in a mapping shared through an alias once', () => {
    expect(errorsOf('version: 1\nstreams:\n  a: &m\n    object: engagement\n    fields: { externalId: id, subjet: s }\n  "*-b": *m\n')).toEqual([
      'F:5:31: unknown Siro field `subjet` in engagement (did you mean `subject`?)',
    ]);
  });
});
