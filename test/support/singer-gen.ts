/**
 * Realistic Singer input for the shipped default mapping (`public-calls`), as a tap would send it: one
 * SCHEMA, RECORDs in order, and a STATE every few records whose bookmark is the position of the last
 * record before it, so a test can replay "from the state" as the tap would on its next run.
 */

/** Every column mappings/default.yml reads from a calls row (the run checks a mapping's columns against each SCHEMA). */
export const DEFAULT_CALL_COLUMNS = [
  'id', 'call_type', 'notes', 'direction', 'started_at', 'ended_at', 'timezone', 'status', 'account_id', 'account_name',
  'street', 'city', 'state', 'zip', 'country', 'phone', 'rep_id', 'rep_email', 'rep_name', 'opportunity_id', 'amount',
  'created_at', 'updated_at',
];

/** `properties` plus, as nullable text, every column of the default calls mapping they lack (records may leave them out). */
export function withDefaultCallColumns(properties: Record<string, unknown>): Record<string, unknown> {
  const all: Record<string, unknown> = { ...properties };
  for (const c of DEFAULT_CALL_COLUMNS) all[c] ??= { type: ['null', 'string'] };
  return all;
}

/** A `public-calls` SCHEMA with every column the default mapping reads (the id an integer), as a tap sends it. */
export function defaultCallsSchema(): Record<string, unknown> {
  return {
    type: 'SCHEMA',
    stream: 'public-calls',
    key_properties: ['id'],
    schema: {
      type: 'object',
      properties: withDefaultCallColumns({
        id: { type: 'integer' },
        started_at: { type: ['string', 'null'], format: 'date-time' },
        _sdc_deleted_at: { type: ['string', 'null'], format: 'date-time' },
      }),
    },
  };
}

export const CALLS_SCHEMA = {
  type: 'SCHEMA',
  stream: 'public-calls',
  key_properties: ['id'],
  bookmark_properties: ['position'],
  schema: {
    type: 'object',
    properties: withDefaultCallColumns({
      id: { type: ['integer'] },
      position: { type: ['integer'] },
      call_type: { type: ['null', 'string'] },
      notes: { type: ['null', 'string'] },
      direction: { type: ['null', 'string'] },
      started_at: { type: ['null', 'string'], format: 'date-time' },
      timezone: { type: ['null', 'string'] },
      account_id: { type: ['null', 'string'] },
      account_name: { type: ['null', 'string'] },
      rep_id: { type: ['null', 'integer'] },
      rep_email: { type: ['null', 'string'] },
      updated_at: { type: ['null', 'string'], format: 'date-time' },
    }),
  },
};

export interface GenOptions {
  count: number;
  /** First position to emit (1-based); a replay from state N starts at N + 1. */
  from?: number;
  statesEvery?: number;
  /** Ids repeat every `idCycle` records (later records win), when set. */
  idCycle?: number;
  /** Positions whose direction is invalid for the mapping (rejected before delivery). */
  invalid?: (position: number) => boolean;
}

export function idAt(position: number, opts: Pick<GenOptions, 'idCycle'> = {}): number {
  return opts.idCycle ? ((position - 1) % opts.idCycle) + 1 : position;
}

export function callRecord(position: number, opts: Pick<GenOptions, 'idCycle' | 'invalid'> = {}): Record<string, unknown> {
  const id = idAt(position, opts);
  return {
    id,
    position,
    call_type: ['Discovery', 'Follow-up', 'Site visit'][position % 3],
    notes: `Call ${position}: customer asked about "financing" — ünïcödé ✓`,
    direction: opts.invalid?.(position) ? 'sideways' : position % 2 ? 'in' : 'out',
    started_at: `2026-03-0${(position % 9) + 1}T14:${String(position % 60).padStart(2, '0')}:00.123456+00:00`,
    timezone: position % 4 === 0 ? null : 'America/Chicago',
    account_id: `A-${position % 50}`,
    account_name: `Account ${position % 50}`,
    rep_id: 100 + (position % 7),
    rep_email: `rep${position % 7}@example.com`,
    updated_at: '2026-03-10T00:00:00.000000+00:00',
  };
}

export function stateAt(position: number): { bookmarks: { 'public-calls': { replication_key: string; replication_key_value: number } } } {
  return { bookmarks: { 'public-calls': { replication_key: 'position', replication_key_value: position } } };
}

export function callsInput(opts: GenOptions): string {
  const from = opts.from ?? 1;
  const every = opts.statesEvery ?? 10;
  const lines: string[] = [JSON.stringify(CALLS_SCHEMA)];
  for (let p = from; p <= opts.count; p++) {
    lines.push(JSON.stringify({ type: 'RECORD', stream: 'public-calls', record: callRecord(p, opts) }));
    if (p % every === 0 || p === opts.count) lines.push(JSON.stringify({ type: 'STATE', value: stateAt(p) }));
  }
  return lines.join('\n') + '\n';
}

/** The position a printed state covers. */
export function positionOf(state: unknown): number {
  return (state as ReturnType<typeof stateAt>).bookmarks['public-calls'].replication_key_value;
}
