import Database from 'better-sqlite3';
import knex from 'knex';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LEDGER_MIGRATIONS_TABLE, LedgerMigrationSource } from '../../connector/ledger/migrations.js';
import { SqliteDatabase, sqliteSchemaSnapshot } from '../../connector/ledger/sqlite-database.js';
import { LedgerStore } from '../../connector/ledger/store.js';
import { builtModule, READ_INPUT, runBuilt } from '../support/built.js';

/**
 * A SQLite ledger is made two ways: by knex's migrator (migrations.ts), or, for a new file, from the schema
 * that migrator makes, captured at build time (so a run does not load knex). Both make the same file.
 */

const dir = mkdtempSync(join(tmpdir(), 'ledger-schema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `l${++n}.sqlite`);

/** What a file holds besides rows of the ledger: its schema, the migrations recorded, the lock. */
function describeFile(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    return {
      schema: db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name').all(),
      migrations: db.prepare(`SELECT id, name, batch, typeof(migration_time) AS time FROM ${LEDGER_MIGRATIONS_TABLE} ORDER BY id`).all(),
      lock: db.prepare(`SELECT * FROM ${LEDGER_MIGRATIONS_TABLE}_lock`).all(),
      sequence: db.prepare('SELECT * FROM sqlite_sequence ORDER BY name').all(),
      journal: db.pragma('journal_mode', { simple: true }),
    };
  } finally {
    db.close();
  }
}

async function make(file: string, snapshot: Awaited<ReturnType<typeof sqliteSchemaSnapshot>> | null): Promise<void> {
  const db = new SqliteDatabase(file);
  await db.open(snapshot);
  await db.close();
}

/** Whether opening `file` with the built LedgerStore loads knex (it should not, for a new or current file). */
function builtOpenLoadsKnex(file: string): boolean {
  return runBuilt<boolean>(
    `${READ_INPUT}
     import { createRequire } from 'node:module';
     import { LedgerStore } from ${builtModule('connector/ledger/store.js')};
     const store = await LedgerStore.open({ path: input });
     await store.close();
     const loaded = Object.keys(createRequire(import.meta.url)('node:module')._cache);
     process.stdout.write(JSON.stringify(loaded.some((f) => f.includes('/node_modules/knex/'))));`,
    file,
  );
}

describe('the SQLite ledger schema', () => {
  it('is the same made from the captured schema as made by the migrator', async () => {
    const snapshot = await sqliteSchemaSnapshot();
    const [fromSnapshot, fromMigrator] = [fresh(), fresh()];
    await make(fromSnapshot, snapshot);
    await make(fromMigrator, null);
    const a = describeFile(fromSnapshot);
    expect(a.migrations.map((m) => (m as { name: string }).name)).toEqual(['001_ledger_objects_and_runs', '002_rejected_source', '003_sync_log']);
    expect(a.journal).toBe('wal');
    expect(a).toEqual(describeFile(fromMigrator));
  });

  it('is captured by the build as the migrator makes it, and a built run makes a new file without knex', async () => {
    const snapshot = await sqliteSchemaSnapshot();
    const built = runBuilt<{ migrations: string[]; statements: string[] }>(
      `import { readFileSync } from 'node:fs';
       import { SQLITE_SCHEMA_FILE } from ${builtModule('connector/ledger/sqlite-database.js')};
       const file = new URL(SQLITE_SCHEMA_FILE, ${builtModule('connector/ledger/sqlite-database.js')});
       process.stdout.write(readFileSync(file, 'utf8'));`,
    );
    expect({ migrations: built.migrations, statements: built.statements }).toEqual({ migrations: snapshot.migrations, statements: snapshot.statements });

    const file = fresh();
    expect(builtOpenLoadsKnex(file)).toBe(false);
    const other = fresh();
    await make(other, null);
    expect(describeFile(file)).toEqual(describeFile(other));
    // Opened again: up to date, still without knex.
    expect(builtOpenLoadsKnex(file)).toBe(false);
  });

  it('migrates a file made by an earlier version (knex runs the missing migrations)', async () => {
    const file = fresh();
    const old = knex({ client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true });
    try {
      await old.migrate.up({ migrationSource: new LedgerMigrationSource(), tableName: LEDGER_MIGRATIONS_TABLE });
    } finally {
      await old.destroy();
    }
    expect(describeFile(file).migrations).toHaveLength(1);
    expect(builtOpenLoadsKnex(file)).toBe(true);
    expect(describeFile(file).migrations.map((m) => (m as { name: string }).name)).toEqual(['001_ledger_objects_and_runs', '002_rejected_source', '003_sync_log']);
    const store = await LedgerStore.open({ path: file });
    try {
      await store.startRun({ runId: 'r1', dryRun: true });
      expect((await store.getRun('r1'))?.dryRun).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('leaves a file whose migrations are locked to the migrator, which refuses it', async () => {
    const file = fresh();
    await make(file, await sqliteSchemaSnapshot());
    const db = new Database(file);
    db.prepare(`UPDATE ${LEDGER_MIGRATIONS_TABLE}_lock SET is_locked = 1`).run();
    db.close();
    await expect(LedgerStore.open({ path: file })).rejects.toThrow(/cannot open the ledger \(SQLite .*\): .*locked/);
  });
});
