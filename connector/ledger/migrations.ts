import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * The ledger's schema, as knex migrations kept in code (not files on disk), so they run the same from the
 * sources, from dist/ and from an installed package. Append new migrations; never edit a published one.
 */

interface LedgerMigration {
  name: string;
  up(knex: Knex): Promise<void>;
  /** knex requires one; the target never migrates down (kept for a manual rollback). */
  down(knex: Knex): Promise<void>;
}

const MIGRATIONS: LedgerMigration[] = [
  {
    name: '001_ledger_objects_and_runs',
    async up(knex) {
      await knex.schema.createTable('ledger_objects', (t) => {
        t.string('object', 32).notNullable();
        t.text('external_id').notNullable();
        t.text('stream').notNullable();
        // What Siro holds: the last payload it acknowledged for this externalId.
        t.string('fingerprint', 64).nullable();
        t.text('siro_id').nullable();
        t.timestamp('acked_at', { useTz: true }).nullable();
        t.string('run_id', 64).nullable();
        t.text('payload').nullable();
        // The full-table pass (`<run id>:<n>`) the row was last read in; rows of a stream that a finished
        // pass did not mark are gone from the table.
        t.string('last_pass', 80).nullable();
        t.timestamp('deleted_at', { useTz: true }).nullable();
        // The last refusal (by Siro, or by the target before sending), until a later payload is acknowledged.
        t.text('last_rejection_reason').nullable();
        t.timestamp('last_rejected_at', { useTz: true }).nullable();
        t.integer('rejected_status').nullable();
        t.text('rejected_payload').nullable();
        t.string('rejected_run_id', 64).nullable();
        t.primary(['object', 'external_id']);
        t.index(['stream', 'object', 'external_id'], 'ledger_objects_stream_idx');
        t.index(['last_rejected_at'], 'ledger_objects_rejected_idx');
      });
      await knex.schema.createTable('runs', (t) => {
        t.string('run_id', 64).primary();
        t.string('kind', 32).notNullable().defaultTo('sync');
        t.timestamp('started_at', { useTz: true }).notNullable();
        t.timestamp('ended_at', { useTz: true }).nullable();
        t.string('status', 16).notNullable();
        t.boolean('dry_run').notNullable().defaultTo(false);
        t.integer('read').notNullable().defaultTo(0);
        t.integer('sent').notNullable().defaultTo(0);
        t.integer('unchanged').notNullable().defaultTo(0);
        t.integer('rejected').notNullable().defaultTo(0);
        t.integer('deleted').notNullable().defaultTo(0);
        t.text('last_state').nullable();
        t.index(['started_at'], 'runs_started_idx');
      });
    },
    async down(knex) {
      await knex.schema.dropTableIfExists('runs');
      await knex.schema.dropTableIfExists('ledger_objects');
    },
  },
  {
    // A row refused before delivery (by the stream's schema or the mapping) keeps its source record and
    // where it was refused, so a mapping fix can send it without editing state by hand.
    name: '002_rejected_source',
    async up(knex) {
      await knex.schema.alterTable('ledger_objects', (t) => {
        t.string('rejected_stage', 16).nullable();
        t.text('rejected_record').nullable();
      });
    },
    async down(knex) {
      await knex.schema.alterTable('ledger_objects', (t) => {
        t.dropColumn('rejected_stage');
        t.dropColumn('rejected_record');
      });
    },
  },
  {
    // The sync log: one row per record per run (and per row the target itself deleted or retried), so
    // operators can ask with SQL when a row was sent, what Siro answered, why it was refused. Pruned at
    // the end of a run (sync_log_retention_days), run by run. The README documents it as a stable interface.
    name: '003_sync_log',
    async up(knex) {
      await knex.schema.createTable('sync_log', (t) => {
        t.bigIncrements('id');
        t.string('run_id', 64).notNullable();
        t.text('stream').notNullable();
        t.string('object', 32).notNullable();
        t.text('external_id').notNullable();
        // create, update, resurrect, delete, unchanged (the change decision), or reject (refused before delivery).
        t.string('operation', 16).notNullable();
        // acked, unchanged or rejected.
        t.string('status', 16).notNullable();
        // The HTTP status of Siro's refusal; null when Siro did not refuse it.
        t.integer('http_status').nullable();
        // Where a refusal happened: schema, mapping or siro.
        t.string('stage', 16).nullable();
        t.text('message').nullable();
        t.timestamp('at', { useTz: true }).notNullable();
        t.index(['external_id', 'object'], 'sync_log_external_id_idx');
        t.index(['run_id'], 'sync_log_run_idx');
      });
    },
    async down(knex) {
      await knex.schema.dropTableIfExists('sync_log');
    },
  },
];

/** Feeds MIGRATIONS to knex's migrator. */
export class LedgerMigrationSource implements Knex.MigrationSource<LedgerMigration> {
  async getMigrations(): Promise<LedgerMigration[]> {
    return MIGRATIONS;
  }

  getMigrationName(migration: LedgerMigration): string {
    return migration.name;
  }

  async getMigration(migration: LedgerMigration): Promise<Knex.Migration> {
    return { up: (knex) => migration.up(knex), down: (knex) => migration.down(knex) };
  }
}

export const LEDGER_MIGRATIONS_TABLE = 'ledger_migrations';

/** The names of the migrations, in order (what an up-to-date ledger has recorded). */
export function ledgerMigrationNames(): string[] {
  return MIGRATIONS.map((m) => m.name);
}

/**
 * Identifies the migrations as this build has them (names and code): a schema captured from them at build
 * time (sqlite-database.ts) is used only while the key is the same.
 */
export function ledgerMigrationsKey(): string {
  return createHash('sha256')
    .update(JSON.stringify(MIGRATIONS.map((m) => [m.name, m.up.toString()])))
    .digest('hex');
}
