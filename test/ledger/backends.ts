import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LedgerStore, type LedgerOpenOptions } from '../../connector/ledger/store.js';
import { startPostgres } from '../support/postgres.js';

/**
 * The two ledger backends for `describe.each`: a SQLite file in a temp folder, and a schema in a scratch
 * Postgres. Each `fresh()` gives an empty ledger (a new file / a new schema), so tests do not share rows.
 */
export interface Backend {
  name: 'sqlite' | 'postgres';
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** Options of a new, empty ledger. */
  fresh(): LedgerOpenOptions;
  open(opts: LedgerOpenOptions): Promise<LedgerStore>;
}

export function sqliteBackend(): Backend {
  let dir = '';
  let n = 0;
  return {
    name: 'sqlite',
    async setup() {
      dir = mkdtempSync(join(tmpdir(), 'ledger-test-'));
    },
    async teardown() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
    fresh: () => ({ path: join(dir, `l${++n}`, 'ledger.sqlite') }),
    open: (opts) => LedgerStore.open(opts),
  };
}

export function postgresBackend(): Backend {
  let pg: { url: string; stop(): Promise<void> } | undefined;
  return {
    name: 'postgres',
    async setup() {
      pg = await startPostgres();
    },
    async teardown() {
      await pg?.stop();
    },
    fresh: () => ({ url: pg!.url, schema: `ledger_${randomBytes(4).toString('hex')}` }),
    open: (opts) => LedgerStore.open(opts),
  };
}
