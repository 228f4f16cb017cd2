import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { packageRoot } from '../connector/core/paths.js';
import { startSandbox } from '../connector/sandbox/server.js';
import type { SandboxObjectRecord } from '../connector/sandbox/server.js';
import { childEnv, runPipeline, type PipelineResult } from './pipeline.js';
import { compareStream, summarize } from './compare-mappings.js';
import { DEMO_SIZE, generateSample, type SampleData } from './sample-data.js';
import { startDemoPostgres } from './postgres.js';
import { fetchEngagements, fetchStats, writeCounts, writtenBetween, type WriteCounts } from './sandbox-readback.js';
import { changeSampleWarehouse, countRows, idsAtBookmark, loadSampleWarehouse, streamNames, type SampleChange } from './sample-warehouse.js';
import { count, detail, idList, out, readableStderr, runTotals, seconds, showPayload, step, tapRows } from './show.js';
import { StoppedError, Teardown } from './teardown.js';

/**
 * `npm run demo`: the whole path on one machine, with nothing running beforehand. A Postgres warehouse
 * (embedded, or a fresh database in DATABASE_URL's server) is filled with a sample CRM, the Siro sandbox
 * starts on a random port, and `tap-warehouse | target-siro` runs twice with the shipped mapping: a first
 * full run, then, after some rows change, an incremental run that resumes from the state file and sends
 * only the changes. Everything started is stopped again, also on errors and Ctrl-C.
 */

const SEED = 42;
const STEPS = 8;
const STATE_FILE = 'state/state.json';
const COMMAND = `tap-warehouse --config tap.json --state ${STATE_FILE} | target-siro --config config.json`;

interface Run {
  result: PipelineResult;
  /** ExternalIds Siro received in this run. */
  written: string[];
  after: WriteCounts;
}

class DemoFailure extends Error {}

async function main(teardown: Teardown): Promise<void> {
  const started = Date.now();
  out('target-siro demo: warehouse → tap-warehouse → target-siro → Siro (a local sandbox)');

  step(1, STEPS, 'Starting Postgres');
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const t0 = Date.now();
  const postgres = await startDemoPostgres(databaseUrl);
  teardown.add('Postgres', () => postgres.stop());
  teardown.throwIfStopped();
  detail(`${databaseUrl ? "a fresh database in DATABASE_URL's server" : 'an embedded Postgres in a temp folder'}, ready in ${seconds(Date.now() - t0)}`);

  const db = new pg.Client({ connectionString: postgres.url });
  db.on('error', () => undefined);
  await db.connect();
  teardown.add('the database connection', () => db.end());

  step(2, STEPS, `Filling the sample warehouse (seed ${SEED})`);
  const data = generateSample(SEED, DEMO_SIZE);
  await loadSampleWarehouse(db, data);
  teardown.throwIfStopped();
  describeSample(data);
  const rows = await countRows(db);
  const streams = streamNames();

  step(3, STEPS, 'Starting the Siro sandbox');
  const token = randomBytes(16).toString('hex');
  const sandbox = await startSandbox({ tokens: [{ token, tokenName: 'demo', organizationId: 'org-demo' }] });
  teardown.add('the Siro sandbox', () => sandbox.close());
  teardown.throwIfStopped();
  detail(`${sandbox.url}  (Siro's sync API: validation against Siro's spec, upserts by externalId)`);

  const work = mkdtempSync(join(tmpdir(), 'target-siro-demo-'));
  teardown.add('the work folder', () => rmSync(work, { recursive: true, force: true }));
  writeConfigs(work, postgres.url, sandbox.url, token);
  detail(`configs in ${work}: tap.json (the two views, INCREMENTAL on updated_at),`);
  detail(`config.json (mappings/default.yml, state_file ${STATE_FILE})`);

  step(4, STEPS, `Run 1: ${COMMAND}`);
  const run1 = await runOnce(work, sandbox.url, teardown, new Map());
  teardown.throwIfStopped();
  const expected1 = rows.calls + rows.appointments;
  detail(`→ Siro received ${count(run1.written.length)} engagements (${streams.calls} ${count(rows.calls)}, ${streams.appointments} ${count(rows.appointments)} rows in the warehouse)`);
  if (run1.written.length !== expected1) throw new DemoFailure(`run 1 should have sent all ${expected1} rows, Siro received ${run1.written.length}`);
  const held = await fetchEngagements(sandbox.url);
  showExamples(held);

  step(5, STEPS, 'Changing the warehouse');
  const bookmarks = readBookmarks(join(work, STATE_FILE));
  const changes = await changeSampleWarehouse(db, data);
  teardown.throwIfStopped();
  for (const c of changes) detail(`${c.what}: ${c.ids.join(', ')}`);

  step(6, STEPS, `Run 2 (resumes from ${STATE_FILE}): ${COMMAND}`);
  const run2 = await runOnce(work, sandbox.url, teardown, run1.after);
  teardown.throwIfStopped();
  const sent2 = await explainRun2(db, run2, changes, bookmarks, streams);
  const afterRun2 = await fetchEngagements(sandbox.url);
  showDeleted(afterRun2, changes);

  step(7, STEPS, `What \`target-siro init\` writes for these views, beside the shipped mapping`);
  await showInit(work, teardown, streams);
  teardown.throwIfStopped();

  step(8, STEPS, 'Result');
  const stats = await fetchStats(sandbox.url);
  detail(`run 1: ${count(run1.written.length)} items sent to Siro`);
  detail(
    `run 2: ${count(run2.written.length)} items sent to Siro: the ${sent2.changed} changed rows` +
      (sent2.resent ? ` and the ${sent2.resent} bookmark rows read again` : ''),
  );
  detail(`Siro now holds ${count(afterRun2.length)} engagements; ${count(stats.requests)} API requests in all, none refused.`);
  detail(`demo took ${seconds(Date.now() - started)}; stopping the sandbox and Postgres.`);
}

