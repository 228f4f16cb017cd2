import type pg from 'pg';
import type { AppointmentRow, CallRow, SampleData } from './sample-data.js';

/**
 * The sample warehouse in Postgres, shaped like a typical analytics setup: normalized source tables in a
 * raw schema (`crm.reps`, `crm.accounts`, `crm.opportunities`, `crm.calls`, `crm.appointments`) and two
 * wide views (`public.calls`, `public.appointments`) that join them into exactly the columns the shipped
 * mappings/default.yml reads. tap-warehouse reads the views; their stream names (`public-calls`,
 * `public-appointments`) are the ones the default mapping names.
 *
 * A view's `updated_at` is the newest change of any joined row, so a deal marked won re-sends the calls
 * that carry its status; `crm.calls.deleted_at` (a soft delete) is shown as `_sdc_deleted_at`, the column
 * the default mapping turns into Siro's deletedAt.
 */

export interface WarehouseSchemas {
  /** Schema of the views the tap reads (its name starts the stream names). Default `public`. */
  views: string;
  /** Schema of the source tables. Default `crm`. */
  raw: string;
}

export const DEFAULT_SCHEMAS: WarehouseSchemas = { views: 'public', raw: 'crm' };

/** Stream names tap-warehouse gives the views (`<schema>-<table>`). */
export function streamNames(schemas: WarehouseSchemas = DEFAULT_SCHEMAS): { calls: string; appointments: string } {
  return { calls: `${schemas.views}-calls`, appointments: `${schemas.views}-appointments` };
}

