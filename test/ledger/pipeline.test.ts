import { defaultCallsSchema } from '../support/singer-gen.js';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadSettings, type Settings } from '../../connector/config/settings.js';
import { createLedgerSink, ledgerSinkOptions } from '../../connector/ledger/ledger-sink.js';
import { sinkFactory } from '../../connector/run/create-sink.js';
import { LedgerStore } from '../../connector/ledger/store.js';
import { loadMappings } from '../../connector/mapping/index.js';
import { packageRoot } from '../../connector/core/paths.js';
import { runTarget } from '../../connector/run/target-run.js';
import type { Sandbox } from '../../connector/sandbox/server.js';
import { captureLogger } from './harness.js';
import { jsonLines } from '../support/json-lines.js';
import { sandboxPerFile, tempDirPerFile } from '../support/sandbox.js';

/**
 * The ledger sink inside the real pipeline (reader, validation, the shipped default mapping, checkpointer)
 * with Siro's sandbox behind it: what the lead's CLI does, minus the process.
 */

let sandbox: Sandbox;
sandboxPerFile((s) => (sandbox = s));
const tmp = tempDirPerFile('ledger-pipeline-');

const schema = defaultCallsSchema();

function input(ids: number[], version: number, change?: (id: number) => Record<string, unknown>): string {
  const lines: unknown[] = [schema, { type: 'ACTIVATE_VERSION', stream: 'public-calls', version }];
  for (const id of ids) {
    lines.push({
      type: 'RECORD',
      stream: 'public-calls',
      version,
      record: { id, call_type: 'Discovery', account_name: `Account ${id}`, notes: 'n', direction: 'in', started_at: '2024-05-01T10:00:00Z', ...change?.(id) },
    });
    if (id % 5 === 0) lines.push({ type: 'STATE', value: { bookmarks: { 'public-calls': { last: id, version } } } });
  }
  lines.push({ type: 'ACTIVATE_VERSION', stream: 'public-calls', version });
  lines.push({ type: 'STATE', value: { bookmarks: { 'public-calls': { done: version } } } });
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

describe('ledger sink in the target pipeline', () => {
  let settings: Settings;
  let store: LedgerStore;
  beforeEach(async () => {
    sandbox.reset();
    const dir = join(tmp, randomUUID());
    settings = loadSettings({
      env: {},
      overrides: {
        api_token: 'sandbox-token',
        base_url: sandbox.url,
        mappings: join(packageRoot, 'mappings'),
        rejects_file: join(dir, 'rejects.jsonl'),
        ledger_path: join(dir, 'ledger.sqlite'),
        delete_mode: 'soft',
      },
    });
    store = await LedgerStore.open({ path: settings.ledger_path });
    return () => store.close();
  });

  async function sync(text: string) {
    const { log } = captureLogger();
    const runId = randomUUID();
    await store.startRun({ runId, dryRun: settings.dry_run });
    const statesFile = join(tmp, `${runId}.states`);
    const fd = openSync(statesFile, 'w');
    let ledgerSink: ReturnType<typeof createLedgerSink> | undefined;
    const deliverySink = await sinkFactory(settings, log);
    const result = await runTarget({
      settings,
      input: Readable.from([text]),
      mappings: loadMappings(join(packageRoot, 'mappings')),
      log,
      stdoutFd: fd,
      createSink: (onOutcome) =>
        (ledgerSink = createLedgerSink(deliverySink, ledgerSinkOptions(settings, { store, runId, onOutcome, log }))),
    });
    closeSync(fd);
    const totals = result.counters.totals();
    await store.finishRun(runId, {
      status: result.error ? 'failed' : 'ok',
      counts: { read: totals.read, sent: totals.delivered, unchanged: totals.unchanged, rejected: totals.rejected, deleted: totals.deleted },
    });
    const states = jsonLines<any>(statesFile);
    return { result, totals, states, counts: ledgerSink!.ledgerCounts(), runId };
  }

  it('skips unchanged rows, sends changed ones, soft-deletes removed ones, and still prints every state', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => i + 1);
    const first = await sync(input(ids, 1));
    expect(first.result.error).toBeUndefined();
    expect(first.totals).toMatchObject({ read: 40, delivered: 40, unchanged: 0 });
    expect(first.states.at(-1)).toEqual({ bookmarks: { 'public-calls': { done: 1 } } });

    const second = await sync(input(ids, 2));
    expect(second.totals).toMatchObject({ read: 40, delivered: 0, unchanged: 40, deleted: 0 });
    expect(second.states.at(-1)).toEqual({ bookmarks: { 'public-calls': { done: 2 } } });
    expect(sandbox.stats().itemsWritten).toBe(40);

    // Row 7 changed, row 13 gone, row 21 now fails the mapping (unknown direction): still in the table.
    const third = await sync(
      input(
        ids.filter((id) => id !== 13),
        3,
        (id) => (id === 7 ? { notes: 'changed' } : id === 21 ? { direction: 'sideways' } : {}),
      ),
    );
    expect(third.totals).toMatchObject({ read: 39, delivered: 1, unchanged: 37, rejected: 1, deleted: 1 });
    expect(third.states.at(-1)).toEqual({ bookmarks: { 'public-calls': { done: 3 } } });
    const byId = new Map(sandbox.engagements().map((e) => [e.externalId, e]));
    expect(byId.get('call-7')?.body.content).toBe('changed');
    expect(byId.get('call-13')?.deletedAt).toEqual(expect.any(String));
    expect(byId.get('call-21')?.deletedAt).toBeNull();
    expect((await store.get('engagement', 'call-21'))?.lastRejectionReason).toContain('direction');
    expect(await store.getRun(third.runId)).toMatchObject({ status: 'ok', read: 39, sent: 1, unchanged: 37, rejected: 1, deleted: 1 });
  });
});
