import { DateTime } from 'luxon';
import { SeededRandom } from './random.js';

/**
 * The rows of the sample warehouse: a home-improvement sales team's CRM (reps, customer accounts with
 * addresses, deals, sales calls and on-site appointments), generated from a seed so every run holds the
 * same data. It carries what real warehouses carry and the pipeline must survive: nulls in most columns,
 * customers in several time zones (and some with none), a DST change inside the date range, soft-deleted
 * rows, ids above 2^53 (bigint) and above 2^64 (numeric(20,0)), exact money amounts.
 */

export interface SampleSize {
  reps: number;
  accounts: number;
  opportunities: number;
  calls: number;
  appointments: number;
}

/** The demo's size: a few thousand rows, loaded in about a second. */
export const DEMO_SIZE: SampleSize = { reps: 12, accounts: 300, opportunities: 420, calls: 2400, appointments: 1200 };

/** Call ids start just above 2^53: a double cannot tell 9007199254740993 from ...992. */
export const FIRST_CALL_ID = 2n ** 53n + 1n;
/** Deal ids start at 2^64 (numeric(20,0): too big even for bigint, as in systems with unsigned 64-bit ids). */
export const FIRST_OPPORTUNITY_ID = 2n ** 64n;
export const FIRST_APPOINTMENT_ID = 700_001n;

export interface RepRow {
  id: number;
  name: string;
  email: string | null;
  updated_at: string;
}

export interface AccountRow {
  id: string;
  name: string;
  street: string | null;
  city: string | null;
  state: string | null;
  zip: string | null;
  country: string | null;
  phone: string | null;
  timezone: string | null;
  updated_at: string;
}

export interface OpportunityRow {
  id: bigint;
  account_id: string;
  name: string;
  /** numeric(12,2) as exact text. */
  amount: string | null;
  status: string;
  created_at: string;
  updated_at: string;
}

