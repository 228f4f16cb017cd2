import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ENV_PREFIX, loadSettings, resolveMappingsPath, unknownEnvSettings, userAgent, type Settings } from '../config/settings.js';
import { EXIT_CODES, TargetError } from '../core/errors.js';
import { redact } from '../core/secrets.js';
import { CONFIG_FLAGS, commandAction, configFileOf } from './command-support.js';
import { LedgerStore, ledgerOpenOptions } from '../ledger/index.js';
import { loadMappings } from '../mapping/index.js';
import { statusMeaning } from '../siro/answers.js';
import { callerIdentityOf, type CallerIdentity } from '../siro/answer-bodies.js';
import { SiroClient, SiroTransportError, type SiroResponse } from '../siro/client.js';
import { SIRO_PATHS } from '../siro/spec.js';

/**
 * `target-siro check`: can this configuration deliver to Siro? It checks the settings, the mappings and the
 * ledger, then asks Siro who the token belongs to (GET /v1/core/auth/caller-identity) and says, in words a
 * person can act on, what is wrong when something is: a refused token, a wrong URL, DNS, a closed port, a
 * TLS-inspecting proxy. It sends no data, and the token never appears in its output.
 *
 * Exit codes: 0 ready; 2 configuration, mapping or ledger problem; 4 Siro refused the token (401/403);
 * 6 Siro could not be reached or did not answer as Siro (DNS, connection, TLS, proxy, timeout, 404, 5xx).
 * They are the run's codes for the same problems (core/errors.ts), so a script can act on either alike.
 */

export const CHECK_EXIT = {
  ok: EXIT_CODES.ok,
  config: EXIT_CODES.config,
  token: EXIT_CODES.siroRefused,
  unreachable: EXIT_CODES.siroUnreachable,
} as const;

export type CheckStatus = 'ok' | 'fail' | 'skip';
export type CheckName = 'config' | 'mappings' | 'ledger' | 'siro' | 'token';

export interface CheckStep {
  name: CheckName;
  status: CheckStatus;
  message: string;
  /** What to do about a failure. */
  hint?: string;
  /** Exit code this step's failure stands for. */
  exit_code?: number;
}

export interface CheckReport {
  ok: boolean;
  exit_code: number;
  steps: CheckStep[];
  siro: { base_url: string | null; answered: boolean; status: number | null; latency_ms: number | null };
  identity: CallerIdentity | null;
}

export interface CheckOptions {
  configFile?: string;
  env?: NodeJS.ProcessEnv;
}

export async function runCheck(opts: CheckOptions): Promise<CheckReport> {
  const env = opts.env ?? process.env;
  const steps: CheckStep[] = [];
  const report: CheckReport = { ok: false, exit_code: 0, steps, siro: { base_url: null, answered: false, status: null, latency_ms: null }, identity: null };

  // Settings: a dry run needs no token, so load as one and ask for the token ourselves (a clearer message).
  let settings: Settings | undefined;
  try {
    settings = loadSettings({ configFile: opts.configFile, env, overrides: { dry_run: true } });
    const fromEnv = Object.keys(env).filter((k) => k.startsWith(ENV_PREFIX) && env[k] !== undefined && env[k] !== '' && !unknownEnvSettings({ [k]: '' }).length).sort();
    const sources = [opts.configFile, fromEnv.length > 0 ? `env ${fromEnv.join(', ')}` : undefined].filter(Boolean).join(' + ') || 'defaults only';
    if (!settings.api_token) {
      steps.push({
        name: 'config',
        status: 'fail',
        message: `settings are valid (${sources}), but api_token is not set`,
        hint: [`set api_token in the config file or ${ENV_PREFIX}API_TOKEN in the environment: check asks Siro who the token belongs to`, ...unknownEnvSettings(env)].join('; '),
        exit_code: CHECK_EXIT.config,
      });
    } else {
      const ignored = unknownEnvSettings(env);
      steps.push({
        name: 'config',
        status: 'ok',
        message: `settings are valid (${sources}); base_url ${settings.base_url}`,
        ...(ignored.length > 0 ? { hint: ignored.join('; ') } : {}),
      });
    }
  } catch (e) {
    steps.push({ name: 'config', status: 'fail', message: errorText(e), exit_code: CHECK_EXIT.config });
  }

  if (settings) {
    steps.push(checkMappings(settings));
    steps.push(await checkLedger(settings));
  } else {
    steps.push({ name: 'mappings', status: 'skip', message: 'not checked: the settings are invalid' });
    steps.push({ name: 'ledger', status: 'skip', message: 'not checked: the settings are invalid' });
  }

  if (settings?.api_token) {
    report.siro.base_url = settings.base_url;
    const [siro, token] = await checkSiro(settings, settings.api_token, env, report);
    steps.push(siro, token);
  } else {
    steps.push({ name: 'siro', status: 'skip', message: 'not checked: no valid base_url and api_token' });
    steps.push({ name: 'token', status: 'skip', message: 'not checked: no valid base_url and api_token' });
  }

  const failed = steps.find((s) => s.status === 'fail');
  report.ok = failed === undefined;
  report.exit_code = failed?.exit_code ?? CHECK_EXIT.ok;
  return report;
}