function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain schema name: ${name}`);
  return name;
}

function ddl(s: WarehouseSchemas): string {
  const raw = ident(s.raw);
  const views = ident(s.views);
  const engagementColumns = `
    rep_id integer REFERENCES ${raw}.reps,
    account_id text REFERENCES ${raw}.accounts,
    opportunity_id numeric(20,0) REFERENCES ${raw}.opportunities,
    notes text,
    started_at timestamptz NOT NULL,
    ended_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz`;
  // The columns both views share: customer, address, rep, deal, times (see mappings/default.yml).
  const joined = (alias: string) => `
    a.timezone,
    o.status,
    ${alias}.account_id,
    a.name AS account_name,
    a.street, a.city, a.state, a.zip, a.country, a.phone,
    ${alias}.rep_id,
    r.email AS rep_email,
    r.name AS rep_name,
    ${alias}.opportunity_id,
    o.amount,
    ${alias}.created_at,
    GREATEST(${alias}.updated_at, a.updated_at, r.updated_at, o.updated_at) AS updated_at,
    ${alias}.deleted_at AS _sdc_deleted_at`;
  const joins = (alias: string) => `
    LEFT JOIN ${raw}.accounts a ON a.id = ${alias}.account_id
    LEFT JOIN ${raw}.reps r ON r.id = ${alias}.rep_id
    LEFT JOIN ${raw}.opportunities o ON o.id = ${alias}.opportunity_id`;
  return `
    CREATE SCHEMA IF NOT EXISTS ${raw};
    CREATE SCHEMA IF NOT EXISTS ${views};
    CREATE TABLE ${raw}.reps (id integer PRIMARY KEY, name text NOT NULL, email text, updated_at timestamptz NOT NULL);
    CREATE TABLE ${raw}.accounts (
      id text PRIMARY KEY, name text NOT NULL, street text, city text, state text, zip text, country text,
      phone text, timezone text, updated_at timestamptz NOT NULL);
    CREATE TABLE ${raw}.opportunities (
      id numeric(20,0) PRIMARY KEY, account_id text NOT NULL REFERENCES ${raw}.accounts, name text NOT NULL,
      amount numeric(12,2), status text NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
    CREATE TABLE ${raw}.calls (id bigint PRIMARY KEY, call_type text, direction text, ${engagementColumns});
    CREATE TABLE ${raw}.appointments (id bigint PRIMARY KEY, kind text, subject text, ${engagementColumns});
    CREATE VIEW ${views}.calls AS
      SELECT c.id, c.call_type, c.notes, c.direction, c.started_at, c.ended_at, ${joined('c')}
      FROM ${raw}.calls c ${joins('c')};
    CREATE VIEW ${views}.appointments AS
      SELECT p.id, p.kind, p.subject, p.notes, p.started_at, p.ended_at, ${joined('p')}
      FROM ${raw}.appointments p ${joins('p')};`;
}

type Value = string | number | bigint | null;

/** Multi-row INSERTs of at most 500 rows (far below Postgres' 65535 parameters). */
async function insertRows(client: pg.Client, table: string, columns: string[], rows: Value[][]): Promise<void> {
  for (let start = 0; start < rows.length; start += 500) {
    const chunk = rows.slice(start, start + 500);
    const params: (string | number | null)[] = [];
    const tuples = chunk.map((row) => `(${row.map((v) => {
      params.push(typeof v === 'bigint' ? v.toString() : v);
      return `$${params.length}`;
    }).join(', ')})`);
    await client.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, params);
  }
}

const ENGAGEMENT_COLUMNS = ['id', 'rep_id', 'account_id', 'opportunity_id', 'notes', 'started_at', 'ended_at', 'created_at', 'updated_at', 'deleted_at'] as const;

function callValues(c: CallRow): Value[] {
  return [...ENGAGEMENT_COLUMNS.map((k) => c[k]), c.call_type, c.direction];
}

function appointmentValues(a: AppointmentRow): Value[] {
  return [...ENGAGEMENT_COLUMNS.map((k) => a[k]), a.kind, a.subject];
}

/** Creates the schemas, tables and views, and loads the rows (in one transaction). */
export async function loadSampleWarehouse(client: pg.Client, data: SampleData, schemas: WarehouseSchemas = DEFAULT_SCHEMAS): Promise<void> {
  const raw = ident(schemas.raw);
  await client.query('BEGIN');
  try {
    await client.query(ddl(schemas));
    await insertRows(client, `${raw}.reps`, ['id', 'name', 'email', 'updated_at'], data.reps.map((r) => [r.id, r.name, r.email, r.updated_at]));
    await insertRows(
      client,
      `${raw}.accounts`,
      ['id', 'name', 'street', 'city', 'state', 'zip', 'country', 'phone', 'timezone', 'updated_at'],
      data.accounts.map((a) => [a.id, a.name, a.street, a.city, a.state, a.zip, a.country, a.phone, a.timezone, a.updated_at]),
    );
    await insertRows(
      client,
      `${raw}.opportunities`,
      ['id', 'account_id', 'name', 'amount', 'status', 'created_at', 'updated_at'],
      data.opportunities.map((o) => [o.id, o.account_id, o.name, o.amount, o.status, o.created_at, o.updated_at]),
    );
    await insertRows(client, `${raw}.calls`, [...ENGAGEMENT_COLUMNS, 'call_type', 'direction'], data.calls.map(callValues));
    await insertRows(client, `${raw}.appointments`, [...ENGAGEMENT_COLUMNS, 'kind', 'subject'], data.appointments.map(appointmentValues));
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** The engagement externalId the shipped default mapping gives a row of a view (`call-<id>`, `appointment-<id>`). */
export function externalIdOf(view: 'calls' | 'appointments', id: string | bigint): string {
  return `${view === 'calls' ? 'call' : 'appointment'}-${id.toString()}`;
}

/** One change made between two runs, and the engagements (by externalId) it touches. */
export interface SampleChange {
  what: string;
  stream: string;
  ids: string[];
}

/** When the changes happen: after every generated row, so each is newer than the first run's bookmark. */
const CHANGED_AT = Date.parse('2026-04-01T15:00:00Z');

/**
 * Changes a handful of rows the way a day of work does: notes edited, an appointment rescheduled, new
 * calls and an appointment logged, a call deleted (soft), a deal won. Picks rows by position, so the same
 * sample gets the same changes. Returns what changed and which engagements it touches.
 */
export async function changeSampleWarehouse(client: pg.Client, data: SampleData, schemas: WarehouseSchemas = DEFAULT_SCHEMAS): Promise<SampleChange[]> {
  const raw = ident(schemas.raw);
  const views = ident(schemas.views);
  const streams = streamNames(schemas);
  let tick = 0;
  const at = () => new Date(CHANGED_AT + 1000 * tick++).toISOString();
  const live = data.calls.filter((c) => c.deleted_at === null);
  const pickCalls = (positions: number[]) => positions.map((p) => live[Math.floor(p * (live.length - 1))]!);
  const changes: SampleChange[] = [];

  await client.query('BEGIN');
  try {
    const edited = pickCalls([0.1, 0.35, 0.6, 0.85]);
    for (const call of edited) {
      await client.query(`UPDATE ${raw}.calls SET notes = coalesce(notes || ' ', '') || $2, updated_at = $3 WHERE id = $1`, [
        call.id.toString(),
        'Update: customer asked for a revised quote.',
        at(),
      ]);
    }
    changes.push({ what: 'notes edited on 4 calls', stream: streams.calls, ids: edited.map((c) => externalIdOf('calls', c.id)) });

    const moved = data.appointments.find((a) => a.deleted_at === null && a.ended_at !== null && a.account_id !== null)!;
    await client.query(
      `UPDATE ${raw}.appointments SET started_at = started_at + interval '2 days', ended_at = ended_at + interval '2 days', updated_at = $2 WHERE id = $1`,
      [moved.id.toString(), at()],
    );
    changes.push({ what: 'an appointment moved by two days', stream: streams.appointments, ids: [externalIdOf('appointments', moved.id)] });

    // New rows continue the id sequences (the calls' ids are still above 2^53).
    const lastCall = data.calls[data.calls.length - 1]!;
    const template = live[Math.floor(live.length / 2)]!;
    const newCalls: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const id = (lastCall.id + BigInt(i)).toString();
      const started = new Date(CHANGED_AT - 3_600_000 * (4 - i)).toISOString();
      await client.query(
        `INSERT INTO ${raw}.calls (id, call_type, direction, rep_id, account_id, opportunity_id, notes, started_at, ended_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8::timestamptz + interval '12 minutes', $8, $9)`,
        [id, i === 3 ? null : 'Follow-up', i === 2 ? 'in' : 'out', template.rep_id, template.account_id, i === 1 ? template.opportunity_id?.toString() ?? null : null, `New call ${i} of the day.`, started, at()],
      );
      newCalls.push(id);
    }
    changes.push({ what: '3 new calls', stream: streams.calls, ids: newCalls.map((id) => externalIdOf('calls', id)) });

    const lastAppointment = data.appointments[data.appointments.length - 1]!;
    const newAppointment = (lastAppointment.id + 1n).toString();
    await client.query(
      `INSERT INTO ${raw}.appointments (id, kind, subject, rep_id, account_id, opportunity_id, notes, started_at, ended_at, created_at, updated_at)
       VALUES ($1, 'inspection', 'Roof inspection (booked today)', $2, $3, NULL, NULL, '2026-04-03T16:00:00Z', '2026-04-03T17:30:00Z', $4, $4)`,
      [newAppointment, template.rep_id, template.account_id, at()],
    );
    changes.push({ what: 'a new appointment', stream: streams.appointments, ids: [externalIdOf('appointments', newAppointment)] });

    const [deleted] = pickCalls([0.5]);
    const deletedAt = at();
    await client.query(`UPDATE ${raw}.calls SET deleted_at = $2, updated_at = $2 WHERE id = $1`, [deleted!.id.toString(), deletedAt]);
    changes.push({ what: 'a call deleted (soft: deleted_at set)', stream: streams.calls, ids: [externalIdOf('calls', deleted!.id)] });

    // A deal won: every call and appointment of that deal carries the new disposition.
    const won = data.opportunities.find((o) => o.status === 'open' && data.calls.some((c) => c.opportunity_id === o.id && c.deleted_at === null))!;
    await client.query(`UPDATE ${raw}.opportunities SET status = 'won', updated_at = $2 WHERE id = $1`, [won.id.toString(), at()]);
    for (const view of ['calls', 'appointments'] as const) {
      const { rows } = await client.query<{ id: string }>(`SELECT id::text AS id FROM ${views}.${view} WHERE opportunity_id = $1 ORDER BY id`, [won.id.toString()]);
      if (rows.length > 0) changes.push({ what: `deal ${won.id} won: its ${view}`, stream: streams[view], ids: rows.map((r) => externalIdOf(view, r.id)) });
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
  return changes;
}

/** Rows per view (what a full first run reads). */
export async function countRows(client: pg.Client, schemas: WarehouseSchemas = DEFAULT_SCHEMAS): Promise<{ calls: number; appointments: number }> {
  const views = ident(schemas.views);
  const { rows } = await client.query<{ calls: string; appointments: string }>(
    `SELECT (SELECT count(*) FROM ${views}.calls) AS calls, (SELECT count(*) FROM ${views}.appointments) AS appointments`,
  );
  return { calls: Number(rows[0]!.calls), appointments: Number(rows[0]!.appointments) };
}

/** ExternalIds of the rows whose replication key equals a bookmark value (re-read by the next run, Singer style). */
export async function idsAtBookmark(client: pg.Client, view: 'calls' | 'appointments', value: string, schemas: WarehouseSchemas = DEFAULT_SCHEMAS): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(`SELECT id::text AS id FROM ${ident(schemas.views)}.${view} WHERE updated_at = $1::timestamptz ORDER BY id`, [value]);
  return rows.map((r) => externalIdOf(view, r.id));
}
