import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Zod from 'zod';
import { ConfigError } from '../core/errors.js';
import { parseJsonFile } from '../core/json-text.js';
import { setOwn } from '../core/own-keys.js';
import { addSecrets, addUrlCredentials } from '../core/secrets.js';
import { packageJson, packageRoot } from '../core/paths.js';
import { didYouMean } from '../core/suggest.js';
import { DEFAULT_BASE_URL } from '../siro/spec.js';
import { generatedCheckCode, loadGeneratedCheck, type GeneratedCheck } from './settings-check.js';
import { describeSettingType, type SettingTypeSchema } from './setting-types.js';

/**
 * Every setting of the target, in one zod schema: it validates `--config` files and TARGET_SIRO_* env
 * vars, and it is the source of `--about --format json`, the Meltano plugin definition and the README's
 * configuration reference.
 *
 * zod loads only when it is needed: the build turns the schema into a generated check (settings-check.ts),
 * which takes plainly valid settings and --about without it; zod decides everything else and words every
 * error.
 */

export const ENV_PREFIX = 'TARGET_SIRO_';

const require = createRequire(import.meta.url);

function defineSettings(z: typeof Zod) {
  // Orchestrators (Meltano) pass string-kind settings as text, so "10" is a count too.
  const percentOrCount = z.union([
    z.number().int().nonnegative(),
    z.string().regex(/^\d+$/).transform(Number),
    z.string().regex(/^\d+(\.\d+)?%$/, 'a count like 10 or a percentage like "5%"'),
  ]);

  return z
    .object({
      api_token: z.string().min(1).optional().meta({
        description: 'Siro organization API token (Authorization: Bearer). Required unless dry_run is true.',
        secret: true,
      }),
      base_url: z.string().url().default(DEFAULT_BASE_URL).meta({
        description: 'Siro External API base URL. Must be https, except loopback addresses (sandbox, tests).',
      }),
      mappings: z.string().min(1).optional().meta({
        description:
          'A YAML mapping file or a folder of them. Default: ./mappings if it exists, else the mappings shipped with target-siro.',
      }),
      dry_run: z.boolean().default(false).meta({ description: 'Map and validate, but print payloads instead of sending them.' }),
      skip_streams: z.array(z.string().min(1)).default([]).meta({
        description:
          'Streams to skip on purpose: names or globs like "public-audit_*" (as an env var: comma-separated). Their records are read and counted as skipped, never sent. Any other stream that no mapping names stops the run (exit 2).',
      }),
      validate_records: z.boolean().default(true).meta({
        description: "Validate each RECORD against its stream's JSON Schema; failures are rejected.",
      }),
      rejects_file: z.string().min(1).default('state/rejects.jsonl').meta({
        description: 'JSON-lines file that receives every record that could not be delivered, with the reasons.',
      }),
      max_rejected: percentOrCount.optional().meta({
        description: 'Fail the run (exit non-zero) when more records than this are rejected: a count, or a share like "5%".',
      }),
      reports_dir: z.string().min(1).default('state/runs').meta({
        description:
          'Folder that receives one JSON report per run, named by its start time so they list in order (2026-12-02T16-30-05Z-<run_id>.json): counts, rejection reasons, latencies, exit code, last state.',
      }),
      state_file: z.string().min(1).optional().meta({
        description: 'Also write the newest printed state to this file (atomically), for runs outside an orchestrator.',
      }),
      batch_size: z.number().int().min(1).max(1000).default(100).meta({
        description: 'Items per request to the batch endpoints; 1 uses the single-item endpoints.',
      }),
      max_concurrency: z.number().int().min(1).max(64).default(4).meta({ description: 'Requests in flight at once.' }),
      rate_limit_per_minute: z.number().positive().default(1000).meta({
        description: "Client-side request rate limit; Siro's documented limit is 1000 requests per token per minute.",
      }),
      max_retries: z.number().int().min(0).default(8).meta({
        description: 'Retries per request for 429, 5xx, timeouts and connection errors.',
      }),
      max_retry_time_ms: z.number().int().positive().default(300_000).meta({
        description: 'Give up on a request after retrying it for this long in total.',
      }),
      max_line_bytes: z.number().int().min(1024).default(64 * 1024 * 1024).meta({
        description: 'The longest Singer input line accepted, in bytes; a longer line stops the run (exit 3) naming its line number.',
      }),
      request_timeout_ms: z.number().int().positive().default(30_000).meta({ description: 'Timeout of one HTTP request.' }),
      user_agent: z.string().min(1).optional().meta({
        description: `User-Agent header. Default: ${packageJson.name}/${packageJson.version}.`,
      }),
      shutdown_grace_ms: z.number().int().min(0).default(10_000).meta({
        description: 'On SIGTERM/SIGINT, how long requests in flight may take to finish.',
      }),
      log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').meta({
        description: 'Log level of the stderr logs.',
      }),
      ledger: z.boolean().default(true).meta({
        description:
          'Keep a ledger of what Siro acknowledged per externalId (change detection, soft deletes, retries of rejected rows, run history). false runs without one.',
      }),
      ledger_path: z.string().min(1).default('state/ledger.sqlite').meta({
        description: 'SQLite file of the ledger, used unless ledger_url is set.',
      }),
      ledger_url: z.string().min(1).optional().meta({
        description: 'Postgres URL of the ledger (e.g. the warehouse itself) instead of the SQLite file.',
        secret: true,
      }),
      ledger_schema: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a plain SQL identifier').default('target_siro').meta({
        description: 'Postgres schema of the ledger tables (created if missing), with ledger_url.',
      }),
      sync_log_retention_days: z.number().int().min(0).default(90).meta({
        description: "Days the ledger's sync log keeps its rows; older rows are pruned at the end of a run. 0 keeps them forever.",
      }),
      skip_unchanged: z.boolean().default(true).meta({
        description: 'Do not re-send a row whose payload equals the last one Siro acknowledged (needs the ledger). --full-resync turns it off for one run.',
      }),
      delete_mode: z.enum(['none', 'soft']).default('none').meta({
        description:
          'soft: when a FULL_TABLE stream ends (ACTIVATE_VERSION), rows the ledger knows but the table no longer has are sent with deletedAt set. none: never delete.',
      }),
      max_delete_fraction: z.number().min(0).max(1).default(0.2).meta({
        description:
          'Delete guard: when more than this share of a stream\'s rows in the ledger would be soft-deleted at once, nothing is deleted and a warning says why.',
      }),
    })
    .strict();
}

