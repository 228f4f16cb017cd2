import { Liquid } from 'liquidjs';
import { describe, expect, it } from 'vitest';
import { newContext } from '../../connector/mapping/context.js';
import { compileTemplate } from '../../connector/mapping/templates.js';
import { payloadOf, reasonsOf, record, streamOf } from './helpers.js';

describe('leaf forms', () => {
  it('reads a bare string as a column and a { value } as a constant', () => {
    const m = streamOf(`
      externalId: id
      content: notes
      engagementType:
        name: { value: Sales call }
        activityType: { value: CALL }
    `);
    expect(payloadOf(m.map({ id: 'c1', notes: 'hello' }))).toEqual({
      externalId: 'c1',
      content: 'hello',
      engagementType: { name: 'Sales call', activityType: 'CALL' },
    });
  });

  it('reads { column } with the same meaning as a bare string', () => {
    const m = streamOf(`
      externalId: { column: id }
      subject: { column: title }
    `);
    expect(payloadOf(m.map({ id: 7, title: 'Demo' }))).toEqual({ externalId: '7', subject: 'Demo' });
  });

  it('renders { template } with Liquid over the record', () => {
    const m = streamOf(`
      externalId: id
      subject: { template: "{{ call_type }} with {{ contact_name }}" }
      content: { template: "{{ contact.name | upcase }} / {{ contact.phones[1] }}" }
    `);
    const p = payloadOf(m.map({ id: 1, call_type: 'Demo', contact_name: 'Ann', contact: { name: 'Bo', phones: ['1', '2'] } }));
    expect(p.subject).toBe('Demo with Ann');
    expect(p.content).toBe('BO / 2');
  });

  it('renders bigints exactly, reads into JSON-text columns, and renders missing variables empty', () => {
    const m = streamOf(`
      externalId: { template: "call-{{ id }}" }
      subject: { template: "{{ meta.crm_id }}|{{ missing }}|{{ meta.deal.id }}" }
      content: { template: "{% if meta.crm_id %}crm {{ meta.crm_id }}{% endif %}" }
    `);
    const r = record('{"id": 12345678901234567890, "meta": "{\\"crm_id\\": 98765432109876543210, \\"deal\\": {\\"id\\": 5}}"}');
    const p = payloadOf(m.map(r));
    expect(p.externalId).toBe('call-12345678901234567890');
    expect(p.subject).toBe('98765432109876543210||5');
    expect(p.content).toBe('crm 98765432109876543210');
  });

  it('gives the same text on the fast splice path as liquidjs does', () => {
    const liquid = new Liquid({ ownPropertyOnly: true });
    const text = '<{{ v }}|{{ o.k }}|{{ l[1] }}>';
    const template = compileTemplate(text);
    const values = ['text', 12, 1.5, -0, 1e21, true, false, null, undefined, 12345678901234567890n, ['a', 1], { a: 1 }, ''];
    for (const v of values) {
      const scope = { v, o: { k: v }, l: [0, v] };
      expect([v, template.render(scope, newContext())]).toEqual([v, liquid.parseAndRenderSync(text, scope)]);
    }
  });

  it('counts a template rendering to blank text as null', () => {
    const m = streamOf(`
      externalId: id
      subject: { template: "{{ a }} {{ b }}" }
      engagementType:
        name: { template: "{{ a }}" }
        activityType: { value: CALL }
    `);
    // subject is nullable: sent as null; engagementType.name is required there: the object is left out.
    expect(payloadOf(m.map({ id: 1 }))).toEqual({ externalId: '1', subject: null });
  });

  it('translates through map ignoring case, by the text of numbers and booleans', () => {
    const m = streamOf(`
      externalId: id
      direction: { column: dir, map: { in: INBOUND, out: OUTBOUND, 1: INBOUND, false: OUTBOUND } }
    `);
    const dir = (v: unknown) => payloadOf(m.map({ id: 1, dir: v })).direction;
    expect(dir('in')).toBe('INBOUND');
    expect(dir('IN')).toBe('INBOUND');
    expect(dir(' Out ')).toBe('OUTBOUND');
    expect(dir(1)).toBe('INBOUND');
    expect(dir('1')).toBe('INBOUND');
    expect(dir(false)).toBe('OUTBOUND');
  });

  it('rejects a value missing from the map, naming field, value and the allowed values', () => {
    const m = streamOf(`
      externalId: id
      direction: { column: dir, map: { in: INBOUND, out: OUTBOUND } }
    `);
    expect(reasonsOf(m.map({ id: 1, dir: 'sideways' }))).toEqual([
      'direction: value "sideways" of column "dir" is not in map (allowed: in, out)',
    ]);
  });

  it('uses default for map misses and for null, absent or empty sources', () => {
    const m = streamOf(`
      externalId: id
      engagementType:
        name: { value: Visit }
        activityType: { column: kind, map: { call: CALL, visit: APPOINTMENT }, default: CALL }
      account:
        externalId: { column: acct, default: unknown }
    `);
    const kind = (r: Record<string, unknown>) => (payloadOf(m.map({ id: 1, ...r })).engagementType as { activityType: string }).activityType;
    expect(kind({ kind: 'Visit' })).toBe('APPOINTMENT');
    expect(kind({ kind: 'email' })).toBe('CALL');
    expect(kind({ kind: null })).toBe('CALL');
    expect(kind({})).toBe('CALL');
    expect(kind({ kind: '  ' })).toBe('CALL');
    expect(payloadOf(m.map({ id: 1, acct: '' })).account).toEqual({ externalId: 'unknown' });
  });

  it('lets a map send null (the field is then treated as having no value)', () => {
    const m = streamOf(`
      externalId: id
      direction: { column: dir, map: { in: INBOUND, unknown: null } }
    `);
    expect(payloadOf(m.map({ id: 1, dir: 'Unknown' }))).toEqual({ externalId: '1', direction: null });
  });

  it('reads the source with type before the map lookup when both are given', () => {
    const m = streamOf(
      `
      externalId: id
      disposition: { column: won, type: boolean, map: { true: WON, false: LOST } }
    `,
      'opportunity',
    );
    expect(payloadOf(m.map({ id: 1, won: 'yes' })).disposition).toBe('WON');
    expect(payloadOf(m.map({ id: 1, won: 0 })).disposition).toBe('LOST');
  });

  it('accepts enum constants in any case when no map is given, and rejects others with the allowed values', () => {
    const m = streamOf(`
      externalId: id
      direction: dir
    `);
    expect(payloadOf(m.map({ id: 1, dir: 'inbound' })).direction).toBe('INBOUND');
    expect(payloadOf(m.map({ id: 1, dir: 'OUTBOUND' })).direction).toBe('OUTBOUND');
    expect(reasonsOf(m.map({ id: 1, dir: 'sideways' }))).toEqual([
      'direction: value "sideways" of column "dir" is not one of INBOUND, OUTBOUND',
    ]);
  });

  it('collects every reason of a record', () => {
    const m = streamOf(`
      externalId: id
      direction: { column: dir, map: { in: INBOUND } }
      startTime: { column: at, type: datetime }
    `);
    expect(reasonsOf(m.map({ id: 1, dir: 'x', at: 'soon' }))).toHaveLength(2);
  });
});

