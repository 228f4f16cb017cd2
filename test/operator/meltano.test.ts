import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
// @ts-expect-error: a plain .mjs script without type declarations
import { DEFINITION_FILE, PROJECT_FILE, REGENERATE, renderDefinition, renderProject } from '../../scripts/generate-meltano.mjs';
import { repoRoot, runTargetCli } from '../support/cli.js';

interface AboutJson {
  name: string;
  capabilities: string[];
  settings: { properties: Record<string, { type?: string; enum?: unknown[]; anyOf?: { type: string }[]; default?: unknown }> };
  secret_settings: string[];
  env_var_prefix: string;
}

interface MeltanoSetting {
  name: string;
  kind: string;
  label: string;
  description: string;
  value?: unknown;
  sensitive?: boolean;
  options?: { label: string; value: string }[];
}

/** Meltano kinds that can carry each JSON Schema type. */
const KINDS_FOR: Record<string, string[]> = {
  string: ['string', 'password', 'options', 'date_iso8601', 'file', 'email'],
  integer: ['integer'],
  number: ['string', 'integer', 'decimal'],
  boolean: ['boolean'],
  array: ['array'],
  object: ['object'],
};

let about: AboutJson;
const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));

beforeAll(async () => {
  const r = await runTargetCli(['--about', '--format', 'json']);
  expect(r.code, r.stderr).toBe(0);
  about = JSON.parse(r.stdout);
});

function committed(file: string): string {
  return readFileSync(join(repoRoot, file), 'utf8');
}

describe('Meltano plugin definition', () => {
  it('is the committed file the generator makes from --about', () => {
    expect(committed(DEFINITION_FILE), `${DEFINITION_FILE} is out of date: run \`${REGENERATE}\``).toBe(renderDefinition(about, packageJson));
    expect(committed(PROJECT_FILE), `${PROJECT_FILE} is out of date: run \`${REGENERATE}\``).toBe(renderProject(about, packageJson));
  });

  it('agrees with --about --format json setting by setting', () => {
    const def = YAML.parse(committed(DEFINITION_FILE));
    expect(def).toMatchObject({ name: 'target-siro', namespace: 'target_siro', executable: 'target-siro' });
    expect(def.capabilities).toEqual(about.capabilities);
    const settings = def.settings as MeltanoSetting[];
    expect(settings.map((s) => s.name)).toEqual(Object.keys(about.settings.properties));
    for (const s of settings) {
      const prop = about.settings.properties[s.name]!;
      const types = prop.anyOf ? prop.anyOf.map((a) => a.type) : [prop.type!];
      // Every JSON type the setting accepts can be written with its kind (a union takes text: "5%" or 10).
      const fits = prop.anyOf ? s.kind === 'string' : types.every((t) => KINDS_FOR[t]!.includes(s.kind));
      expect(fits, `${s.name}: kind ${s.kind} for JSON type ${types.join('|')}`).toBe(true);
      if (prop.enum) expect(s.options!.map((o) => o.value)).toEqual(prop.enum);
      const secret = about.secret_settings.includes(s.name);
      expect(s.sensitive === true, `${s.name}: sensitive`).toBe(secret);
      if (secret) expect(s.kind).toBe('password');
      expect(s.value, `${s.name}: default`).toEqual(prop.default);
      expect(s.description.length, `${s.name}: description`).toBeGreaterThan(10);
    }
    expect(about.secret_settings).toEqual(expect.arrayContaining(['api_token']));
  });

  it('declares the same loader in the example meltano.yml, without any secret value', () => {
    const text = committed(PROJECT_FILE);
    const project = YAML.parse(text);
    const loader = project.plugins.loaders.find((l: { name: string }) => l.name === 'target-siro');
    const def = YAML.parse(committed(DEFINITION_FILE));
    expect(loader).toMatchObject({ namespace: def.namespace, executable: def.executable, capabilities: def.capabilities, settings: def.settings });
    expect(Object.keys(loader.config)).not.toContain('api_token');
    for (const key of Object.keys(loader.config)) expect(Object.keys(about.settings.properties)).toContain(key);
    expect(text).toContain('npm install -g target-siro');
    expect(text).toContain(`${about.env_var_prefix}API_TOKEN`);
  });
});