type SettingsSchema = ReturnType<typeof defineSettings>;
export type Settings = Zod.infer<SettingsSchema>;

let zodSchema: SettingsSchema | undefined;

/** The settings' zod schema; zod loads on the first call. */
export function zodSettings(): SettingsSchema {
  zodSchema ??= defineSettings(require('zod') as typeof Zod);
  return zodSchema;
}

/** The schema's settings (`settingsSchema.shape`), for listing them; the rest of the schema is zodSettings(). */
export const settingsSchema: { readonly shape: SettingsSchema['shape'] } = {
  get shape() {
    return zodSettings().shape;
  },
};

/** Settings whose values never appear in output. */
export const SECRET_SETTINGS = ['api_token', 'ledger_url'] as const;

/** The file the build writes the generated check to, next to the built settings.js. */
export const SETTINGS_CHECK_FILE = 'settings-check.generated.cjs';

/** What the generated check is made from: the code of this module and of settings-check.ts, as built. */
function checkKey(): string {
  const hash = createHash('sha256');
  for (const url of [import.meta.url, new URL('./settings-check.js', import.meta.url).href]) {
    const file = fileURLToPath(url);
    hash.update(existsSync(file) ? readFileSync(file) : url);
  }
  return hash.digest('hex');
}

let generated: GeneratedCheck | null | undefined;

/** The check generated at build time from this schema, or null (from the sources, or a stale build). */
export function generatedSettingsCheck(): GeneratedCheck | null {
  if (generated === undefined) generated = loadGeneratedCheck(fileURLToPath(new URL(SETTINGS_CHECK_FILE, import.meta.url)), checkKey);
  return generated;
}

/** The build: the check generated from the schema, as CommonJS source (scripts/post-build.mjs writes it). */
export function settingsCheckCode(): string {
  return generatedCheckCode(require('zod') as typeof Zod, zodSettings(), checkKey());
}

function settingKeys(): (keyof Settings)[] {
  return (generatedSettingsCheck()?.keys ?? Object.keys(zodSettings().shape)) as (keyof Settings)[];
}

/** Whether a value is one the setting takes (as given, before defaults and transforms). */
type Probe = (key: keyof Settings, v: unknown) => boolean;

const zodProbe: Probe = (key, v) => zodSettings().shape[key].safeParse(v).success;

/**
 * Reads text as the type the setting expects: env vars are always text, and orchestrators (older Meltano
 * versions without a decimal kind) pass some numbers and booleans as text in the config file too.
 */