describe('column paths', () => {
  const m = streamOf(`
    externalId: id
    subject: meta.crm.name
    content: tags[1]
    account:
      externalId: d["agent:type"]
      name: agent:os:version
      owner:
        externalId: "['odd.key'].inner"
  `);

  it('walks objects, lists and quoted keys', () => {
    const p = payloadOf(
      m.map({ id: 1, meta: { crm: { name: 'N' } }, tags: ['a', 'b'], d: { 'agent:type': 'bot' }, 'agent:os:version': '14.2', 'odd.key': { inner: 'I' } }),
    );
    expect(p).toEqual({ externalId: '1', subject: 'N', content: 'b', account: { externalId: 'bot', name: '14.2', owner: { externalId: 'I' } } });
  });

  it('parses JSON-text columns on the way, exactly', () => {
    const r = record('{"id": 1, "meta": "{\\"crm\\": {\\"name\\": 12345678901234567890}}", "tags": "[\\"x\\", \\"y\\"]"}');
    const p = payloadOf(m.map(r));
    expect(p.subject).toBe('12345678901234567890');
    expect(p.content).toBe('y');
  });

  it('prefers an exact top-level key holding dots', () => {
    expect(payloadOf(m.map({ id: 1, 'meta.crm.name': 'flat', meta: { crm: { name: 'nested' } } })).subject).toBe('flat');
  });

  it('reads missing paths, non-JSON text and inherited names as absent, and a null on the way as null', () => {
    const p = payloadOf(m.map({ id: 1, meta: 'not json', tags: 'x', d: { constructor: 1 } }));
    expect(p).toEqual({ externalId: '1' });
    expect(payloadOf(m.map({ id: 1, meta: null, tags: null }))).toEqual({ externalId: '1', subject: null, content: null });
    const q = streamOf(`
      externalId: id
      subject: constructor
      content: meta.toString
    `);
    expect(payloadOf(q.map({ id: 1, meta: {} }))).toEqual({ externalId: '1' });
  });
});

