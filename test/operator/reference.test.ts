import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { betweenMarkers, describeType, REGENERATE, renderSettingsReference, replaceBetweenMarkers } from '../../scripts/settings-reference.mjs';
import { repoRoot, runTargetCli } from '../support/cli.js';

describe("README's configuration reference", () => {
  it('is what the settings schema renders (else: regenerate it)', async () => {
    const r = await runTargetCli(['--about', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const about = JSON.parse(r.stdout);
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const expected = renderSettingsReference(about);
    expect(betweenMarkers(readme), `README.md's settings reference is out of date: run \`${REGENERATE}\``).toBe(expected);

    // One row per setting, with its env var, and secrets marked.
    for (const name of Object.keys(about.settings.properties)) {
      const row = expected.split('\n').find((l: string) => l.startsWith(`| \`${name}\` |`));
      expect(row, name).toBeDefined();
      expect(row).toContain(`\`TARGET_SIRO_${name.toUpperCase()}\``);
      expect(row!.includes('| yes |')).toBe(about.secret_settings.includes(name));
    }
  });

  it('describes types and replaces only the marked part', () => {
    expect(describeType({ type: 'integer', minimum: 1, maximum: 1000 })).toBe('integer 1–1000');
    expect(describeType({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER })).toBe('integer ≥ 0');
    expect(describeType({ type: 'number', exclusiveMinimum: 0 })).toBe('number > 0');
    expect(describeType({ type: 'string', enum: ['none', 'soft'] })).toBe('one of `none`, `soft`');
    const readme = 'intro\n<!-- settings-reference:start -->\nold\n<!-- settings-reference:end -->\noutro\n';
    expect(replaceBetweenMarkers(readme, 'new')).toBe('intro\n<!-- settings-reference:start -->\nnew\n<!-- settings-reference:end -->\noutro\n');
  });
});
