import { defaultCallsSchema } from '../support/singer-gen.js';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { runPreview, type PreviewItem } from '../../connector/commands/preview.js';
import { loadSettings, type Settings } from '../../connector/config/settings.js';
import { packageRoot } from '../../connector/core/paths.js';
import type { Outcome } from '../../connector/delivery/sink.js';
import { createLedgerSink, ledgerSinkOptions, LedgerStore, type LedgerRow } from '../../connector/ledger/index.js';
import { loadMappings } from '../../connector/mapping/index.js';
import { sinkFactory } from '../../connector/run/create-sink.js';
import { runTarget } from '../../connector/run/target-run.js';
import type { Sandbox } from '../../connector/sandbox/server.js';
import { captureLogger } from '../ledger/harness.js';
import { jsonLines } from '../support/json-lines.js';
import { sandboxPerFile, tempDirPerFile } from '../support/sandbox.js';
import { targetConfig } from '../support/target-config.js';

/**
 * `preview` and a run share the record step (run/record-step.ts) and the change decision (ledger/change.ts).
 * This checks the promise that makes preview worth having: for the same input and the same ledger, what
 * preview says of each record is what a real run then does with it.
 */

let sandbox: Sandbox;
sandboxPerFile((s) => (sandbox = s));
const dir = tempDirPerFile('preview-agrees-');

const calls = defaultCallsSchema();
const audit = { type: 'SCHEMA', stream: 'public-audit', key_properties: ['id'], schema: { type: 'object' } };

function call(id: unknown, change: Record<string, unknown> = {}): Record<string, unknown> {
  const record = { id, call_type: 'Discovery', account_name: `Account ${String(id)}`, notes: 'n', direction: 'in', started_at: '2024-05-01T10:00:00Z', ...change };
  return { type: 'RECORD', stream: 'public-calls', record };
}

function singer(messages: unknown[]): string {
  return messages.map((m) => JSON.stringify(m)).join('\n') + '\n';
}

/** What a run did with one record, read from its outcomes, its rejects file, its counters and the ledger. */
type Did = { outcome: PreviewItem['outcome']; stage?: string; action?: string };

async function sync(settings: Settings, input: string): Promise<{ outcomes: Outcome[]; runId: string; skipped: number; error?: Error }> {
  const { log } = captureLogger();
  const runId = randomUUID();
  const store = await LedgerStore.open({ path: settings.ledger_path });
  const outcomes: Outcome[] = [];
  const fd = openSync(join(dir, `${runId}.states`), 'w');
  try {
    const deliverySink = await sinkFactory(settings, log);
    const result = await runTarget({
      settings,
      input: Readable.from([input]),
      mappings: loadMappings(settings.mappings!),
      log,
      runId,
      stdoutFd: fd,
      createSink: (onOutcome) =>
        createLedgerSink(
          deliverySink,
          ledgerSinkOptions(settings, {
            store,
            runId,
            log,
            onOutcome: (o) => {
              outcomes.push(o);
              onOutcome(o);
            },
          }),
        ),
    });
    return { outcomes, runId, skipped: result.counters.totals().skipped, error: result.error };
  } finally {
    closeSync(fd);
    await store.close();
  }
}

async function ledgerRows(settings: Settings): Promise<Map<string, LedgerRow>> {
  const store = await LedgerStore.open({ path: settings.ledger_path });
  try {
    const rows = new Map<string, LedgerRow>();
    for (const id of ['call-1', 'call-2', 'call-3', 'call-4', 'call-5']) {
      const row = await store.get('engagement', id);
      if (row) rows.set(id, row);
    }
    return rows;
  } finally {
    await store.close();
  }
}

it('preview says of each record what a run then does with it (same input, same ledger)', async () => {
  const { config } = targetConfig(
    { api_token: 'sandbox-token', base_url: sandbox.url, mappings: join(packageRoot, 'mappings'), max_retries: 1, skip_streams: ['public-audit'] },
    { dir, file: 'config.json' },
  );
  const settings = loadSettings({ configFile: config, env: {} });

  // An earlier run: calls 1 to 4 are in Siro and in the ledger.
  const first = await sync(settings, singer([calls, call(1), call(2), call(3), call(4)]));
  expect(first.error).toBeUndefined();

  const input = join(dir, 'next.singer');
  writeFileSync(
    input,
    singer([
      calls,
      audit,
      { type: 'RECORD', stream: 'public-audit', record: { id: 1, what: 'login' } }, // skip_streams: skipped
      call(1), // unchanged
      call(2, { notes: 'called back' }), // update
      call(5), // create
      call(3, { _sdc_deleted_at: '2024-06-01T00:00:00Z' }), // delete
      { type: 'RECORD', stream: 'public-calls', record: { call_type: 'Discovery' } }, // no key: rejected (input)
      call('four'), // not an integer: rejected (schema)
      call(6, { direction: 'sideways' }), // rejected (mapping)
      { type: 'STATE', value: { done: true } },
    ]),
  );

  const preview = await runPreview({ configFile: config, input, limit: 100, env: {} });
  expect(preview.ledger.used).toBe(true);
  const said = new Map<number, Did>(
    preview.records.map((r) => [r.line, { outcome: r.outcome, ...(r.stage ? { stage: r.stage } : {}), ...(r.action ? { action: r.action } : {}) }]),
  );

  const before = await ledgerRows(settings);
  const run = await sync(settings, readFileSync(input, 'utf8'));
  expect(run.error).toBeUndefined();
  const after = await ledgerRows(settings);

  // What the run did, from its own traces.
  const did = new Map<number, Did>();
  const rejects = jsonLines<{ run_id: string; line: number; stage: string }>(settings.rejects_file);
  for (const r of rejects.filter((x) => x.run_id === run.runId)) did.set(r.line, { outcome: 'rejected', stage: r.stage });
  for (const o of run.outcomes) {
    const id = o.item.externalId;
    const row = after.get(id);
    let action: string;
    if (o.kind === 'unchanged') action = 'unchanged';
    else if (o.kind === 'acked' && row?.deletedAt) action = 'delete';
    else if (o.kind === 'acked') action = before.has(id) ? 'update' : 'create';
    else action = `refused by Siro: ${o.reasons.join('; ')}`;
    if (o.kind === 'acked') expect(row?.runId, id).toBe(run.runId);
    did.set(o.item.line, { outcome: 'mapped', action });
  }
  // Skipped records leave no trace but the counter: each line preview skipped is one the run neither rejected nor sent.
  const skippedLines = [...said].filter(([, d]) => d.outcome === 'skipped').map(([line]) => line);
  expect(run.skipped).toBe(skippedLines.length);
  for (const line of skippedLines) if (!did.has(line)) did.set(line, { outcome: 'skipped' });

  expect(did).toEqual(said);
  // Every kind of record this test means to cover is there.
  expect([...said.values()].map((d) => d.action ?? d.stage ?? d.outcome).sort()).toEqual(
    ['create', 'delete', 'input', 'mapping', 'schema', 'skipped', 'unchanged', 'update'].sort(),
  );
});