describe('nested objects and lists', () => {
  const m = streamOf(`
    externalId: id
    account:
      externalId: account_id
      name: account_name
      addresses:
        - { street: street, city: city, state: state, zip: zip, country: { column: country, default: US } }
        - { street: street2, city: city2, state: state2, zip: zip2, country: country2 }
      phoneNumbers: [phone, mobile]
      emailAddresses: emails
    opportunity:
      externalId: opportunity_id
      amount: { column: amount, type: number }
  `);
  const full = {
    id: 1,
    account_id: 'A',
    account_name: 'Acme',
    street: '1 Main',
    city: 'Austin',
    state: 'TX',
    zip: 78701,
    country: null,
    street2: '2 Side',
    city2: 'Dallas',
    state2: 'TX',
    zip2: null,
    country2: 'US',
    phone: '555',
    mobile: '',
    opportunity_id: 12,
    amount: '1234.56',
  };

  it('builds nested objects; drops list items missing a required key and null or empty list entries', () => {
    expect(payloadOf(m.map(full))).toEqual({
      externalId: '1',
      account: {
        externalId: 'A',
        name: 'Acme',
        addresses: [{ street: '1 Main', city: 'Austin', state: 'TX', zip: '78701', country: 'US' }],
        phoneNumbers: ['555'],
      },
      opportunity: { externalId: '12', amount: 1234.56 },
    });
  });

  it('leaves out an empty list, and an object left with nothing', () => {
    expect(payloadOf(m.map({ id: 1, street: '1 Main', phone: null, mobile: ' ' }))).toEqual({ externalId: '1' });
  });

  it('leaves out a nested object without its required key, even when it has other values', () => {
    expect(payloadOf(m.map({ ...full, opportunity_id: null })).opportunity).toBeUndefined();
  });

  it('spreads a source holding a list (or JSON text of one) into a list of text', () => {
    expect((payloadOf(m.map({ id: 1, emails: ['a@x', null, '', 'b@x'] })).account as { emailAddresses: string[] }).emailAddresses).toEqual([
      'a@x',
      'b@x',
    ]);
    expect((payloadOf(m.map({ id: 1, emails: '["c@x", 5]' })).account as { emailAddresses: string[] }).emailAddresses).toEqual(['c@x', '5']);
    expect((payloadOf(m.map({ id: 1, emails: 'd@x' })).account as { emailAddresses: string[] }).emailAddresses).toEqual(['d@x']);
  });
});

