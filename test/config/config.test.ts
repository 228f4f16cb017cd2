import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings, rejectLimit } from '../../connector/config/settings.js';
import { ConfigError } from '../../connector/core/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'target-siro-config-'));
function configFile(obj: unknown): string {
  const f = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, typeof obj === 'string' ? obj : JSON.stringify(obj));
  return f;
}

describe('settings', () => {
  it('applies defaults', () => {
    const s = loadSettings({ configFile: configFile({ api_token: 'secret-token-123' }), env: {} });
    expect(s.base_url).toBe('https://functions.siro.ai/api-externalApi');
    expect(s.batch_size).toBe(100);
    expect(s.validate_records).toBe(true);
    expect(s.rejects_file).toBe('state/rejects.jsonl');
  });

  it('reads TARGET_SIRO_* env vars with types, over the config file', () => {
    const s = loadSettings({
      configFile: configFile({ api_token: 'a', batch_size: 10 }),
      env: { TARGET_SIRO_BATCH_SIZE: '25', TARGET_SIRO_DRY_RUN: 'true', TARGET_SIRO_MAX_REJECTED: '5%', TARGET_SIRO_USER_AGENT: '123' },
    });
    expect(s.batch_size).toBe(25);
    expect(s.dry_run).toBe(true);
    expect(s.max_rejected).toBe('5%');
    expect(s.user_agent).toBe('123');
  });

  it('names unknown settings', () => {
    expect(() => loadSettings({ configFile: configFile({ api_token: 'a', batchsize: 3 }), env: {} })).toThrow(/unknown setting "batchsize"/);
  });

  it('names invalid settings without echoing secret values', () => {
    try {
      loadSettings({ configFile: configFile({ api_token: 'super-secret-value', batch_size: 'many' }), env: {} });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as Error).message).toMatch(/setting "batch_size"/);
      expect((e as Error).message).not.toContain('super-secret-value');
    }
  });

  it('requires a token unless dry run', () => {
    expect(() => loadSettings({ env: {} })).toThrow(/api_token/);
    expect(loadSettings({ env: {}, overrides: { dry_run: true } }).dry_run).toBe(true);
  });

  it('requires https except on loopback', () => {
    expect(() => loadSettings({ env: { TARGET_SIRO_API_TOKEN: 't', TARGET_SIRO_BASE_URL: 'http://siro.example.com' } })).toThrow(/https/);
    expect(loadSettings({ env: { TARGET_SIRO_API_TOKEN: 't', TARGET_SIRO_BASE_URL: 'http://127.0.0.1:8080' } }).base_url).toBe('http://127.0.0.1:8080');
    expect(loadSettings({ env: { TARGET_SIRO_API_TOKEN: 't', TARGET_SIRO_BASE_URL: 'http://localhost:8080' } }).base_url).toBe('http://localhost:8080');
  });

  it('reports unreadable or non-JSON config files', () => {
    expect(() => loadSettings({ configFile: join(dir, 'nope.json'), env: {} })).toThrow(/cannot read config file/);
    expect(() => loadSettings({ configFile: configFile('{oops'), env: {} })).toThrow(/not valid JSON/);
  });

  it('max_rejected takes a count or a percentage', () => {
    const base = { env: {}, overrides: { dry_run: true } };
    expect(rejectLimit(loadSettings(base), 100)).toBe(Infinity);
    expect(rejectLimit(loadSettings({ ...base, overrides: { dry_run: true, max_rejected: 3 } }), 100)).toBe(3);
    expect(rejectLimit(loadSettings({ ...base, overrides: { dry_run: true, max_rejected: '5%' } }), 200)).toBe(10);
    expect(() => loadSettings({ ...base, overrides: { dry_run: true, max_rejected: 'lots' as never } })).toThrow(/max_rejected/);
  });
});

describe('config.sample.json', () => {
  it('shows every setting and is a valid config', async () => {
    const { readFileSync } = await import('node:fs');
    const { settingsSchema } = await import('../../connector/config/settings.js');
    const path = join(import.meta.dirname, '..', '..', 'config.sample.json');
    const sample = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(sample).sort()).toEqual(Object.keys(settingsSchema.shape).sort());
    expect(loadSettings({ configFile: path, env: {} }).batch_size).toBe(100);
  });

  it('reads numbers and booleans given as text, as orchestrators may pass them', () => {
    const s = loadSettings({ configFile: configFile({ api_token: 'a', batch_size: '50', dry_run: 'true', max_rejected: '10', ledger_url: null }), env: {} });
    expect(s.batch_size).toBe(50);
    expect(s.dry_run).toBe(true);
    expect(s.max_rejected).toBe(10);
    expect(s.ledger_url).toBeUndefined();
  });
});
