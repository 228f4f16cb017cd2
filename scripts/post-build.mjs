// After tsc (`npm run build`, and the tests' global set-up): what the build makes besides the compiled files.
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// The built bins are executable: npm links them, and `./dist/connector/cli.js` must run as-is too.
for (const bin of ['dist/connector/cli.js', 'dist/connector/warehouse/cli.js']) {
  const file = join(root, bin);
  if (existsSync(file)) chmodSync(file, 0o755);
}

// Siro's payload validators as code (ajv's standalone code of the spec's request schemas), next to the built
// objects.js that loads them: a run then starts without loading ajv and compiling the schemas. Generated at
// every build, never committed; test/siro/payload-validators.test.ts checks it agrees with ajv at run time.
const objects = join(root, 'dist/connector/siro/objects.js');
const { PREBUILT_VALIDATORS_FILE, payloadValidatorCode } = await import(pathToFileURL(objects).href);
writeFileSync(join(dirname(objects), PREBUILT_VALIDATORS_FILE), payloadValidatorCode());

// The schema knex's migrator makes in a new SQLite ledger, read back from an in-memory database: a run that
// creates its ledger file then makes it without loading knex. test/ledger/sqlite-schema.test.ts checks that
// both ways make the same file.
const sqlite = join(root, 'dist/connector/ledger/sqlite-database.js');
const { SQLITE_SCHEMA_FILE, sqliteSchemaSnapshot } = await import(pathToFileURL(sqlite).href);
writeFileSync(join(dirname(sqlite), SQLITE_SCHEMA_FILE), JSON.stringify(await sqliteSchemaSnapshot(), null, 2) + '\n');

// The settings schema as a generated check (connector/config/settings-check.ts): a run with plainly valid
// settings, and --about, then start without loading zod. test/config/settings-check.test.ts checks it gives
// the settings zod gives.
const settings = join(root, 'dist/connector/config/settings.js');
const { SETTINGS_CHECK_FILE, settingsCheckCode } = await import(pathToFileURL(settings).href);
writeFileSync(join(dirname(settings), SETTINGS_CHECK_FILE), settingsCheckCode());
