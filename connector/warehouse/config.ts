import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { parseJsonFile } from '../core/json-text.js';
import { didYouMean } from '../core/suggest.js';
import { checkSelectText } from './sql-text.js';
import { describeSettingType, type SettingTypeSchema } from '../config/setting-types.js';

/**
 * Settings of tap-warehouse: a `--config` JSON file, overridden by TAP_WAREHOUSE_<SETTING> env vars
 * (the same order as target-siro). Messages name the setting and never echo a value: the connection
 * setting carries a password.
 */

export const ENV_PREFIX = 'TAP_WAREHOUSE_';

export const DIALECTS = ['postgres'] as const;
export type DialectName = (typeof DIALECTS)[number];

const sslObjectSchema = z
  .object({
    rejectUnauthorized: z.boolean().optional(),
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
  })
  .strict();

const sslSchema = z.union([z.boolean(), sslObjectSchema]);

const connectionObjectSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(5432),
    user: z.string().min(1),
    password: z.string().optional(),
    database: z.string().min(1),
    ssl: sslSchema.optional(),
  })
  .strict();

export type ConnectionObject = z.infer<typeof connectionObjectSchema>;

const connectionSchema = z
  .union([
    z.string().regex(/^[a-z][a-z0-9+.-]*:\/\//i, 'a URL like postgres://user:password@host:5432/database'),
    connectionObjectSchema,
  ])
  .meta({
    description: 'A connection URL, or {host, port, user, password, database, ssl}.',
    secret: true,
  });

export type ConnectionSetting = z.infer<typeof connectionSchema>;

const identifier = z.string().min(1);

const streamObjectSchema = z
  .object({
    name: z.string().min(1).optional(),
    table: identifier.optional(),
    sql: z.string().min(1).optional(),
    schema: identifier.optional(),
    key_properties: z.array(z.string().min(1)),
    replication_key: z.string().min(1).optional(),
    replication_method: z.enum(['INCREMENTAL', 'FULL_TABLE']).optional(),
  })
  .strict();

const streamSchema = streamObjectSchema.superRefine((s, ctx) => {
  if ((s.table === undefined) === (s.sql === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'give exactly one of "table" or "sql"' });
  }
  if (s.sql !== undefined && s.name === undefined) {
    ctx.addIssue({ code: 'custom', path: ['name'], message: 'a "sql" stream needs a "name"' });
  }
  if (s.sql !== undefined) {
    const checked = checkSelectText(s.sql);
    if (!checked.ok) ctx.addIssue({ code: 'custom', path: ['sql'], message: `a "sql" stream must be exactly one read-only SELECT (or WITH … SELECT): ${checked.reason}` });
  }
  if (s.sql !== undefined && s.schema !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['schema'], message: '"schema" applies to "table" streams only' });
  }
  const method = s.replication_method ?? (s.replication_key ? 'INCREMENTAL' : 'FULL_TABLE');
  if (method === 'INCREMENTAL' && !s.replication_key) {
    ctx.addIssue({ code: 'custom', path: ['replication_key'], message: 'INCREMENTAL streams need a "replication_key"' });
  }
});

/** libpq's sslmode values, and node-postgres's `no-verify` (TLS without checking the certificate). */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/** A URL's sslmode that the driver would silently take as "SSL on": refused instead. */
function badSslMode(connection: unknown): string | undefined {
  if (typeof connection !== 'string') return undefined;
  let mode: string | null;
  try {
    mode = new URL(connection).searchParams.get('sslmode');
  } catch {
    return undefined;
  }
  if (mode === null || SSL_MODES.includes(mode)) return undefined;
  return `sslmode "${mode.slice(0, 40)}" is not one of ${SSL_MODES.join(', ')}`;
}

export const settingsSchema = z
  .object({
    connection: connectionSchema,
    dialect: z.enum(DIALECTS).default('postgres').meta({ description: 'Database kind (postgres; mysql and sqlite may follow).' }),
    default_schema: identifier.default('public').meta({ description: 'Schema of "table" streams that name none.' }),
    state_every_rows: z.number().int().min(1).default(1000).meta({
      description: 'Emit a STATE message after this many rows of an INCREMENTAL stream.',
    }),
    log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    streams: z.array(streamSchema).min(1, 'list at least one stream'),
  })
  .strict()
  .superRefine((s, ctx) => {
    const bad = badSslMode(s.connection);
    if (bad) ctx.addIssue({ code: 'custom', path: ['connection'], message: bad });
  });

type RawSettings = z.infer<typeof settingsSchema>;
type RawStream = RawSettings['streams'][number];

