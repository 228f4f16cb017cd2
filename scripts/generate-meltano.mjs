#!/usr/bin/env node
// Meltano files, generated from what `target-siro --about --format json` says (settings schema, secrets,
// capabilities), so the plugin definition can never drift from the target:
//
//   meltano/target-siro.yml   a Meltano Hub plugin definition (the Hub's plugin-definition format)
//   meltano/meltano.yml       an example Meltano project with the target as a custom loader
//
//   npm run build && node scripts/generate-meltano.mjs          rewrite both files
//   npm run build && node scripts/generate-meltano.mjs --check  exit 1 when a committed file is out of date
//
// test/operator/meltano.test.ts compares the committed files with what this renders.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import YAML from 'yaml';

export const REGENERATE = 'npm run build && node scripts/generate-meltano.mjs';
export const DEFINITION_FILE = 'meltano/target-siro.yml';
export const PROJECT_FILE = 'meltano/meltano.yml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The Meltano setting kind for a JSON Schema property. Secrets are `string` with `sensitive: true` (`password`
 * is deprecated). Numbers that may have decimals are `decimal` on the Hub; Meltano's project schema (which
 * checks meltano.yml) knows no `decimal` yet, so there they are `string` and written as YAML numbers.
 */
export function meltanoKind(prop, secret, where = 'hub') {
  if (secret) return 'string';
  if (prop.enum) return 'options';
  if (prop.anyOf) return 'string';
  switch (prop.type) {
    case 'boolean':
      return 'boolean';
    case 'integer':
      return 'integer';
    case 'number':
      return where === 'hub' ? 'decimal' : 'string';
    case 'array':
      return 'array';
    case 'object':
      return 'object';
    default:
      return 'string';
  }
}

/** Capabilities Meltano's project schema allows a loader to declare (the Hub also allows `validate-records`). */
export const PROJECT_LOADER_CAPABILITIES = ['about', 'stream-maps', 'activate-version', 'batch', 'soft-delete', 'hard-delete', 'datatype-failsafe', 'schema-flattening'];

/**
 * A default file path relative to where the target runs (`state/rejects.jsonl`): Meltano does not change into
 * the project folder, so the Hub definition anchors it there.
 */
function projectPath(value) {
  return typeof value === 'string' && /^state\//.test(value) ? `$MELTANO_PROJECT_ROOT/${value}` : value;
}

const WORDS = { api: 'API', url: 'URL', id: 'ID', ms: '(ms)' };

/** `max_retry_time_ms` → `Max Retry Time (ms)`. */
export function meltanoLabel(name) {
  return name
    .split('_')
    .map((w) => WORDS[w] ?? w[0].toUpperCase() + w.slice(1))
    .join(' ');
}

/** The settings list, as both the Hub definition and a custom plugin in meltano.yml declare it. */
export function meltanoSettings(about, where = 'hub') {
  const secrets = new Set(about.secret_settings);
  return Object.entries(about.settings.properties).map(([name, prop]) => {
    const secret = secrets.has(name);
    const setting = { name, label: meltanoLabel(name), kind: meltanoKind(prop, secret, where), description: prop.description ?? '' };
    if (prop.enum) setting.options = prop.enum.map((value) => ({ label: value, value }));
    if (prop.default !== undefined) setting.value = projectPath(prop.default);
    if (secret) setting.sensitive = true;
    return setting;
  });
}

function links(packageJson) {
  const repo = typeof packageJson.repository === 'string' ? packageJson.repository : packageJson.repository?.url;
  const npm = `https://www.npmjs.com/package/${packageJson.name}`;
  return { repo: repo ? repo.replace(/^git\+/, '').replace(/\.git$/, '') : npm, docs: packageJson.homepage ?? npm };
}

/** The Meltano Hub plugin definition (plugin-definition syntax: https://docs.meltano.com/reference/plugin-definition-syntax). */
export function meltanoDefinition(about, packageJson) {
  const { repo, docs } = links(packageJson);
  return {
    name: about.name,
    namespace: about.name.replace(/-/g, '_'),
    variant: 'siro',
    label: 'Siro',
    description: 'Sales-conversation platform: sync warehouse calls and appointments into Siro engagements and opportunities',
    docs,
    repo,
    // An npm package, not a pip one: install it with `npm install -g target-siro` (or run it with npx).
    executable: about.name,
    capabilities: [...about.capabilities],
    keywords: ['siro', 'crm', 'sales', 'nodejs'],
    maintenance_status: 'active',
    // New on the Hub: no rating yet (gold, silver and bronze are given by the Hub's connector review).
    quality: 'unknown',
    domain_url: 'https://siro.ai',
    logo_url: '/assets/logos/loaders/siro.png',
    // No pip_url: `meltano install` skips an npm package, so the Hub page says how to install it.
    prereq: 'target-siro is a Node.js program (Node 20 or newer), installed with npm rather than pip: run `npm install -g target-siro` where Meltano runs (it puts `target-siro` on PATH; `meltano install` skips this plugin).',
    settings_group_validation: [['api_token']],
    settings: meltanoSettings(about),
  };
}

