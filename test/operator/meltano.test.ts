import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
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
  number: ['string', 'decimal'],
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
      // `kind: password` is deprecated: a secret is a sensitive string.
      if (secret) expect(s.kind).toBe('string');
      // Relative file defaults are anchored in the project (Meltano does not change into it).
      const anchored = typeof prop.default === 'string' && prop.default.startsWith('state/') ? `$MELTANO_PROJECT_ROOT/${prop.default}` : prop.default;
      expect(s.value, `${s.name}: default`).toEqual(anchored);
      expect(s.description.length, `${s.name}: description`).toBeGreaterThan(10);
    }
    expect(about.secret_settings).toEqual(expect.arrayContaining(['api_token']));
  });

  it('declares the same loader in the example meltano.yml, without any secret value', () => {
    const text = committed(PROJECT_FILE);
    const project = YAML.parse(text);
    const loader = project.plugins.loaders.find((l: { name: string }) => l.name === 'target-siro');
    const def = YAML.parse(committed(DEFINITION_FILE));
    expect(loader).toMatchObject({ namespace: def.namespace, executable: def.executable });
    // The project schema allows a loader fewer capabilities than the Hub (no validate-records), and no `decimal` kind.
    expect(loader.capabilities).toEqual(def.capabilities.filter((c: string) => c !== 'validate-records'));
    expect(loader.settings.map((x: MeltanoSetting) => x.name)).toEqual(def.settings.map((x: MeltanoSetting) => x.name));
    expect(Object.keys(loader.config)).not.toContain('api_token');
    for (const key of Object.keys(loader.config)) expect(Object.keys(about.settings.properties)).toContain(key);
    expect(text).toContain('npm install -g target-siro');
    expect(text).toContain(`${about.env_var_prefix}API_TOKEN`);
  });
});

describe("the Meltano files against Meltano's own schemas (test/fixtures/meltano)", () => {
  const fixture = (...path: string[]) => JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'meltano', ...path), 'utf8'));

  it('meltano/target-siro.yml passes the Hub plugin-definition schema for loaders, as the Hub CI checks it', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    // The Hub's CI resolves references by file path from plugin_definitions/ (`../common/…`); the files' own
    // $ids do not all say that path, so each is registered under the path it is referred to by.
    const byPath = (id: string, ...file: string[]) => ajv.addSchema({ ...fixture('hub', ...file), $id: id });
    byPath('../common/common.schema.json', 'common', 'common.schema.json');
    byPath('../common/loaders_specific.schema.json', 'common', 'loaders_specific.schema.json');
    byPath('../common/base_setting.schema.json', 'common', 'base_setting.schema.json');
    byPath('hub_metadata.schema.json', 'plugin_definitions', 'hub_metadata.schema.json');
    const validate = ajv.compile(fixture('hub', 'plugin_definitions', 'loaders.schema.json'));
    const def = YAML.parse(committed(DEFINITION_FILE));
    expect(validate(def), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(def.quality).toBe('unknown');
    expect(def.capabilities).toEqual(expect.arrayContaining(['batch', 'validate-records']));
    expect(def.settings.every((x: MeltanoSetting) => x.kind !== 'password')).toBe(true);
    expect(def.prereq).toContain('npm install -g target-siro');
    // The same schema refuses a definition without quality.
    expect(validate({ ...def, quality: undefined })).toBe(false);
  });

  it("each loader of meltano/meltano.yml passes Meltano's project schema", () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile(fixture('meltano', 'loaders.excerpt.schema.json'));
    const project = YAML.parse(committed(PROJECT_FILE));
    for (const loader of project.plugins.loaders) expect(validate(loader), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // What it refuses: a loader declaring validate-records, and the `decimal` kind it does not know yet.
    const loader = project.plugins.loaders[0];
    expect(validate({ ...loader, capabilities: [...loader.capabilities, 'validate-records'] })).toBe(false);
    expect(validate({ ...loader, settings: [{ name: 'x', kind: 'decimal' }] })).toBe(false);
  });
});