function writeConfigs(work: string, databaseUrl: string, sandboxUrl: string, token: string): void {
  mkdirSync(join(work, 'state'), { recursive: true });
  // The first run starts from an empty state file, exactly as the documented cron recipe does.
  writeFileSync(join(work, STATE_FILE), '');
  const tap = {
    connection: databaseUrl,
    streams: [
      { table: 'calls', key_properties: ['id'], replication_key: 'updated_at' },
      { table: 'appointments', key_properties: ['id'], replication_key: 'updated_at' },
    ],
  };
  const target = {
    api_token: token,
    base_url: sandboxUrl,
    mappings: join(packageRoot, 'mappings', 'default.yml'),
    state_file: STATE_FILE,
    rejects_file: 'state/rejects.jsonl',
    ledger_path: 'state/ledger.sqlite',
  };
  writeFileSync(join(work, 'tap.json'), JSON.stringify(tap, null, 2));
  writeFileSync(join(work, 'config.json'), JSON.stringify(target, null, 2));
}

async function runOnce(work: string, sandboxUrl: string, teardown: Teardown, before: WriteCounts): Promise<Run> {
  const started = Date.now();
  const result = await runPipeline({
    tapArgs: ['--config', 'tap.json', '--state', STATE_FILE],
    targetArgs: ['--config', 'config.json'],
    cwd: work,
    env: childEnv(),
    signal: teardown.signal,
    timeoutMs: 120_000,
  });
  teardown.throwIfStopped();
  const tapRead = tapRows(result.tap.stderr);
  if (tapRead) detail(`tap-warehouse read ${Object.entries(tapRead).map(([s, n]) => `${s} ${count(n)}`).join(', ')} rows`);
  for (const line of readableStderr('tap-warehouse', result.tap.stderr)) detail(line);
  for (const line of readableStderr('target-siro', result.target.stderr)) detail(line);
  if (result.tap.code !== 0 || result.target.code !== 0) {
    throw new DemoFailure(`the pipeline failed: tap-warehouse exited ${result.tap.code ?? result.tap.signal}, target-siro exited ${result.target.code ?? result.target.signal}`);
  }
  const states = result.target.stdout.split('\n').filter((l) => l.trim() !== '').length;
  detail(`${states} state line${states === 1 ? '' : 's'} printed, the last one saved to ${STATE_FILE}; ${seconds(Date.now() - started)}`);
  const after = writeCounts(await fetchEngagements(sandboxUrl));
  return { result, written: writtenBetween(before, after), after };
}

