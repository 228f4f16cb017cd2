import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMappings } from '../../connector/mapping/index.js';
import { DEFAULT_SANDBOX_TOKEN, startSandbox, type Sandbox, type SandboxObjectRecord } from '../../connector/sandbox/server.js';
import { parseExact, stringifyExact } from '../../connector/singer/exact-json.js';
import { repoRoot, startCli, tapBin, targetBin, tempDir, writeJson, type CliResult } from '../support/cli.js';
import { startPostgres } from '../support/postgres.js';
import { targetConfig, type TestTarget } from '../support/target-config.js';

/**
 * Opportunities end to end: a real Postgres with `opportunities` and `calls` tables, the built
 * tap-warehouse piped into the built target-siro, with mappings/examples/warehouse-opportunities.yml
 * (an `object: opportunity` stream, and calls linking to opportunities by externalId only). The sandbox
 * adds a fixed latency, so an engagement that waited for its opportunity's answer is stored (createdAt)
 * at least one latency after that opportunity; the first calls reference the last opportunities, whose
 * requests are still in flight when the calls arrive.
 */

const MAPPING = join(repoRoot, 'mappings', 'examples', 'warehouse-opportunities.yml');
const LATENCY = 100;
const OPPORTUNITIES = 60;
const CALLS = 180;
/** Beyond 2^53: must reach Siro as exact text. */
const BIG_ACCOUNT = '9007199254740993';

let db: pg.Client;
let stopPostgres: () => Promise<void>;
let databaseUrl: string;
let sandbox: Sandbox;

beforeAll(async () => {
  const postgres = await startPostgres();
  databaseUrl = postgres.url;
  stopPostgres = () => postgres.stop();
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  sandbox = await startSandbox({ faults: { latencyMs: LATENCY } });
  await loadWarehouse();
});

afterAll(async () => {
  await sandbox?.close();
  await db?.end();
  await stopPostgres?.();
});

const oppId = (n: number) => `D-${String(n).padStart(3, '0')}`;
/** Call i's deal: the first calls reference the last opportunities; every ninth call has none. */
const dealOfCall = (i: number) => (i % 9 === 4 ? null : oppId(OPPORTUNITIES - (i % OPPORTUNITIES)));