function checkMappings(settings: Settings): CheckStep {
  try {
    const mappings = loadMappings(resolveMappingsPath(settings));
    return { name: 'mappings', status: 'ok', message: `mappings load and match Siro's schema: ${mappings.files.join(', ')}` };
  } catch (e) {
    return { name: 'mappings', status: 'fail', message: errorText(e), hint: 'see docs/mapping-language.md', exit_code: CHECK_EXIT.config };
  }
}

async function checkLedger(settings: Settings): Promise<CheckStep> {
  if (!settings.ledger) return { name: 'ledger', status: 'ok', message: 'turned off (ledger: false): every run sends every record' };
  if (!settings.ledger_url) {
    const file = resolve(settings.ledger_path);
    if (!existsSync(file)) {
      // Creating it is the first run's job; here it is enough that it can be created.
      const folder = nearestExisting(dirname(file));
      try {
        accessSync(folder, constants.W_OK);
        return { name: 'ledger', status: 'ok', message: `SQLite ${settings.ledger_path} does not exist yet; the first run creates it` };
      } catch {
        return {
          name: 'ledger',
          status: 'fail',
          message: `SQLite ${settings.ledger_path} cannot be created: ${folder} is not writable`,
          hint: 'set ledger_path to a writable place, or ledger_url to a Postgres database',
          exit_code: CHECK_EXIT.config,
        };
      }
    }
  }
  // An existing SQLite file, or Postgres: opened as a run opens it (a missing Postgres schema is created, as the
  // first run would), which proves the connection, the rights and the migrations.
  try {
    const store = await LedgerStore.open(ledgerOpenOptions(settings));
    const where = store.location;
    await store.close();
    return { name: 'ledger', status: 'ok', message: `${store.kind === 'postgres' ? 'Postgres' : 'SQLite'} ledger opens: ${where}` };
  } catch (e) {
    return { name: 'ledger', status: 'fail', message: errorText(e), exit_code: CHECK_EXIT.config };
  }
}

function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