/**
 * `tap-warehouse --config tap.json | target-siro init --out suggested`: the starter mapping a new user would
 * get for the demo's two views, compared field by field with mappings/default.yml.
 */
async function showInit(work: string, teardown: Teardown, streams: { calls: string; appointments: string }): Promise<void> {
  const result = await runPipeline({
    tapArgs: ['--config', 'tap.json'],
    targetArgs: ['init', '--out', 'suggested'],
    cwd: work,
    env: childEnv(),
    signal: teardown.signal,
    timeoutMs: 60_000,
  });
  teardown.throwIfStopped();
  if (result.tap.code !== 0 || result.target.code !== 0) {
    throw new DemoFailure(`init failed: tap-warehouse exited ${result.tap.code ?? result.tap.signal}, target-siro init exited ${result.target.code ?? result.target.signal}\n${result.target.stderr}`);
  }
  detail(`tap-warehouse --config tap.json | target-siro init --out suggested`);
  for (const line of result.target.stderr.split('\n').filter((l) => l.startsWith('  '))) detail(line);
  for (const stream of [streams.calls, streams.appointments]) {
    const rows = compareStream(join(packageRoot, 'mappings', 'default.yml'), join(work, 'suggested', `${stream}.yml`), stream);
    const { same, differ, onlyShipped, onlySuggested } = summarize(rows);
    const shipped = rows.filter((r) => r.shipped !== undefined).length;
    detail('');
    detail(`${stream}: init chose the shipped source for ${same.length} of the ${shipped} fields mappings/default.yml fills:`);
    detail(`  ${same.map((r) => r.field).join(', ')}`);
    for (const r of differ) detail(`  ${r.field}: shipped ${r.shipped}; init ${r.suggested}`);
    if (onlyShipped.length) detail(`  only in the shipped mapping: ${onlyShipped.map((r) => r.field).join(', ')}`);
    if (onlySuggested.length) detail(`  only in init's: ${onlySuggested.map((r) => `${r.field} (${r.suggested})`).join(', ')}`);
  }
}

interface Bookmark {
  replication_key_value?: string;
}

function readBookmarks(stateFile: string): Record<string, Bookmark> {
  const text = readFileSync(stateFile, 'utf8').trim();
  return text ? ((JSON.parse(text) as { bookmarks?: Record<string, Bookmark> }).bookmarks ?? {}) : {};
}

function describeSample(data: SampleData): void {
  const zones = new Set(data.accounts.map((a) => a.timezone).filter((z) => z !== null));
  const noZone = data.accounts.filter((a) => a.timezone === null).length;
  const noAddress = data.accounts.filter((a) => !a.street || !a.zip).length;
  const deleted = [...data.calls, ...data.appointments].filter((e) => e.deleted_at !== null).length;
  const noDeal = data.calls.filter((c) => c.opportunity_id === null).length;
  detail(
    `crm.reps ${data.reps.length}, crm.accounts ${data.accounts.length}, crm.opportunities ${data.opportunities.length}, ` +
      `crm.calls ${count(data.calls.length)}, crm.appointments ${count(data.appointments.length)}`,
  );
  detail('views public.calls and public.appointments join them into the columns mappings/default.yml reads');
  detail(`call ids from ${data.calls[0]!.id} (above 2^53, bigint); deal ids from ${data.opportunities[0]!.id} (numeric(20,0))`);
  detail(`customers in ${zones.size} time zones, ${noZone} without one; ${noAddress} without a full address; ${noDeal} calls without a deal;`);
  detail(`${deleted} soft-deleted rows (deleted_at, shown to the tap as _sdc_deleted_at); nulls in most columns`);
}

/** The parts of an engagement payload the demo picks examples by. */
interface EngagementBody {
  [field: string]: unknown;
  account?: { addresses?: unknown[] };
  deletedAt?: string | null;
}

const BRIEF_FIELDS = ['externalId', 'subject', 'startTime', 'startTimeLocalized', 'deletedAt', 'engagementType'];