/** A configured stream, with its defaults resolved. */
export interface StreamConfig {
  /** Stream name and tap_stream_id: `name`, else `<schema>-<table>` (tap-postgres style). */
  name: string;
  source: { kind: 'table'; schema: string; table: string } | { kind: 'sql'; sql: string };
  keyProperties: string[];
  replicationMethod: 'INCREMENTAL' | 'FULL_TABLE';
  /** Set for INCREMENTAL streams only. */
  replicationKey?: string;
}

export interface TapSettings {
  connection: ConnectionSetting;
  dialect: DialectName;
  defaultSchema: string;
  stateEveryRows: number;
  logLevel: RawSettings['log_level'];
  streams: StreamConfig[];
}

const settingKeys = Object.keys(settingsSchema.shape) as (keyof RawSettings)[];
const connectionParts = ['host', 'port', 'user', 'password', 'database', 'ssl'] as const;

/** Env text as the value a setting expects: the text if it fits, else JSON (objects, arrays, numbers, booleans). */
function fromEnv(text: string, accepts?: z.ZodType): unknown {
  if (accepts?.safeParse(text).success) return text;
  const t = text.trim();
  if (/^[[{]/.test(t) || /^-?\d+$/.test(t) || t === 'true' || t === 'false') {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}

export interface LoadOptions {
  configFile?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadSettings(opts: LoadOptions): TapSettings {
  const raw: Record<string, unknown> = {};
  if (opts.configFile) Object.assign(raw, readJsonObject(opts.configFile, 'config file'));
  const env = opts.env ?? process.env;
  // The env var that gave each value, to name it in errors: setting path ("state_every_rows", "connection.port") → variable.
  const fromEnvVars = new Map<string, string>();
  for (const key of settingKeys) {
    const value = env[ENV_PREFIX + key.toUpperCase()];
    if (value !== undefined && value !== '') {
      raw[key] = fromEnv(value, settingsSchema.shape[key]);
      fromEnvVars.set(key, ENV_PREFIX + key.toUpperCase());
    }
  }
  // TAP_WAREHOUSE_CONNECTION_PASSWORD etc. fill in (or override) parts of an object connection, so a
  // secret can live in the environment while the rest stays in the config file.
  for (const part of connectionParts) {
    const value = env[`${ENV_PREFIX}CONNECTION_${part.toUpperCase()}`];
    if (value === undefined || value === '') continue;
    if (typeof raw.connection === 'string') {
      throw new ConfigError(`${ENV_PREFIX}CONNECTION_${part.toUpperCase()} cannot be combined with a connection URL`);
    }
    const conn = (raw.connection && typeof raw.connection === 'object' ? raw.connection : {}) as Record<string, unknown>;
    conn[part] = fromEnv(value, connectionObjectSchema.shape[part]);
    raw.connection = conn;
    fromEnvVars.set(`connection.${part}`, `${ENV_PREFIX}CONNECTION_${part.toUpperCase()}`);
  }

  const result = settingsSchema.safeParse(raw);
  if (!result.success) {
    const where = opts.configFile ? ` (config ${opts.configFile} or ${ENV_PREFIX}* env vars)` : ` (${ENV_PREFIX}* env vars)`;
    throw new ConfigError(`invalid configuration${where}:\n  ${describeIssues(result.error.issues, fromEnvVars, raw).join('\n  ')}`);
  }
  return resolveSettings(result.data);
}

/** The keys an object at this path of the settings takes (for "did you mean"). */
function keysAt(path: readonly PropertyKey[]): string[] {
  const p = path.map(String);
  if (p.length === 0) return settingKeys;
  if (p[0] === 'streams' && p.length === 2) return Object.keys(streamObjectSchema.shape);
  if (p[0] === 'connection' && p.length === 1) return [...connectionParts];
  if (p[0] === 'connection' && p[1] === 'ssl' && p.length === 2) return Object.keys(sslObjectSchema.shape);
  return [];
}

/** `setting "x"`, and the env var its value came from, if one did. */
function settingLabel(path: readonly PropertyKey[], fromEnvVars: ReadonlyMap<string, string>): string {
  const p = path.map(String);
  const envVar = fromEnvVars.get(p.slice(0, 2).join('.')) ?? fromEnvVars.get(p[0] ?? '');
  return `setting "${p.join('.') || '(root)'}"${envVar ? ` (env var ${envVar})` : ''}`;
}

/** Issues better worded by the setting's type (`expected integer ≥ 1`) than by zod (`expected number, received string`). */
function wordedByType(i: z.core.$ZodIssue): boolean {
  if (i.code === 'invalid_type' || i.code === 'invalid_value') return true;
  return (i.code === 'too_big' || i.code === 'too_small') && i.origin === 'number';
}

function describeIssues(issues: z.core.$ZodIssue[], fromEnvVars: ReadonlyMap<string, string>, raw: Record<string, unknown> = {}): string[] {
  return issues.flatMap((i) => {
    if (i.code === 'unrecognized_keys') {
      const where = i.path.length ? ` in "${i.path.join('.')}"` : '';
      const known = keysAt(i.path);
      return i.keys.map((k) => {
        const hint = didYouMean(k, known);
        return `unknown setting "${k}"${where}${hint || (known.length ? `; known: ${known.join(', ')}` : '')}`;
      });
    }
    if (i.code === 'invalid_union' && i.path[0] === 'connection' && i.path.length === 1) {
      // The union's own message ("Invalid input") says nothing; name what a connection looks like.
      const inner = i.errors.flat().filter((e) => e.code !== 'invalid_type');
      const detail = inner.length ? `: ${describeIssues(inner.map((e) => ({ ...e, path: [...i.path, ...e.path] })), fromEnvVars).join('; ')}` : '';
      return [`${settingLabel(i.path, fromEnvVars)} must be a URL string or an object {host, port, user, password, database, ssl}${detail}`];
    }
    const key = String(i.path[0]);
    // A plain top-level setting that was given (not the connection, which holds the password, nor the streams):
    // its type in words, and the value given.
    if (i.path.length === 1 && key !== 'connection' && key !== 'streams' && raw[key] !== undefined && Object.hasOwn(settingsSchema.shape, key) && wordedByType(i)) {
      const type = describeSettingType(z.toJSONSchema(settingsSchema.shape[key as keyof RawSettings], { io: 'input' }) as SettingTypeSchema);
      const given = JSON.stringify(raw[key]);
      return [`${settingLabel(i.path, fromEnvVars)}: expected ${type}${given !== undefined && given.length <= 60 ? `, got ${given}` : ''}`];
    }
    // zod messages name types and rules, never values, so the path is safe to show (no password leaks).
    return [`${settingLabel(i.path, fromEnvVars)}: ${i.message}`];
  });
}

function resolveSettings(s: RawSettings): TapSettings {
  const streams = s.streams.map((st) => resolveStream(st, s.default_schema));
  const seen = new Set<string>();
  for (const st of streams) {
    if (seen.has(st.name)) throw new ConfigError(`setting "streams": two streams are named "${st.name}"; give one a "name"`);
    seen.add(st.name);
  }
  return {
    connection: s.connection,
    dialect: s.dialect,
    defaultSchema: s.default_schema,
    stateEveryRows: s.state_every_rows,
    logLevel: s.log_level,
    streams,
  };
}

function resolveStream(st: RawStream, defaultSchema: string): StreamConfig {
  const replicationMethod = st.replication_method ?? (st.replication_key ? 'INCREMENTAL' : 'FULL_TABLE');
  const common = {
    keyProperties: st.key_properties,
    replicationMethod,
    ...(replicationMethod === 'INCREMENTAL' ? { replicationKey: st.replication_key } : {}),
  };
  if (st.sql !== undefined) {
    // Trailing semicolons and comments would break the SELECT ... FROM (<sql>) the tap wraps around it.
    const checked = checkSelectText(st.sql);
    const sql = checked.ok ? checked.sql : st.sql;
    return { name: st.name!, source: { kind: 'sql', sql }, ...common };
  }
  const schema = st.schema ?? defaultSchema;
  return { name: st.name ?? `${schema}-${st.table!}`, source: { kind: 'table', schema, table: st.table! }, ...common };
}

/** Reads a JSON file that must hold an object (config, state, catalog). */
export function readJsonObject(file: string, what: string, parse: (text: string) => unknown = JSON.parse): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
  if (text.trim() === '') return {};
  const parsed = parseJsonFile(text, what, file, (m) => new ConfigError(m), parse);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`${what} ${file} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** The password in a connection setting (to scrub it from any message), if any. */
export function connectionSecrets(connection: ConnectionSetting): string[] {
  if (typeof connection !== 'string') return connection.password ? [connection.password] : [];
  try {
    const url = new URL(connection);
    if (!url.password) return [];
    const secrets = [url.password];
    try {
      secrets.push(decodeURIComponent(url.password));
    } catch {
      // a malformed escape: the raw form is still scrubbed
    }
    return secrets;
  } catch {
    return [connection];
  }
}

/** Where the tap connects, for logs and errors: never the password. */
export function describeConnection(connection: ConnectionSetting): string {
  if (typeof connection !== 'string') return `${connection.user}@${connection.host}:${connection.port}/${connection.database}`;
  try {
    const url = new URL(connection);
    const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
    return `${user}${url.hostname}${url.port ? ':' + url.port : ''}${url.pathname}`;
  } catch {
    return '(unparseable connection URL)';
  }
}
