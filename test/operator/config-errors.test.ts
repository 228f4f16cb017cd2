import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runTargetCli, tempDir, writeJson } from '../support/cli.js';

/**
 * Configuration errors a person can act on at once (issue 14): the setting meant for a typo, the env var a
 * bad value came from, the line and column where a config file stops being JSON, and types in words.
 * Each goes through the built CLI; `validate` loads the settings and reads no input.
 */

const TOKEN = 'cfg-errors-token-5d1a';

function config(content: unknown): string {
  const dir = tempDir('target-siro-config-errors-');
  const path = join(dir, 'config.json');
  if (typeof content === 'string') writeFileSync(path, content);
  else writeJson(path, content);
  return path;
}

describe('configuration errors', () => {
  it('name the setting meant for a misspelt one, and list the settings only when none is close', async () => {
    const r = await runTargetCli(['validate', '--config', config({ api_token: TOKEN, rejects_fle: 'r.jsonl', batchsize: 10 })]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown setting "rejects_fle" (did you mean `rejects_file`?)');
    expect(r.stderr).toContain('unknown setting "batchsize" (did you mean `batch_size`?)');
    expect(r.stderr).not.toContain('known settings');
    expect(r.stderr).not.toContain(TOKEN);

    const far = await runTargetCli(['validate', '--config', config({ api_token: TOKEN, colour: 'blue' })]);
    expect(far.code).toBe(2);
    expect(far.stderr).toMatch(/unknown setting "colour"; known settings: api_token, base_url, .*sync_log_retention_days/);
  });

  it('name a TARGET_SIRO_* env var that is no setting, with the one meant, in validate, check and a run', async () => {
    const env = { TARGET_SIRO_API_TOKNE: TOKEN, TARGET_SIRO__LOAD_SCHEMA: 'meltano extra' };
    const warning = /env var TARGET_SIRO_API_TOKNE is not a setting of target-siro \(did you mean `TARGET_SIRO_API_TOKEN`\?\): ignored/;
    const validate = await runTargetCli(['validate'], { env });
    expect(validate.code).toBe(0);
    expect(validate.stderr).toMatch(warning);
    expect(validate.stderr).not.toContain('LOAD_SCHEMA');
    const check = await runTargetCli(['check'], { env });
    expect(check.code).toBe(2);
    expect(check.stdout + check.stderr).toMatch(warning);
    const run = await runTargetCli(['--dry-run'], { env, input: '' });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(warning);
    expect(validate.stderr + check.stdout + check.stderr + run.stderr).not.toContain(TOKEN);
  });

  it('name the env var a bad value came from, with the type in words and the value given', async () => {
    const r = await runTargetCli(['validate', '--config', config({ api_token: TOKEN })], { env: { TARGET_SIRO_BATCH_SIZE: 'abc' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('setting "batch_size" (env var TARGET_SIRO_BATCH_SIZE): expected integer 1–1000, got "abc"');
    expect(r.stderr).not.toContain('expected number, received string');

    const file = await runTargetCli(['validate', '--config', config({ api_token: TOKEN, max_rejected: 'lots', batch_size: 5000 })]);
    expect(file.code).toBe(2);
    expect(file.stderr).toContain('setting "max_rejected": a count like 10 or a percentage like "5%", got "lots"');
    const negative = await runTargetCli(['validate', '--config', config({ api_token: TOKEN, max_rejected: -3 })]);
    expect(negative.stderr).toContain('setting "max_rejected": expected integer ≥ 0, or percentage like "5%", got -3');
    expect(file.stderr).toContain('setting "batch_size": expected integer 1–1000, got 5000');

    // A secret's value is never shown.
    const secret = await runTargetCli(['validate', '--config', config({ api_token: ['not', TOKEN] })]);
    expect(secret.code).toBe(2);
    expect(secret.stderr).toContain('setting "api_token": expected text\n');
    expect(secret.stderr).not.toContain(TOKEN);
  });

  it('give the line and column where a config file is not valid JSON, without quoting it', async () => {
    const path = config(`{\n  "api_token": "${TOKEN}",\n  "batch_size": 10\n  "dry_run": true\n}\n`);
    const r = await runTargetCli(['validate', '--config', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`target-siro: config file ${path}:4:3: not valid JSON: Expected ',' or '}' after property value`);

    // V8 words this one with a quote of the text and no position: the position comes from another parser.
    const quoted = config(`{\n  "api_token": "${TOKEN}",\n  "dry_run": tru\n}`);
    const q = await runTargetCli(['validate', '--config', quoted]);
    expect(q.code).toBe(2);
    expect(q.stderr).toMatch(new RegExp(`config file ${quoted}:3:\\d+: not valid JSON: `));
    expect(q.stderr).not.toContain(TOKEN);
  });
});

describe('--about', () => {
  it('words each type as the README reference does, and lists sync_log_retention_days', async () => {
    const r = await runTargetCli(['--about']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  max_rejected (integer ≥ 0, or percentage like "5%"): ');
    expect(r.stdout).toContain('  batch_size (integer 1–1000, default 100): ');
    expect(r.stdout).toContain('  delete_mode (one of none, soft, default "none"): ');
    expect(r.stdout).toContain('  skip_streams (list of text, default []): ');
    expect(r.stdout).toContain(
      "  sync_log_retention_days (integer ≥ 0, default 90): Days the ledger's sync log keeps its rows; older rows are pruned at the end of a run. 0 keeps them forever.",
    );
    expect(r.stdout).not.toMatch(/\| string/);

    const json = JSON.parse((await runTargetCli(['--about', '--format', 'json'])).stdout);
    expect(json.settings.properties.sync_log_retention_days).toMatchObject({ type: 'integer', minimum: 0, default: 90 });
  });

  it('sync_log_retention_days takes 0 and refuses a negative number (exit 2)', async () => {
    const ok = await runTargetCli(['validate', '--config', config({ api_token: TOKEN, mappings: join(repoRoot, 'mappings'), sync_log_retention_days: 0 })]);
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await runTargetCli(['validate', '--config', config({ api_token: TOKEN })], { env: { TARGET_SIRO_SYNC_LOG_RETENTION_DAYS: '-1' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('setting "sync_log_retention_days" (env var TARGET_SIRO_SYNC_LOG_RETENTION_DAYS): expected integer ≥ 0, got "-1"');
  });
});