/** A call or an appointment: both are engagements with a customer. */
export interface EngagementRow {
  id: bigint;
  rep_id: number | null;
  account_id: string | null;
  opportunity_id: bigint | null;
  notes: string | null;
  started_at: string;
  ended_at: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface CallRow extends EngagementRow {
  call_type: string | null;
  direction: string | null;
}

export interface AppointmentRow extends EngagementRow {
  kind: string | null;
  subject: string | null;
}

export interface SampleData {
  reps: RepRow[];
  accounts: AccountRow[];
  opportunities: OpportunityRow[];
  calls: CallRow[];
  appointments: AppointmentRow[];
}

interface Place {
  city: string;
  state: string;
  zip: string;
  zone: string;
  country?: string;
  phonePrefix: string;
}

// Customers across North American time zones (Phoenix has no DST, Honolulu none either; Toronto is in Canada).
const PLACES: readonly Place[] = [
  { city: 'Brooklyn', state: 'NY', zip: '112', zone: 'America/New_York', phonePrefix: '718' },
  { city: 'Atlanta', state: 'GA', zip: '303', zone: 'America/New_York', phonePrefix: '404' },
  { city: 'Tampa', state: 'FL', zip: '336', zone: 'America/New_York', phonePrefix: '813' },
  { city: 'Charlotte', state: 'NC', zip: '282', zone: 'America/New_York', phonePrefix: '704' },
  { city: 'Austin', state: 'TX', zip: '787', zone: 'America/Chicago', phonePrefix: '512' },
  { city: 'Dallas', state: 'TX', zip: '752', zone: 'America/Chicago', phonePrefix: '214' },
  { city: 'Naperville', state: 'IL', zip: '605', zone: 'America/Chicago', phonePrefix: '630' },
  { city: 'Minneapolis', state: 'MN', zip: '554', zone: 'America/Chicago', phonePrefix: '612' },
  { city: 'Denver', state: 'CO', zip: '802', zone: 'America/Denver', phonePrefix: '303' },
  { city: 'Salt Lake City', state: 'UT', zip: '841', zone: 'America/Denver', phonePrefix: '801' },
  { city: 'Phoenix', state: 'AZ', zip: '850', zone: 'America/Phoenix', phonePrefix: '602' },
  { city: 'Mesa', state: 'AZ', zip: '852', zone: 'America/Phoenix', phonePrefix: '480' },
  { city: 'San Diego', state: 'CA', zip: '921', zone: 'America/Los_Angeles', phonePrefix: '619' },
  { city: 'Sacramento', state: 'CA', zip: '958', zone: 'America/Los_Angeles', phonePrefix: '916' },
  { city: 'Portland', state: 'OR', zip: '972', zone: 'America/Los_Angeles', phonePrefix: '503' },
  { city: 'Honolulu', state: 'HI', zip: '968', zone: 'Pacific/Honolulu', phonePrefix: '808' },
  { city: 'Toronto', state: 'ON', zip: 'M5V', zone: 'America/Toronto', country: 'CA', phonePrefix: '416' },
];

const FIRST_NAMES = ['Maria', 'James', 'Aisha', 'Wei', 'Carlos', 'Emily', 'Dmitri', 'Priya', 'Noah', 'Fatima', 'Liam', 'Sofia', 'Kenji', 'Olivia', 'Mateo', 'Grace', 'Omar', 'Hannah', 'Diego', 'Chloe'];
const LAST_NAMES = ['Alvarez', 'Johnson', 'Okafor', 'Chen', 'Nguyen', 'Smith', 'Petrov', 'Patel', 'Garcia', 'Haddad', "O'Brien", 'Kim', 'Rossi', 'Müller', 'Tanaka', 'Brown', 'Silva', 'Cohen', 'Dubois', 'Walker'];
const STREETS = ['Oak', 'Maple', 'Cedar', 'Elm', 'Willow', 'Lakeview', 'Sunset', 'Hillcrest', 'Ridge', 'Meadow', 'Park', 'Highland'];
const SUFFIXES = ['St', 'Ave', 'Dr', 'Ln', 'Ct', 'Blvd', 'Way'];
const PRODUCTS = ['solar panels', 'a roof replacement', 'new windows', 'a heat pump', 'a battery backup', 'siding', 'an HVAC tune-up'];
const CALL_TYPES: readonly (readonly [string | null, number])[] = [['Discovery', 30], ['Follow-up', 35], ['Proposal', 15], ['Check-in', 15], [null, 5]];
// What CRMs export: short and long forms in any case, and some calls with no direction at all.
const DIRECTIONS: readonly (readonly [string | null, number])[] = [['out', 50], ['in', 28], ['Outbound', 7], ['INBOUND', 6], [null, 9]];
const KINDS: readonly (readonly [string | null, number])[] = [['inspection', 30], ['appointment', 25], ['visit', 20], ['meeting', 15], ['event', 3], [null, 7]];
const STATUSES: readonly (readonly [string, number])[] = [['open', 55], ['Won', 12], ['won', 13], ['lost', 12], ['LOST', 8]];

/** Data range: the first quarter of 2026 (US DST starts on 8 March, inside it). */
const FIRST_DAY = DateTime.fromISO('2026-01-05', { zone: 'UTC' });
const DAYS = 82;
/** Reference data (reps, accounts, deals) was last touched before any call: calls drive updated_at. */
const REFERENCE_UPDATED = DateTime.fromISO('2025-12-15T10:00:00Z', { zone: 'UTC' });

function iso(t: DateTime): string {
  return t.toUTC().toISO()!;
}

/** A weekday of the range at a local wall-clock time in the customer's zone (UTC when unknown). */
function localTime(rng: SeededRandom, zone: string | null, fromHour: number, toHour: number): DateTime {
  let day = FIRST_DAY.plus({ days: rng.int(0, DAYS) });
  if (day.weekday > 5) day = day.minus({ days: day.weekday - 5 });
  return DateTime.fromObject(
    { year: day.year, month: day.month, day: day.day, hour: rng.int(fromHour, toHour), minute: rng.pick([0, 5, 10, 15, 20, 30, 40, 45, 50]), second: rng.int(0, 59) },
    { zone: zone ?? 'UTC' },
  );
}

/** Keeps every updated_at distinct (1 ms apart at worst), so an incremental bookmark names one row. */
class DistinctTimes {
  private readonly used = new Set<number>();
  take(t: DateTime): DateTime {
    let ms = t.toMillis();
    while (this.used.has(ms)) ms++;
    this.used.add(ms);
    return DateTime.fromMillis(ms, { zone: 'UTC' });
  }
}

function personName(rng: SeededRandom): string {
  return `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`;
}

function reps(rng: SeededRandom, count: number): RepRow[] {
  const rows: RepRow[] = [];
  for (let i = 1; i <= count; i++) {
    const first = FIRST_NAMES[(i * 7) % FIRST_NAMES.length]!;
    const last = LAST_NAMES[(i * 3) % LAST_NAMES.length]!;
    // One rep has no email on file: Siro gets the rep without one.
    const email = i === 4 ? null : `${first}.${last.replace(/[^A-Za-z]/g, '')}@brightside-home.example`.toLowerCase();
    rows.push({ id: i, name: `${first} ${last}`, email, updated_at: iso(REFERENCE_UPDATED.minus({ days: rng.int(10, 200) })) });
  }
  return rows;
}

function accounts(rng: SeededRandom, count: number): AccountRow[] {
  const rows: AccountRow[] = [];
  for (let i = 1; i <= count; i++) {
    const place = rng.pick(PLACES);
    const business = rng.chance(0.15);
    const name = business ? `${rng.pick(LAST_NAMES)} ${rng.pick(['Property Management', 'Dental', 'Holdings', 'Apartments'])}` : personName(rng);
    const zip = place.country === 'CA' ? `${place.zip} ${rng.int(1, 9)}T${rng.int(1, 9)}` : `${place.zip}${String(rng.int(1, 99)).padStart(2, '0')}`;
    const noAddress = rng.chance(0.08); // a lead captured by phone: no street yet
    rows.push({
      id: `ACC-${String(10000 + i)}`,
      name,
      street: noAddress ? null : `${rng.int(10, 9899)} ${rng.pick(STREETS)} ${rng.pick(SUFFIXES)}`,
      city: place.city,
      state: place.state,
      zip: noAddress && rng.chance(0.5) ? null : zip,
      country: place.country ?? (rng.chance(0.3) ? 'US' : null),
      phone: rng.chance(0.1) ? null : `+1 ${place.phonePrefix}-555-${String(rng.int(0, 9999)).padStart(4, '0')}`,
      // Some accounts were imported without a time zone: their times are read as UTC.
      timezone: rng.chance(0.04) ? null : place.zone,
      updated_at: iso(REFERENCE_UPDATED.minus({ days: rng.int(1, 300), minutes: rng.int(0, 1440) })),
    });
  }
  return rows;
}

function opportunities(rng: SeededRandom, count: number, accountRows: AccountRow[]): OpportunityRow[] {
  const rows: OpportunityRow[] = [];
  for (let i = 0; i < count; i++) {
    const account = accountRows[i < accountRows.length ? i : rng.int(0, accountRows.length - 1)]!;
    const product = rng.pick(PRODUCTS);
    const cents = rng.int(450_000, 6_800_000);
    const created = REFERENCE_UPDATED.minus({ days: rng.int(20, 400) });
    rows.push({
      id: FIRST_OPPORTUNITY_ID + BigInt(i),
      account_id: account.id,
      name: `${account.name}: ${product}`,
      amount: rng.chance(0.05) ? null : `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
      status: rng.weighted(STATUSES),
      created_at: iso(created),
      updated_at: iso(created.plus({ days: rng.int(0, 15) })),
    });
  }
  return rows;
}

interface Links {
  accountRows: AccountRow[];
  dealsByAccount: Map<string, OpportunityRow[]>;
  repRows: RepRow[];
}

/** Who and what an engagement is about: rep, customer, and (usually) one of the customer's deals. */
function engagementBase(rng: SeededRandom, links: Links, times: DistinctTimes, id: bigint, hours: [number, number], minutes: [number, number]): EngagementRow {
  const account = rng.chance(0.02) ? undefined : rng.pick(links.accountRows);
  const deals = account ? (links.dealsByAccount.get(account.id) ?? []) : [];
  const deal = deals.length > 0 && rng.chance(0.7) ? rng.pick(deals) : undefined;
  const start = localTime(rng, account?.timezone ?? null, hours[0], hours[1]);
  const end = rng.chance(0.08) ? undefined : start.plus({ minutes: rng.int(minutes[0], minutes[1]), seconds: rng.int(0, 59) });
  const updated = times.take((end ?? start).plus({ minutes: rng.int(1, 2000), milliseconds: rng.int(0, 999) }).toUTC());
  const deleted = rng.chance(0.012);
  return {
    id,
    rep_id: rng.chance(0.03) ? null : rng.pick(links.repRows).id,
    account_id: account?.id ?? null,
    opportunity_id: deal?.id ?? null,
    notes: null,
    started_at: iso(start),
    ended_at: end ? iso(end) : null,
    created_at: iso(start.minus({ days: rng.int(0, 10) })),
    updated_at: iso(updated),
    // A soft delete is the last change of its row.
    deleted_at: deleted ? iso(updated) : null,
  };
}

function callNotes(rng: SeededRandom, type: string | null): string | null {
  if (rng.chance(0.2)) return null;
  const product = rng.pick(PRODUCTS);
  switch (type) {
    case 'Discovery':
      return `Homeowner asked about ${product}. House built ${rng.int(1955, 2015)}, ${rng.pick(['one story', 'two stories', 'three stories'])}.`;
    case 'Proposal':
      return `Walked through the proposal for ${product}; wants to compare financing options.`;
    default:
      return rng.pick([`Left voicemail about ${product}.`, `Customer will talk to their partner and call back.`, `Confirmed next visit; gate code is ${rng.int(1000, 9999)}.`]);
  }
}

export function generateSample(seed: number, size: SampleSize): SampleData {
  const rng = new SeededRandom(seed);
  const times = new DistinctTimes();
  const repRows = reps(rng, size.reps);
  const accountRows = accounts(rng, size.accounts);
  const deals = opportunities(rng, size.opportunities, accountRows);
  const dealsByAccount = new Map<string, OpportunityRow[]>();
  for (const d of deals) dealsByAccount.set(d.account_id, [...(dealsByAccount.get(d.account_id) ?? []), d]);
  const links: Links = { accountRows, dealsByAccount, repRows };

  const calls: CallRow[] = [];
  for (let i = 0; i < size.calls; i++) {
    const base = engagementBase(rng, links, times, FIRST_CALL_ID + BigInt(i), [8, 19], [2, 45]);
    const callType = rng.weighted(CALL_TYPES);
    calls.push({ ...base, call_type: callType, direction: rng.weighted(DIRECTIONS), notes: callNotes(rng, callType) });
  }
  const appointments: AppointmentRow[] = [];
  for (let i = 0; i < size.appointments; i++) {
    const base = engagementBase(rng, links, times, FIRST_APPOINTMENT_ID + BigInt(i), [9, 17], [45, 120]);
    const kind = rng.weighted(KINDS);
    const account = base.account_id ? accountRows.find((a) => a.id === base.account_id) : undefined;
    const where = account?.street ? ` at ${account.street}` : '';
    appointments.push({
      ...base,
      kind,
      subject: rng.chance(0.05) ? null : `${kind === 'inspection' ? 'Roof inspection' : kind === 'meeting' ? 'Design consultation' : 'Site visit'}${where}`,
      notes: rng.chance(0.4) ? null : `Bring ${rng.pick(['samples', 'the drone', 'the financing sheet', 'a ladder'])}.`,
    });
  }
  return { reps: repRows, accounts: accountRows, opportunities: deals, calls, appointments };
}
