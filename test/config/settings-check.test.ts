import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSettings, settingsJsonSchema, type LoadOptions } from '../../connector/config/settings.js';
import { builtModule, READ_INPUT, runBuilt } from '../support/built.js';

/**
 * The settings check generated at build time (connector/config/settings-check.ts) decides plainly valid
 * settings without zod. Wherever it decides, it gives what zod gives; everything else it leaves to zod, so
 * a built run loads exactly the settings (and words exactly the errors) that the zod schema alone would.
 */

const dir = mkdtempSync(join(tmpdir(), 'settings-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function configFile(content: unknown): string {
  const file = join(dir, `c${++n}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** Values to try for each setting: valid ones, bounds, other types, text as orchestrators send it. */
const VALUES: unknown[] = [
  'x', '', ' ', 'state/ledger.sqlite', '😀', 'ok_name', '1bad', 'a-b', 'ümlaut', 'debug', 'DEBUG', 'soft', 'silent',
  '50', '007', '-5', '1.5', '1e3', '0x10', 'true', 'false', 'a, b,,c', '5%', '10',
  0, 1, -1, 0.5, 1.5, 2, 64, 65, 100, 1000, 1001, 1023, 1024, 9007199254740991, 9007199254740992, 1e300,
  true, false, [], [''], ['a', 'b'], ['a', 1], {}, { a: 1 },
];

const KEYS = [
  'api_token', 'mappings', 'dry_run', 'skip_streams', 'validate_records', 'rejects_file', 'reports_dir', 'state_file', 'batch_size',
  'max_concurrency', 'rate_limit_per_minute', 'max_retries', 'max_retry_time_ms', 'max_line_bytes', 'request_timeout_ms', 'user_agent',
  'shutdown_grace_ms', 'log_level', 'ledger', 'ledger_path', 'ledger_url', 'ledger_schema', 'skip_unchanged', 'delete_mode',
  'max_delete_fraction', 'base_url', 'max_rejected', 'sync_log_retention_days',
];

function cases(): LoadOptions[] {
  const out: LoadOptions[] = [
    { env: {} },
    { env: {}, overrides: { dry_run: true } },
    { configFile: configFile({}), env: {} },
    { configFile: configFile({ mappings: 'mappings/default.yml', rejects_file: 'r.jsonl', ledger_path: 'l.sqlite', reports_dir: 'runs' }), env: {}, overrides: { dry_run: true } },
    { configFile: configFile({ api_token: 't', batch_size: 50, skip_streams: ['a'], log_level: 'warn', ledger: false, delete_mode: 'soft' }), env: {} },
    { configFile: configFile({ api_token: 't', unknown_setting: 1 }), env: {} },
    { configFile: configFile('{"api_token":"t","__proto__":{"batch_size":5}}'), env: {} },
    { configFile: configFile({ api_token: 't', base_url: 'http://127.0.0.1:9' }), env: {} },
    { configFile: configFile({ api_token: 't', max_rejected: '5%' }), env: {} },
    { configFile: configFile({ api_token: 't', ledger_url: null, state_file: null }), env: {} },
    { env: { TARGET_SIRO_API_TOKEN: 't', TARGET_SIRO_SKIP_STREAMS: 'a, b,,c', TARGET_SIRO_BATCH_SIZE: '50', TARGET_SIRO_DRY_RUN: 'true' } },
    { env: { TARGET_SIRO_API_TOKEN: 't', TARGET_SIRO_MAX_REJECTED: '10' } },
  ];
  for (const key of KEYS) {
    for (const value of VALUES) {
      out.push({ configFile: configFile({ api_token: 't', [key]: value }), env: {} });
      if (typeof value === 'string' && value !== '') out.push({ env: { TARGET_SIRO_API_TOKEN: 't', [`TARGET_SIRO_${key.toUpperCase()}`]: value } });
    }
  }
  return out;
}

/** A result as JSON text: the settings in zod's key order, or the error. */
function outcome(load: () => unknown): string {
  try {
    return JSON.stringify({ settings: load() });
  } catch (e) {
    return JSON.stringify({ error: (e as Error).message });
  }
}

describe('the generated settings check', () => {
  it('gives what zod gives wherever it decides, and a built run loads what the zod schema alone loads', () => {
    const all = cases();
    const built = runBuilt<{ check: string | null; zod: string; load: string }[]>(
      `${READ_INPUT}
       import { loadSettings, settingsBy } from ${builtModule('connector/config/settings.js')};
       const outcome = (load) => { try { return JSON.stringify({ settings: load() }); } catch (e) { return JSON.stringify({ error: e.message }); } };
       process.stdout.write(JSON.stringify(input.map((opts) => {
         const check = settingsBy.generatedCheck(opts);
         return { check: check === undefined ? null : JSON.stringify({ settings: check }), zod: outcome(() => settingsBy.zod(opts)), load: outcome(() => loadSettings(opts)) };
       })));`,
      all,
    );
    const decided = built.filter((b) => b.check !== null);
    // The check decides most plain configs, including ones given as text by env vars.
    expect(decided.length).toBeGreaterThan(400);
    for (const b of decided) expect(b.check).toBe(b.zod);
    // And the built loadSettings, check or not, is the zod schema's (the sources have no generated check).
    expect(built.map((b) => b.load)).toEqual(all.map((opts) => outcome(() => loadSettings(opts))));
  });

  it('is what a built run uses, and --about shows the JSON Schema zod makes', () => {
    const built = runBuilt<{ decided: boolean; zodLoaded: boolean; schema: unknown }>(
      `${READ_INPUT}
       import { createRequire } from 'node:module';
       import { loadSettings, settingsBy, settingsJsonSchema } from ${builtModule('connector/config/settings.js')};
       const opts = { configFile: input, env: {}, overrides: { dry_run: true } };
       loadSettings(opts);
       const schema = settingsJsonSchema();
       const zodLoaded = Object.keys(createRequire(import.meta.url)('node:module')._cache).some((f) => f.includes('/node_modules/zod/'));
       process.stdout.write(JSON.stringify({ decided: settingsBy.generatedCheck(opts) !== undefined, zodLoaded, schema }));`,
      configFile({ mappings: 'mappings/default.yml', rejects_file: 'r.jsonl', ledger_path: 'l.sqlite', reports_dir: 'runs' }),
    );
    expect(built.decided).toBe(true);
    expect(built.zodLoaded).toBe(false);
    expect(built.schema).toEqual(settingsJsonSchema());
  });
});