async function loadWarehouse(): Promise<void> {
  await db.query(`
    CREATE TABLE public.opportunities (
      id text PRIMARY KEY, name text, amount numeric(14,2), status text, closed_at timestamptz,
      created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
      account_id bigint, account_name text, rep_id integer, rep_email text, rep_name text);
    CREATE TABLE public.calls (
      id bigint PRIMARY KEY, opportunity_id text, subject text, notes text, direction text,
      started_at timestamp, ended_at timestamp, timezone text, account_id bigint, account_name text,
      rep_id integer, rep_email text, rep_name text, created_at timestamptz, updated_at timestamptz NOT NULL);
  `);
  for (let n = 1; n <= OPPORTUNITIES; n++) {
    const status = ['open', 'Won', 'LOST'][n % 3]!;
    await db.query(
      `INSERT INTO public.opportunities VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        oppId(n),
        `Deal ${n}`,
        n % 10 === 0 ? null : `${n * 1000}.${String(n % 100).padStart(2, '0')}`,
        status,
        status === 'open' ? null : `2026-02-${String((n % 27) + 1).padStart(2, '0')}T15:30:00Z`,
        `2026-01-${String((n % 27) + 1).padStart(2, '0')}T09:00:00Z`,
        `2026-03-01T00:00:${String(n % 60).padStart(2, '0')}Z`,
        n === 7 ? BIG_ACCOUNT : 500 + (n % 20),
        `Account ${500 + (n % 20)}`,
        n % 4 === 0 ? null : 10 + (n % 5),
        `rep${n % 5}@acme.test`,
        `Rep ${n % 5}`,
      ],
    );
  }
  for (let i = 0; i < CALLS; i++) {
    await db.query(`INSERT INTO public.calls VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`, [
      1_000_000 + i,
      dealOfCall(i),
      `Call ${i}`,
      i % 5 === 0 ? null : `notes of call ${i}`,
      i % 2 === 0 ? 'out' : 'In',
      `2026-03-0${(i % 9) + 1} ${String(8 + (i % 9)).padStart(2, '0')}:15:00`,
      `2026-03-0${(i % 9) + 1} ${String(8 + (i % 9)).padStart(2, '0')}:45:00`,
      i % 3 === 0 ? null : 'America/Chicago',
      500 + (i % 20),
      `Account ${500 + (i % 20)}`,
      10 + (i % 5),
      `rep${i % 5}@acme.test`,
      `Rep ${i % 5}`,
      '2026-03-01T00:00:00Z',
      `2026-03-02T00:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z`,
    ]);
  }
}

interface Workspace {
  target: TestTarget;
  tapConfig: string;
  stateFile: string;
}

function workspace(): Workspace {
  const dir = tempDir('opportunities-e2e-');
  // Opportunities first: tap-warehouse runs streams in this order, so they reach the target first.
  const tapConfig = writeJson(join(dir, 'tap.json'), {
    connection: databaseUrl,
    log_level: 'warn',
    streams: [
      { table: 'opportunities', key_properties: ['id'], replication_key: 'updated_at' },
      { table: 'calls', key_properties: ['id'], replication_key: 'updated_at' },
    ],
  });
  const target = targetConfig(
    {
      api_token: DEFAULT_SANDBOX_TOKEN.token,
      base_url: sandbox.url,
      mappings: MAPPING,
      state_file: join(dir, 'state.json'),
      batch_size: 10,
      max_concurrency: 2,
      max_retry_time_ms: 10_000,
    },
    dir,
  );
  return { target, tapConfig, stateFile: join(dir, 'state.json') };
}

/** `tap-warehouse --config tap.json [--state state.json] | target-siro --config config.json` */
async function pipe(ws: Workspace, withState: boolean): Promise<{ tap: CliResult; target: CliResult }> {
  const tap = startCli(tapBin, ['--config', ws.tapConfig, ...(withState ? ['--state', ws.stateFile] : [])], { cwd: ws.target.dir, timeoutMs: 30_000 });
  const target = startCli(targetBin, ['--config', ws.target.config], { cwd: ws.target.dir, timeoutMs: 30_000 });
  tap.child.stdout!.pipe(target.child.stdin!);
  const [tapResult, targetResult] = await Promise.all([tap.done, target.done]);
  if (tapResult.code !== 0 || targetResult.code !== 0) {
    throw new Error(`pipeline failed: tap ${tapResult.code}, target ${targetResult.code}\n${tapResult.stderr}\n${targetResult.stderr}`);
  }
  return { tap: tapResult, target: targetResult };
}

/** What Siro should hold: every record of a full tap read through the mapping, by object and externalId. */
async function expected(ws: Workspace): Promise<{ opportunity: Map<string, unknown>; engagement: Map<string, unknown> }> {
  const { done } = startCli(tapBin, ['--config', ws.tapConfig], { timeoutMs: 30_000 });
  const result = await done;
  expect(result.code, result.stderr).toBe(0);
  const mappings = loadMappings(MAPPING);
  const out = { opportunity: new Map<string, unknown>(), engagement: new Map<string, unknown>() };
  for (const line of result.stdout.split('\n')) {
    if (line.trim() === '') continue;
    const msg = parseExact(line) as { type: string; stream: string; record: Record<string, unknown> };
    if (msg.type !== 'RECORD') continue;
    const mapping = mappings.forStream(msg.stream)!;
    const mapped = mapping.map(msg.record);
    if (!mapped.ok) throw new Error(`${msg.stream}: ${mapped.reasons.join('; ')}`);
    out[mapping.object].set(mapped.externalId, JSON.parse(stringifyExact(mapped.payload)));
  }
  return out;
}

const byExternalId = (records: SandboxObjectRecord[]) => new Map(records.map((r) => [r.externalId, r]));
const ms = (iso: string) => Date.parse(iso);

describe('opportunities from a warehouse table, referenced by engagements', () => {
  it('syncs every opportunity in full, links every engagement, and writes each opportunity before the engagements referencing it', async () => {
    const ws = workspace();
    const want = await expected(ws);
    expect(want.opportunity.size).toBe(OPPORTUNITIES);
    expect(want.engagement.size).toBe(CALLS);

    await pipe(ws, true);

    const opportunities = byExternalId(sandbox.opportunities());
    const engagements = byExternalId(sandbox.engagements());
    // Every opportunity with its full payload, every engagement as mapped (exact big integers included).
    expect(new Map([...opportunities].map(([k, r]) => [k, r.body]))).toEqual(want.opportunity);
    expect(new Map([...engagements].map(([k, r]) => [k, r.body]))).toEqual(want.engagement);
    expect((opportunities.get(oppId(7))!.body.account as { externalId: string }).externalId).toBe(BIG_ACCOUNT);

    // Linked: each engagement's opportunity (by externalId only) is one Siro holds, written at least one
    // latency earlier: the engagement's request started only after the opportunity's answer.
    const early: string[] = [];
    let linkedCount = 0;
    for (const [i, e] of [...engagements.values()].entries()) {
      const link = e.body.opportunity as { externalId: string } | undefined;
      if (!link) continue;
      linkedCount++;
      expect(Object.keys(link)).toEqual(['externalId']);
      const opp = opportunities.get(link.externalId);
      expect(opp, `engagement ${e.externalId} links to a missing opportunity`).toBeDefined();
      if (ms(e.createdAt) - ms(opp!.createdAt) < LATENCY - 2) early.push(`#${i} ${e.externalId} → ${link.externalId}`);
    }
    expect(early).toEqual([]);
    expect(linkedCount).toBe([...Array(CALLS).keys()].filter((i) => dealOfCall(i) !== null).length);

    // A second run: the ledger finds everything unchanged except one deal and one of its calls, changed
    // in between; the call again goes only after its opportunity.
    const requestsBefore = sandbox.stats().requests;
    await db.query(`UPDATE public.opportunities SET amount = 123456.78, updated_at = '2026-04-01T00:00:00Z' WHERE id = $1`, [oppId(OPPORTUNITIES)]);
    await db.query(`UPDATE public.calls SET notes = 'changed', updated_at = '2026-04-01T00:00:00Z' WHERE id = 1000000`);
    await pipe(ws, true);
    expect(sandbox.stats().requests - requestsBefore).toBe(2);
    const deal = sandbox.opportunities().find((r) => r.externalId === oppId(OPPORTUNITIES))!;
    const call = sandbox.engagements().find((r) => r.externalId === '1000000')!;
    expect(deal.body.amount).toBe(123456.78);
    expect(deal.writes).toBe(2);
    expect(call.body).toMatchObject({ content: 'changed', opportunity: { externalId: oppId(OPPORTUNITIES) } });
    expect(call.writes).toBe(2);
    expect(ms(call.updatedAt) - ms(deal.updatedAt)).toBeGreaterThanOrEqual(LATENCY - 2);
  });
});