const HEADER = (what) =>
  [
    `# ${what}`,
    `# Generated by scripts/generate-meltano.mjs from \`target-siro --about --format json\`: do not edit by hand;`,
    `# run \`${REGENERATE}\`.`,
    '',
  ].join('\n');

export function renderDefinition(about, packageJson) {
  return HEADER('Meltano Hub plugin definition of target-siro (loader).') + YAML.stringify(meltanoDefinition(about, packageJson), { lineWidth: 0 });
}

/** An example meltano.yml: a Postgres tap feeding target-siro, declared as a custom loader with its settings. */
export function renderProject(about, packageJson) {
  const def = meltanoDefinition(about, packageJson);
  const project = {
    default_environment: 'prod',
    environments: [{ name: 'dev', config: { plugins: { loaders: [{ name: 'target-siro', config: { dry_run: true } }] } } }, { name: 'prod' }],
    plugins: {
      extractors: [
        {
          name: 'tap-postgres',
          variant: 'meltanolabs',
          pip_url: 'meltanolabs-tap-postgres',
          config: { sqlalchemy_url: '$WAREHOUSE_URL' },
          select: ['public-calls.*', 'public-appointments.*'],
        },
      ],
      loaders: [
        {
          name: def.name,
          namespace: def.namespace,
          label: def.label,
          executable: def.executable,
          capabilities: def.capabilities.filter((c) => PROJECT_LOADER_CAPABILITIES.includes(c)),
          settings_group_validation: def.settings_group_validation,
          settings: meltanoSettings(about, 'project'),
          config: {
            base_url: 'https://functions.siro.ai/api-externalApi',
            mappings: '$MELTANO_PROJECT_ROOT/mappings',
            rejects_file: '$MELTANO_PROJECT_ROOT/.meltano/target-siro/rejects.jsonl',
            ledger_path: '$MELTANO_PROJECT_ROOT/.meltano/target-siro/ledger.sqlite',
            reports_dir: '$MELTANO_PROJECT_ROOT/.meltano/target-siro/runs',
            max_rejected: '1%',
          },
        },
      ],
    },
    jobs: [{ name: 'warehouse-to-siro', tasks: ['tap-postgres target-siro'] }],
    schedules: [{ name: 'warehouse-to-siro-hourly', interval: '@hourly', job: 'warehouse-to-siro' }],
  };
  const notes = [
    '# Example Meltano project with target-siro as a loader.',
    '#',
    '# target-siro is an npm package, not a pip one, so the loader has no pip_url: install it where Meltano runs',
    '#   npm install -g target-siro        (puts `target-siro` on PATH; `meltano install` skips this plugin)',
    '# or point `executable` at a wrapper script that runs `npx --yes target-siro "$@"`.',
    '#',
    '# The API token is a secret: keep it out of this file. Put it in .env or the environment as',
    '#   TARGET_SIRO_API_TOKEN=...         (Meltano and target-siro both read this name)',
    '# and check the setup with `meltano invoke target-siro check` before the first `meltano run`.',
    '#',
  ].join('\n');
  return `${notes}\n${HEADER('Settings below are generated.')}${YAML.stringify(project, { lineWidth: 0 })}`;
}

async function main() {
  const { aboutInfo } = await import(pathToFileURL(join(root, 'dist', 'connector', 'commands', 'about.js')).href);
  const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const about = aboutInfo();
  const files = [
    [DEFINITION_FILE, renderDefinition(about, packageJson)],
    [PROJECT_FILE, renderProject(about, packageJson)],
  ];
  const check = process.argv.includes('--check');
  for (const [file, text] of files) {
    const path = join(root, file);
    let current;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === text) continue;
    if (check) {
      process.stderr.write(`${file} differs from the settings schema: run \`${REGENERATE}\`\n`);
      process.exitCode = 1;
    } else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      process.stderr.write(`${file} updated\n`);
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