describe('each', () => {
  const m = streamOf(`
    externalId: id
    engagementUsers:
      each: attendees
      fields:
        externalId: id
        email: email
        name: { template: "{{ first }} {{ last }}" }
        shareOfSale: share
    account:
      externalId: account_id
      phoneNumbers: { each: phones }
  `);

  it('builds one item per element of a JSON-text array column, reading paths inside the element', () => {
    const r = record(
      '{"id": 1, "attendees": "[{\\"id\\": 12345678901234567890, \\"email\\": \\"a@x\\", \\"first\\": \\"Ann\\", \\"last\\": \\"Lee\\"}, {\\"id\\": 2, \\"share\\": \\"0.5\\"}]"}',
    );
    expect(payloadOf(m.map(r)).engagementUsers).toEqual([
      { externalId: '12345678901234567890', email: 'a@x', name: 'Ann Lee' },
      { externalId: '2', shareOfSale: 0.5 }, // the name template renders " ": blank, so left out
    ]);
  });

  it('takes real arrays, drops elements without the required key and non-objects, and omits an empty result', () => {
    expect(payloadOf(m.map({ id: 1, attendees: [{ email: 'no-id@x' }, 'junk', null, { id: 'u', email: 'u@x' }] })).engagementUsers).toEqual([
      { externalId: 'u', email: 'u@x' },
    ]);
    expect(payloadOf(m.map({ id: 1, attendees: [{ email: 'no-id@x' }] })).engagementUsers).toBeUndefined();
    expect(payloadOf(m.map({ id: 1, attendees: null })).engagementUsers).toBeUndefined();
    expect(payloadOf(m.map({ id: 1, attendees: '[]' })).engagementUsers).toBeUndefined();
  });

  it('rejects a column that is not a list, and names the element of a bad value', () => {
    expect(reasonsOf(m.map({ id: 1, attendees: '{"id": 1}' }))).toEqual(['engagementUsers: column "attendees" is not a list (value: "{\\"id\\": 1}")']);
    expect(reasonsOf(m.map({ id: 1, attendees: [{ id: 1 }, { id: 2, share: 'half' }] }))).toEqual([
      'engagementUsers[1].shareOfSale: value "half" of column "share" is not a number',
    ]);
  });

  it('takes the elements of a list of text as they are', () => {
    expect(payloadOf(m.map({ id: 1, account_id: 'A', phones: '["1", null, 2]' })).account).toEqual({ externalId: 'A', phoneNumbers: ['1', '2'] });
  });
});

describe('nested each', () => {
  it('builds items of items, with every index in the reasons', () => {
    const m = streamOf(
      `
      externalId: id
      opportunityContacts:
        each: contacts
        fields:
          externalId: id
          isPrimary: primary
          addresses:
            each: places
            fields: { street: s, city: c, state: st, zip: z, country: { column: co, map: { us: US, ca: CA } } }
    `,
      'opportunity',
    );
    const contacts = [
      { id: 1, primary: 't', places: [{ s: 'a', c: 'b', st: 'c', z: 'd', co: 'us' }, { s: 'no city' }] },
      { id: 2, places: '[{"s": "e", "c": "f", "st": "g", "z": 1, "co": "CA"}]' },
    ];
    expect(payloadOf(m.map({ id: 9, contacts }))).toEqual({
      externalId: '9',
      opportunityContacts: [
        { externalId: '1', isPrimary: true, addresses: [{ street: 'a', city: 'b', state: 'c', zip: 'd', country: 'US' }] },
        { externalId: '2', addresses: [{ street: 'e', city: 'f', state: 'g', zip: '1', country: 'CA' }] },
      ],
    });
    expect(reasonsOf(m.map({ id: 9, contacts: [{ id: 1 }, { id: 2, places: [{}, { s: 'x' }, { co: 'mars' }], primary: 'perhaps' }] }))).toEqual([
      'opportunityContacts[1].addresses[2].country: value "mars" of column "co" is not in map (allowed: us, ca)',
      'opportunityContacts[1].isPrimary: value "perhaps" of column "primary" is not a boolean (true/false, t/f, yes/no, 1/0)',
    ]);
  });
});