function fromText(key: keyof Settings, text: string, probe: Probe): unknown {
  if (probe(key, text)) return text;
  // Lists (skip_streams) come from env vars as comma-separated text.
  const list = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (probe(key, list)) return list;
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

export interface LoadOptions {
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Command-line overrides (e.g. --dry-run). */
  overrides?: Partial<Settings>;
}

type Given = readonly [key: string, value: unknown, from: 'config' | 'env' | 'override'];

/** The values the options give, in the order they apply: the config file's, then env vars, then overrides. */
function givenSettings(opts: LoadOptions): Given[] {
  const given: Given[] = [];
  if (opts.configFile) {
    let text: string;
    try {
      text = readFileSync(opts.configFile, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config file ${opts.configFile}: ${(e as Error).message}`);
    }
    const parsed = parseJsonFile(text, 'config file', opts.configFile, (m) => new ConfigError(m));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ConfigError(`config file ${opts.configFile} must hold a JSON object`);
    }
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      if (v === null) continue; // null means "not set" (config.sample.json lists optional settings that way)
      given.push([k, v, 'config']);
    }
  }
  const env = opts.env ?? process.env;
  for (const key of settingKeys()) {
    const value = env[ENV_PREFIX + key.toUpperCase()];
    if (value !== undefined && value !== '') given.push([key, value, 'env']);
  }
  for (const [k, v] of Object.entries(opts.overrides ?? {})) if (v !== undefined) given.push([k, v, 'override']);
  return given;
}

/**
 * TARGET_SIRO_* env vars that name no setting (a typo such as TARGET_SIRO_API_TOKNE would otherwise be
 * ignored without a word), each as a line with the setting meant. Names with `__` after the prefix are
 * left alone: Meltano passes a plugin's extras that way.
 */
export function unknownEnvSettings(env: NodeJS.ProcessEnv = process.env): string[] {
  const known = new Set(settingKeys().map((k) => ENV_PREFIX + k.toUpperCase()));
  return Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && !name.startsWith(`${ENV_PREFIX}_`) && !known.has(name))
    .sort()
    .map((name) => `env var ${name} is not a setting of target-siro${didYouMean(name, known)}: ignored`);
}

export function loadSettings(opts: LoadOptions): Settings {
  const given = givenSettings(opts);
  const settings = fromGeneratedCheck(given) ?? fromZod(given, opts.configFile);
  addSecrets(settings.api_token);
  addUrlCredentials(settings.ledger_url, settings.base_url);
  checkBaseUrl(settings.base_url);
  if (!settings.dry_run && !settings.api_token) {
    throw new ConfigError(`setting "api_token" is required unless dry_run is true (or set ${ENV_PREFIX}API_TOKEN)`);
  }
  return settings;
}

/** The settings object the given values make, each text read as its setting's type (`probe`). */
function rawSettings(given: readonly Given[], known: (key: string) => boolean, probe: Probe): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [k, v, from] of given) {
    if (from === 'override') raw[k] = v;
    else if (from === 'env') raw[k] = fromText(k as keyof Settings, v as string, probe);
    else setOwn(raw, k, typeof v === 'string' && known(k) ? fromText(k as keyof Settings, v, probe) : v);
  }
  return raw;
}

/**
 * The settings by the check generated at build time, when it can decide them and they are valid: what zod
 * would output, without loading zod. Undefined otherwise (zod then decides, and words the errors).
 */
function fromGeneratedCheck(given: readonly Given[]): Settings | undefined {
  const check = generatedSettingsCheck();
  if (!check || given.some(([k]) => check.zodOnly.includes(k))) return undefined;
  const raw = rawSettings(given, (k) => Object.hasOwn(check.props, k), (key, v) => check.props[key]!(v));
  if (!check.all(raw)) return undefined;
  const out: Record<string, unknown> = {};
  for (const k of check.keys) {
    if (Object.hasOwn(raw, k)) out[k] = raw[k];
    else if (Object.hasOwn(check.defaults, k)) out[k] = structuredClone(check.defaults[k]);
  }
  return out as Settings;
}

function fromZod(given: readonly Given[], configFile: string | undefined): Settings {
  const schema = zodSettings();
  const raw = rawSettings(given, (k) => Object.hasOwn(schema.shape, k), zodProbe);
  const result = schema.safeParse(raw);
  if (!result.success) {
    const where = configFile ? ` (config ${configFile} or ${ENV_PREFIX}* env vars)` : '';
    const lines = describeIssues(result.error.issues, given);
    throw new ConfigError(`invalid configuration${where}:\n  ${lines.join('\n  ')}`);
  }
  return result.data;
}

/** zod issues whose own words ("expected number, received string") say less than the setting's type does. */
function wordedByType(issue: Zod.core.$ZodIssue): boolean {
  if (issue.code === 'invalid_type' || issue.code === 'invalid_union' || issue.code === 'invalid_value') return true;
  return (issue.code === 'too_big' || issue.code === 'too_small') && (issue.origin === 'number' || issue.origin === 'int');
}

/**
 * One line per problem: unknown settings with the setting meant ("did you mean"), invalid values with the
 * setting's type, the env var when the value came from one, and the value given (never a secret's).
 */
function describeIssues(issues: readonly Zod.core.$ZodIssue[], given: readonly Given[]): string[] {
  const lines: string[] = [];
  const unplaced: string[] = [];
  let props: Record<string, SettingTypeSchema> | undefined;
  for (const i of issues) {
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) {
        const hint = didYouMean(k, settingKeys());
        if (hint) lines.push(`unknown setting "${k}"${hint}`);
        else unplaced.push(k);
      }
      continue;
    }
    const key = String(i.path[0]);
    // The value in force is the last one given: env vars win over the file, flags over both.
    const from = given.findLast(([k]) => k === key);
    const setting = `setting "${i.path.join('.')}"${from?.[2] === 'env' ? ` (env var ${ENV_PREFIX}${key.toUpperCase()})` : ''}`;
    if (i.path.length === 1 && wordedByType(i)) {
      props ??= (settingsJsonSchema().properties ?? {}) as Record<string, SettingTypeSchema>;
      const prop = props[key];
      if (prop) {
        lines.push(`${setting}: expected ${describeSettingType(prop)}${from ? givenValue(key, from) : ''}`);
        continue;
      }
    }
    // Never echo a secret's value (givenValue leaves secrets out; zod messages name types and rules, not values).
    lines.push(`${setting}: ${i.message}${i.path.length === 1 && from ? givenValue(key, from) : ''}`);
  }
  if (unplaced.length > 0) {
    lines.push(`unknown setting${unplaced.length > 1 ? 's' : ''} ${unplaced.map((k) => `"${k}"`).join(', ')}; known settings: ${settingKeys().join(', ')}`);
  }
  return lines;
}

/** ", got <value>" as it was given (env text as is, file values as JSON), shortened; "" for a secret. */
function givenValue(key: string, [, value, from]: Given): string {
  if ((SECRET_SETTINGS as readonly string[]).includes(key)) return '';
  const text = from === 'env' ? JSON.stringify(String(value)) : (JSON.stringify(value) ?? String(value));
  return `, got ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

/**
 * The settings each way (tests compare them): by the generated check (undefined when it leaves them to
 * zod), and by zod; both before the checks loadSettings makes after the schema.
 */
export const settingsBy = {
  generatedCheck: (opts: LoadOptions): Settings | undefined => fromGeneratedCheck(givenSettings(opts)),
  zod: (opts: LoadOptions): Settings => fromZod(givenSettings(opts), opts.configFile),
};

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function checkBaseUrl(baseUrl: string): void {
  const url = new URL(baseUrl);
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return;
  throw new ConfigError(
    `setting "base_url" must use https (plain http is allowed only for loopback addresses such as the sandbox): ${url.protocol}//${url.host}`,
  );
}

/** The mapping file or folder to load: explicit setting, else ./mappings, else the shipped defaults. */
export function resolveMappingsPath(settings: Settings, cwd = process.cwd()): string {
  if (settings.mappings) return isAbsolute(settings.mappings) ? settings.mappings : resolve(cwd, settings.mappings);
  const local = resolve(cwd, 'mappings');
  if (existsSync(local)) return local;
  return join(packageRoot, 'mappings');
}

/** The maximum number of rejected records allowed for `read` records, or Infinity. */
export function rejectLimit(settings: Settings, read: number): number {
  const m = settings.max_rejected;
  if (m === undefined) return Infinity;
  if (typeof m === 'number') return m;
  return (parseFloat(m) / 100) * read;
}

export function userAgent(settings: Settings): string {
  return settings.user_agent ?? `${packageJson.name}/${packageJson.version} (Singer target; node ${process.versions.node})`;
}

/** The settings as JSON Schema, each secret marked, for --about and the Meltano definition. */
export function settingsJsonSchema(): Record<string, unknown> {
  const built = generatedSettingsCheck()?.jsonSchema;
  if (built) return structuredClone(built);
  return (require('zod') as typeof Zod).toJSONSchema(zodSettings(), { io: 'input' }) as Record<string, unknown>;
}
