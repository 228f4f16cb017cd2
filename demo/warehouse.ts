import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startDemoPostgres } from './postgres.js';
import { DEMO_SIZE, generateSample } from './sample-data.js';
import { loadSampleWarehouse } from './sample-warehouse.js';
import { StoppedError, Teardown } from './teardown.js';

/**
 * `npm run warehouse`: a throw-away Postgres to try target-siro against, with your own tables.
 *
 *   npm run warehouse -- [--sql FILE]... [--sample] [--tap-config FILE]
 *
 * Starts the demo's embedded Postgres (or a fresh database in DATABASE_URL's server), runs each --sql file
 * in it (your CREATE TABLE and INSERT statements), optionally loads the demo's sample CRM (--sample), and
 * writes a tap-warehouse connection to --tap-config (default state/warehouse-tap.json, readable by you
 * only: it holds the generated password, which is never printed). It runs until Ctrl-C (or SIGTERM), then
 * stops the server and removes its files.
 */

const USAGE = 'usage: npm run warehouse -- [--sql FILE]... [--sample] [--tap-config FILE]';

function say(line: string): void {
  process.stderr.write(`warehouse: ${line}\n`);
}

async function main(): Promise<number> {
  let values: { sql?: string[]; sample?: boolean; 'tap-config'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        sql: { type: 'string', multiple: true },
        sample: { type: 'boolean', default: false },
        'tap-config': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    say(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  const sqlFiles = (values.sql ?? []).map((f) => resolve(f));
  const scripts: { file: string; text: string }[] = [];
  for (const file of sqlFiles) {
    try {
      scripts.push({ file, text: readFileSync(file, 'utf8') });
    } catch (e) {
      say(`cannot read --sql ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return 2;
    }
  }
  const tapConfig = resolve(values['tap-config'] ?? 'state/warehouse-tap.json');

  const teardown = new Teardown();
  teardown.catchSignals();
  try {
    say('starting a throw-away Postgres ...');
    const db = await startDemoPostgres(process.env.DATABASE_URL);
    teardown.add('the Postgres server', () => db.stop());
    teardown.throwIfStopped();

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      if (values.sample) {
        await loadSampleWarehouse(client, generateSample(42, DEMO_SIZE)); // the demo's seed: the same CRM as `npm run demo`
        say('loaded the demo CRM (views calls and appointments, schema public)');
      }
      for (const { file, text } of scripts) {
        try {
          await client.query(text);
        } catch (e) {
          const err = e as { message: string; position?: string };
          say(`${file}: ${err.message}${err.position ? ` (at character ${err.position})` : ''}`);
          return 2;
        }
        say(`ran ${file}`);
      }
    } finally {
      await client.end();
    }

    mkdirSync(dirname(tapConfig), { recursive: true });
    writeFileSync(tapConfig, JSON.stringify({ connection: db.url, streams: [] }, null, 2) + '\n', { mode: 0o600 });
    chmodSync(tapConfig, 0o600);
    say(`ready. tap-warehouse connection written to ${tapConfig} (add your "streams"; see connector/warehouse/README.md)`);
    say(`psql: psql "$(node -p 'require(process.argv[1]).connection' ${tapConfig})"`);
    say('Ctrl-C stops the server and removes its files');
    await new Promise<void>((done) => teardown.signal.addEventListener('abort', () => done(), { once: true }));
    return 0;
  } catch (e) {
    if (e instanceof StoppedError) return 0;
    say(`failed: ${(e as Error).message}`);
    return 1;
  } finally {
    await teardown.run();
    say('stopped; the server and its files are gone');
  }
}

main().then(
  (code) => (process.exitCode = code),
  (e: Error) => {
    say(`failed: ${e.stack ?? e.message}`);
    process.exitCode = 1;
  },
);