async function checkSiro(settings: Settings, apiToken: string, env: NodeJS.ProcessEnv, report: CheckReport): Promise<[CheckStep, CheckStep]> {
  const client = new SiroClient({
    baseUrl: settings.base_url,
    apiToken,
    userAgent: userAgent(settings),
    requestTimeoutMs: Math.min(settings.request_timeout_ms, 15_000),
    connections: 1,
  });
  const url = client.urlOf(SIRO_PATHS.callerIdentity);
  const notChecked = (why: string): CheckStep => ({ name: 'token', status: 'skip', message: `not checked: ${why}` });
  let res: SiroResponse;
  try {
    res = await client.request({ method: 'GET', path: SIRO_PATHS.callerIdentity });
  } catch (e) {
    const failure = e instanceof SiroTransportError ? describeTransportFailure(e, new URL(settings.base_url), env) : { message: errorText(e) };
    return [
      { name: 'siro', status: 'fail', message: client.redact(failure.message), hint: failure.hint && client.redact(failure.hint), exit_code: CHECK_EXIT.unreachable },
      notChecked('Siro did not answer'),
    ];
  } finally {
    await client.destroy().catch(() => undefined);
  }

  report.siro.answered = true;
  report.siro.status = res.status;
  report.siro.latency_ms = Math.round(res.durationMs);
  const said = client.redact(describeBody(res.body));
  const answered = `${settings.base_url} answered GET ${SIRO_PATHS.callerIdentity} in ${Math.round(res.durationMs)} ms`;
  const proxyNote = proxyInUse(env) ? ` (${proxyInUse(env)} is set, but target-siro connects directly and did not use it)` : '';

  // Siro's answer table (siro/answers.ts) says what the status means; check words it for someone setting up.
  const meaning = statusMeaning(res.status);
  if (meaning === 'token-refused') {
    return [
      { name: 'siro', status: 'ok', message: answered + proxyNote },
      {
        name: 'token',
        status: 'fail',
        message: `Siro refused the API token (401 Unauthorized; Siro said: ${said})`,
        hint: `the token is wrong, revoked or expired: create one in Siro (admin → API tokens) and set api_token or ${ENV_PREFIX}API_TOKEN`,
        exit_code: CHECK_EXIT.token,
      },
    ];
  }
  if (meaning === 'access-refused') {
    return [
      { name: 'siro', status: 'ok', message: answered + proxyNote },
      {
        name: 'token',
        status: 'fail',
        message: `Siro accepted the token but refused access (403 Forbidden; Siro said: ${said})`,
        hint: `the token lacks rights for this API, or Siro's edge refused the User-Agent "${userAgent(settings)}": check the token's organization and scope, or set user_agent`,
        exit_code: CHECK_EXIT.token,
      },
    ];
  }
  if (meaning === 'no-endpoint') {
    return [
      {
        name: 'siro',
        status: 'fail',
        message: `${url} answered 404 Not Found: there is no Siro API at this base_url`,
        hint: 'base_url should be https://functions.siro.ai/api-externalApi (the path prefix matters)',
        exit_code: CHECK_EXIT.unreachable,
      },
      notChecked('no Siro API at base_url'),
    ];
  }
  if (meaning === 'rate-limited') {
    const retryAfter = res.headers['retry-after'];
    return [
      {
        name: 'siro',
        status: 'fail',
        message: `Siro answered 429 Too Many Requests${retryAfter ? ` (retry after ${String(retryAfter)} s)` : ''}: this token is at its rate limit`,
        hint: 'another job is using the same token heavily; try again in a minute, or lower rate_limit_per_minute for the runs sharing it',
        exit_code: CHECK_EXIT.unreachable,
      },
      notChecked('Siro rate-limited the check'),
    ];
  }
  if (meaning !== 'acknowledged') {
    return [
      {
        name: 'siro',
        status: 'fail',
        message: `${url} answered ${res.status} (${said})`,
        hint: res.status >= 500 ? 'Siro (or a proxy in front of it) is failing; try again later' : 'check base_url',
        exit_code: CHECK_EXIT.unreachable,
      },
      notChecked(`Siro answered ${res.status}`),
    ];
  }
  const identity = callerIdentityOf(res.body);
  if (!identity) {
    return [
      {
        name: 'siro',
        status: 'fail',
        message: `${url} answered ${res.status}, but not with Siro's caller identity (${said})`,
        hint: 'base_url points at something that is not Siro (a login page, a proxy, another service)',
        exit_code: CHECK_EXIT.unreachable,
      },
      notChecked('the answer was not from Siro'),
    ];
  }
  report.identity = identity;
  const group = identity.authorized_org_group_id ? `, acting for org group ${identity.authorized_org_group_id}` : '';
  return [
    { name: 'siro', status: 'ok', message: answered + proxyNote },
    { name: 'token', status: 'ok', message: `token "${identity.token_name}" of organization ${identity.organization_id}${group}` },
  ];
}


