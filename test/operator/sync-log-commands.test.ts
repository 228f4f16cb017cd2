import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerStore, type LedgerOpenOptions, type SyncLogRow } from '../../connector/ledger/store.js';
import type { Sandbox } from '../../connector/sandbox/server.js';
import { runTargetCli, tempDir } from '../support/cli.js';
import { startPostgres } from '../support/postgres.js';
import { sandboxPerFile } from '../support/sandbox.js';
import { defaultCallsSchema } from '../support/singer-gen.js';
import { targetConfig } from '../support/target-config.js';

/**
 * The sync log through the built CLI, against the sandbox, on both ledger backends: runs with creates,
 * updates, unchanged rows, a row Siro refuses, a row the mapping refuses and soft deletes leave one log row
 * per record with the right operation and status; `target-siro runs` and `history` print them.
 */

let sandbox: Sandbox;
// call-13 is refused by Siro (422 with the item's path), like data Siro cannot take.
sandboxPerFile((s) => (sandbox = s), { faults: { rateLimitPerMinute: 0, refuseExternalIds: '^call-13$' } });

const schema = defaultCallsSchema();

/** A FULL_TABLE pass of the public-calls stream (default mapping: externalId `call-<id>`). */
function fullTable(version: number, records: Record<string, unknown>[]): string {
  const lines: unknown[] = [schema, { type: 'ACTIVATE_VERSION', stream: 'public-calls', version }];
  for (const r of records) {
    lines.push({
      type: 'RECORD',
      stream: 'public-calls',
      version,
      record: { call_type: 'Discovery', account_name: `Account ${String(r.id)}`, notes: 'n', direction: 'in', started_at: '2024-05-01T10:00:00Z', ...r },
    });
  }
  lines.push({ type: 'ACTIVATE_VERSION', stream: 'public-calls', version });
  lines.push({ type: 'STATE', value: { bookmarks: { 'public-calls': { version } } } });
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

function summary(log: SyncLogRow[]): string[] {
  return log.map((r) => [r.externalId, r.operation, r.status, r.httpStatus, r.stage].filter((v) => v !== null).join(' ')).sort();
}

interface Ledger {
  name: string;
  settings(): Record<string, unknown>;
  open(): LedgerOpenOptions;
}

const pg: { url?: string; stop?: () => Promise<void> } = {};
const schemaName = `synclog_${randomBytes(4).toString('hex')}`;
const ledgers: Ledger[] = [
  { name: 'sqlite', settings: () => ({}), open: () => ({}) },
  { name: 'postgres', settings: () => ({ ledger_url: pg.url, ledger_schema: schemaName }), open: () => ({ url: pg.url, schema: schemaName }) },
];

beforeAll(async () => {
  const started = await startPostgres();
  pg.url = started.url;
  pg.stop = () => started.stop();
});
afterAll(async () => {
  await pg.stop?.();
});

describe.each(ledgers)('sync log, runs and history through the CLI ($name ledger)', (ledger) => {
  it('logs one row per record per run; runs and history print them', async () => {
    sandbox.reset();
    const target = targetConfig({ base_url: sandbox.url, api_token: 'sandbox-token', delete_mode: 'soft', max_delete_fraction: 0.5, ...ledger.settings() });
    const cli = (args: string[], input?: string) => runTargetCli(args, { input });
    const run1 = await cli(
      ['--config', target.config],
      fullTable(1, [{ id: 10 }, { id: 11 }, { id: 12 }, { id: 13 }, { id: 14, direction: 'sideways' }, { id: 16 }]),
    );
    expect(run1.code, run1.stderr).toBe(0);
    const run2 = await cli(
      ['--config', target.config],
      fullTable(2, [{ id: 10 }, { id: 11, notes: 'edited' }, { id: 12, _sdc_deleted_at: '2024-06-01T00:00:00Z' }, { id: 13 }, { id: 14, direction: 'sideways' }, { id: 15 }]),
    );
    expect(run2.code, run2.stderr).toBe(0);
    const dry = await cli(['--config', target.config, '--dry-run', '--dry-run-output', join(target.dir, 'dry.jsonl')], fullTable(3, [{ id: 10, notes: 'dry' }]));
    expect(dry.code, dry.stderr).toBe(0);

    const store = await LedgerStore.open({ path: target.ledgerPath, ...ledger.open() });
    let runIds: string[];
    try {
      const runs = await store.recentRuns(10);
      expect(runs.map((r) => [r.status, r.dryRun])).toEqual([
        ['ok', true],
        ['ok', false],
        ['ok', false],
      ]);
      runIds = runs.map((r) => r.runId);
      expect(summary(await store.syncLogOfRun(runIds[2]!))).toEqual([
        'call-10 create acked',
        'call-11 create acked',
        'call-12 create acked',
        'call-13 create rejected 422 siro',
        'call-14 reject rejected mapping',
        'call-16 create acked',
      ]);
      expect(summary(await store.syncLogOfRun(runIds[1]!))).toEqual([
        'call-10 unchanged unchanged',
        'call-11 update acked',
        'call-12 delete acked',
        'call-13 create rejected 422 siro',
        'call-14 reject rejected mapping',
        'call-15 create acked',
        'call-16 delete acked',
      ]);
      // A dry run writes nothing to the log.
      expect(await store.syncLogOfRun(runIds[0]!)).toEqual([]);
    } finally {
      await store.close();
    }

    // runs: JSON and the table, the config given before the command as Meltano does.
    const runsJson = await cli(['runs', '--config', target.config, '--format', 'json']);
    expect(runsJson.code, runsJson.stderr).toBe(0);
    const listed = JSON.parse(runsJson.stdout) as { ledger: string; runs: Record<string, unknown>[] };
    expect(listed.runs.map((r) => r.runId)).toEqual(runIds);
    expect(listed.runs[1]).toMatchObject({ kind: 'sync', status: 'ok', dryRun: false, read: 6, unchanged: 1, durationS: expect.any(Number) });
    expect(listed.runs[2]).toMatchObject({ status: 'ok', read: 6, unchanged: 0 });
    const runsText = await cli(['--config', target.config, 'runs', '--limit', '2']);
    expect(runsText.code, runsText.stderr).toBe(0);
    expect(runsText.stdout).toMatch(/^the 2 newest runs in the ledger \((SQLite|Postgres) .*\), newest first:\n/);
    expect(runsText.stdout).toMatch(/started \(UTC\) +run id +kind +status +duration +read +sent +unchanged +rejected +deleted/);
    expect(runsText.stdout).toContain(`${runIds[0]}  sync (dry run)  ok`);
    expect(runsText.stdout).toContain(runIds[1]);
    expect(runsText.stdout).not.toContain(runIds[2]);

    // history: a row created, then soft-deleted by its source.
    const story = await cli(['history', 'call-12', '--config', target.config, '--format', 'json']);
    expect(story.code, story.stderr).toBe(0);
    const told = JSON.parse(story.stdout) as { total: number; rows: Record<string, unknown>[]; current: Record<string, unknown>[] };
    expect(told.total).toBe(2);
    expect(told.rows.map((r) => [r.runId, r.operation, r.status])).toEqual([
      [runIds[1], 'delete', 'acked'],
      [runIds[2], 'create', 'acked'],
    ]);
    expect(told.current).toEqual([expect.objectContaining({ object: 'engagement', stream: 'public-calls', runId: runIds[1], deletedAt: expect.any(String) })]);

    // A row Siro refused: the HTTP status and Siro's message, in the table.
    const refused = await cli(['history', 'call-13', '--config', target.config, '--object', 'engagement']);
    expect(refused.code, refused.stderr).toBe(0);
    expect(refused.stdout).toMatch(/^externalId "call-13" \(object engagement\): 2 sync log row\(s\) in the ledger .*, newest first:\n/);
    expect(refused.stdout.match(/ create +rejected 422 +\S/g)).toHaveLength(2);
    expect(refused.stdout).toContain('now (engagement, stream public-calls): Siro has acknowledged no payload of it; refused');
    const byMapping = await cli(['history', 'call-14', '--config', target.config, '--stream', 'public-calls', '--limit', '1']);
    expect(byMapping.stdout).toMatch(/ reject +rejected +.*direction/);
    expect(byMapping.stdout).toContain('… and 1 older');
    const unknown = await cli(['history', 'call-99', '--config', target.config]);
    expect(unknown.code).toBe(0);
    expect(unknown.stdout).toMatch(/^no sync log rows for externalId "call-99" in the ledger/);
  });
});

describe('runs and history without a ledger to read', () => {
  it('do not create a missing SQLite ledger, and refuse a turned-off one (exit 2)', async () => {
    const missing = join(tempDir(), 'none');
    const target = targetConfig({ ledger_path: join(missing, 'ledger.sqlite') });
    const runs = await runTargetCli(['runs', '--config', target.config]);
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout).toMatch(/^no runs recorded in the ledger \(SQLite .*none\/ledger\.sqlite, which does not exist yet\)/);
    const history = await runTargetCli(['history', 'x', '--config', target.config, '--format', 'json']);
    expect(JSON.parse(history.stdout)).toMatchObject({ externalId: 'x', total: 0, rows: [], current: [] });
    expect(existsSync(missing)).toBe(false);

    const off = targetConfig({ ledger: false });
    const refused = await runTargetCli(['history', 'x', '--config', off.config]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/the ledger is turned off/);
  });
});