function brief(body: EngagementBody): Record<string, unknown> {
  return Object.fromEntries(BRIEF_FIELDS.filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
}

/** A call with everything filled, an appointment, and a soft-deleted call, as Siro holds them. */
function showExamples(held: SandboxObjectRecord[]): void {
  const body = (r: SandboxObjectRecord) => r.body as EngagementBody;
  const isCall = (r: SandboxObjectRecord) => r.externalId.startsWith('call-');
  const full = (b: EngagementBody) => ['opportunity', 'engagementUsers', 'direction', 'endTime', 'content'].every((k) => b[k] != null) && b.account?.addresses;
  const call = held.find((r) => isCall(r) && full(body(r)));
  const appointment = held.find((r) => !isCall(r) && body(r).account?.addresses);
  const deleted = held.find((r) => isCall(r) && body(r).deletedAt);
  detail('');
  detail('A few engagements as Siro holds them (GET /_sandbox/engagements):');
  if (call) showPayload(`call ${call.externalId}:`, call.body);
  if (appointment) showPayload(`appointment ${appointment.externalId} (some fields):`, brief(body(appointment)));
  if (deleted) showPayload('a soft-deleted call (some fields):', brief(body(deleted)));
}

/** What run 2 sent, against what changed; fails the demo unless it is exactly the changed rows (and the bookmark rows). */
async function explainRun2(
  db: pg.Client,
  run2: Run,
  changes: SampleChange[],
  bookmarks: Record<string, Bookmark>,
  streams: { calls: string; appointments: string },
): Promise<{ changed: number; resent: number }> {
  const changed = new Set(changes.flatMap((c) => c.ids));
  // Singer convention: an incremental run reads `updated_at >= bookmark`, so the last row of run 1 is read again.
  const reread = new Set<string>();
  for (const [view, stream] of [['calls', streams.calls], ['appointments', streams.appointments]] as const) {
    const value = bookmarks[stream]?.replication_key_value;
    if (value) for (const id of await idsAtBookmark(db, view, value)) if (!changed.has(id)) reread.add(id);
  }
  const written = new Set(run2.written);
  const totals = runTotals(run2.result.target.stderr);
  detail(`→ Siro received ${count(run2.written.length)} engagements:`);
  detail(idList(run2.written).replace(/^/gm, '    '));
  const missing = [...changed].filter((id) => !written.has(id));
  const extra = run2.written.filter((id) => !changed.has(id) && !reread.has(id));
  const resent = [...reread].filter((id) => written.has(id));
  if (reread.size > 0) {
    const ids = [...reread].join(', ');
    detail(
      `the last row of each stream in run 1 (${ids}) is read again, the Singer convention (updated_at >= bookmark): ` +
        (resent.length ? 'sent again, a harmless upsert' : 'not sent, Siro already holds that payload'),
    );
  }
  if (totals) detail(`target totals: read ${totals.read}, delivered ${totals.delivered}, unchanged ${totals.unchanged ?? 0}, rejected ${totals.rejected}`);
  if (missing.length || extra.length) {
    throw new DemoFailure(
      `run 2 should send exactly the changed rows:${missing.length ? ` missing ${missing.join(', ')}` : ''}${extra.length ? ` unexpected ${extra.join(', ')}` : ''}`,
    );
  }
  detail(`✓ all ${changed.size} changed rows${resent.length ? ` and the ${resent.length} bookmark rows` : ''}, nothing else`);
  return { changed: changed.size, resent: resent.length };
}

function showDeleted(held: SandboxObjectRecord[], changes: SampleChange[]): void {
  const deletedIds = changes.find((c) => c.what.includes('deleted'))?.ids ?? [];
  for (const id of deletedIds) {
    const record = held.find((r) => r.externalId === id);
    if (record) detail(`call ${id} in Siro now: deletedAt ${String(record.body.deletedAt)}`);
  }
}

const teardown = new Teardown();
teardown.catchSignals();
try {
  await main(teardown);
} catch (e) {
  if (e instanceof StoppedError || teardown.signal.aborted) {
    process.exitCode = 130;
  } else {
    process.stderr.write(`\ndemo failed: ${e instanceof DemoFailure ? e.message : ((e as Error)?.stack ?? String(e))}\n`);
    process.exitCode = 1;
  }
} finally {
  await teardown.run();
  out(process.exitCode ? 'Stopped everything the demo started.' : 'Done; nothing is left running.');
}