function describeBody(body: unknown): string {
  if (body === undefined) return 'empty answer';
  if (typeof body === 'string') return body.length > 200 ? `${body.slice(0, 200)}…` : body;
  if (body && typeof body === 'object' && 'error' in body && typeof body.error === 'string') return body.error;
  const text = JSON.stringify(body);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** The proxy variable set in the environment, if any (its name only). */
export function proxyInUse(env: NodeJS.ProcessEnv): string | undefined {
  return ['HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'HTTP_PROXY', 'http_proxy'].find((k) => env[k]);
}

/** A proxy URL without its credentials. */
function proxyShown(value: string): string {
  try {
    const u = new URL(value);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(unparsable URL)';
  }
}

const TLS_UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * What a connection failure means for someone setting the target up, and what to do. Codes are Node's and
 * undici's (err.code), e.g. ENOTFOUND, ECONNREFUSED, CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID.
 */
export function describeTransportFailure(
  e: Pick<SiroTransportError, 'kind' | 'code' | 'message'>,
  baseUrl: URL,
  env: NodeJS.ProcessEnv = {},
): { message: string; hint?: string } {
  const host = baseUrl.hostname;
  const port = baseUrl.port || (baseUrl.protocol === 'https:' ? '443' : '80');
  const code = e.code ?? '';
  const proxyVar = proxyInUse(env);
  const proxy = proxyVar
    ? ` ${proxyVar} is set (${proxyShown(env[proxyVar]!)}), but target-siro does not go through proxies: it connects to ${host}:${port} directly, so that connection must be allowed.`
    : '';
  const tlsProxy = proxyVar ? ' A proxy that inspects TLS' : ' A proxy or firewall that inspects TLS';
  const caHint = `${tlsProxy} presents its own certificate: give Node its CA with NODE_EXTRA_CA_CERTS=/path/to/ca.pem.`;

  if (e.kind === 'timeout' || code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return {
      message: `no answer from ${host}:${port} in time (${code || 'timeout'}): ${e.message}`,
      hint: `a firewall may be dropping the connection, or the network needs a proxy.${proxy}`.trim(),
    };
  }
  switch (code) {
    case 'ENOTFOUND':
      return {
        message: `host ${host} not found (DNS lookup failed, ENOTFOUND)`,
        hint: `check the host name in base_url (Siro's is functions.siro.ai) and this machine's DNS.${proxy}`.trim(),
      };
    case 'EAI_AGAIN':
      return {
        message: `DNS lookup of ${host} failed for now (EAI_AGAIN)`,
        hint: `the DNS server did not answer: check the network and DNS settings, then try again.${proxy}`.trim(),
      };
    case 'ECONNREFUSED':
      return {
        message: `connection refused by ${host}:${port} (ECONNREFUSED): nothing listens there`,
        hint: `check the host and port in base_url.${proxy}`.trim(),
      };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { message: `${host}:${port} is unreachable from this machine (${code})`, hint: `check the network route or firewall.${proxy}`.trim() };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return {
        message: `the connection to ${host}:${port} was closed before Siro answered (${code})`,
        hint: `a proxy or firewall may be cutting connections to ${host}.${proxy}`.trim(),
      };
    case 'CERT_HAS_EXPIRED':
      return {
        message: `the TLS certificate presented for ${host} has expired (CERT_HAS_EXPIRED)`,
        hint: `check this machine's clock; otherwise the certificate is not Siro's.${caHint}`,
      };
    case 'CERT_NOT_YET_VALID':
      return { message: `the TLS certificate presented for ${host} is not valid yet (CERT_NOT_YET_VALID)`, hint: "check this machine's clock" };
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return {
        message: `the TLS certificate presented for ${host} is for another host name (ERR_TLS_CERT_ALTNAME_INVALID)`,
        hint: `check the host in base_url.${caHint}`,
      };
    case 'EPROTO':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return {
        message: `TLS handshake with ${host}:${port} failed (${code}): ${e.message}`,
        hint: 'the port may speak plain http, not https (check base_url), or a proxy interferes',
      };
  }
  if (TLS_UNTRUSTED.has(code)) {
    return {
      message: `the TLS certificate presented for ${host} is not trusted (${code})`,
      hint: `Siro's certificate is publicly trusted, so something between here and Siro replaced it.${caHint}`,
    };
  }
  return { message: e.message, hint: proxy.trim() || undefined };
}

function errorText(e: unknown): string {
  if (e instanceof TargetError) return e.message;
  return (e as Error).message ?? String(e);
}

export function formatCheckText(report: CheckReport): string {
  const width = Math.max(...report.steps.map((s) => s.name.length));
  const lines = ['target-siro check'];
  for (const s of report.steps) {
    const mark = s.status === 'fail' ? 'FAIL' : s.status;
    const head = `  ${mark.padEnd(4)}  ${s.name.padEnd(width)}  `;
    const [first, ...rest] = s.message.split('\n');
    lines.push(head + first);
    for (const more of rest) lines.push(' '.repeat(head.length) + more);
    if (s.hint) lines.push(`${' '.repeat(head.length)}→ ${s.hint}`);
  }
  const verdict = report.ok
    ? 'ready: the configuration loads and Siro accepts the token'
    : report.exit_code === CHECK_EXIT.token
      ? 'not ready: Siro refused the token'
      : report.exit_code === CHECK_EXIT.unreachable
        ? 'not ready: Siro cannot be reached at base_url'
        : 'not ready: fix the configuration';
  lines.push(`${verdict} (exit ${report.exit_code})`);
  return lines.join('\n') + '\n';
}

export function addCheckCommand(program: Command): void {
  program
    .command('check')
    .description('check the config, mappings and ledger, and ask Siro who the API token belongs to (sends no data)')
    .option(CONFIG_FLAGS, 'JSON config file')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(
      commandAction(async (flags: { format: 'text' | 'json' }, command: Command) => {
        const report = await runCheck({ configFile: configFileOf(command) });
        process.stdout.write(redact(flags.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : formatCheckText(report)));
        return report.exit_code;
      }),
    );
}
