import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeTransportFailure } from '../../connector/commands/check.js';
import { startSandbox, type Sandbox } from '../../connector/sandbox/index.js';
import { runTargetCli, writeJson } from '../support/cli.js';
import { closedPort, operatorConfig } from './helpers.js';

const TOKEN = 'op-check-token-7f3a91';
const FORBIDDEN_TOKEN = 'op-check-forbidden-55e2';

let sandbox: Sandbox;
let tls: Server;
let tlsUrl: string;

beforeAll(async () => {
  sandbox = await startSandbox({
    tokens: [
      { token: TOKEN, tokenName: 'nightly-sync', organizationId: 'org-acme-solar' },
      { token: FORBIDDEN_TOKEN, tokenName: 'read-only', organizationId: 'org-acme-solar', forbidden: true },
    ],
  });
  // An https server whose certificate nobody trusts: what a TLS-inspecting proxy looks like to Node.
  const fixtures = join(import.meta.dirname, 'fixtures');
  tls = createServer({ key: readFileSync(join(fixtures, 'self-signed.key')), cert: readFileSync(join(fixtures, 'self-signed.crt')) }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
  tlsUrl = `https://127.0.0.1:${(tls.address() as { port: number }).port}`;
});

afterAll(async () => {
  await sandbox?.close();
  await new Promise((resolve) => tls?.close(resolve));
});

async function check(settings: Record<string, unknown>, format: 'text' | 'json' = 'text', env: Record<string, string> = {}) {
  const { path } = operatorConfig(settings);
  const result = await runTargetCli(['check', '--config', path, '--format', format], { env });
  const all = result.stdout + result.stderr;
  // Whatever happens, the token is never printed.
  for (const token of [TOKEN, FORBIDDEN_TOKEN, 'wrong-token-0042']) expect(all).not.toContain(token);
  return { ...result, json: format === 'json' ? JSON.parse(result.stdout) : undefined };
}

describe('target-siro check', () => {
  it('reports the organisation and the token name when everything works (exit 0)', async () => {
    const r = await check({ api_token: TOKEN, base_url: sandbox.url });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ok\s+config\s+settings are valid/);
    expect(r.stdout).toMatch(/ok\s+mappings\s+mappings load .*postgres-calls\.yml/);
    expect(r.stdout).toMatch(/ok\s+ledger\s+SQLite .* does not exist yet/);
    expect(r.stdout).toMatch(new RegExp(`ok\\s+siro\\s+${sandbox.url} answered GET /v1/core/auth/caller-identity in \\d+ ms`));
    expect(r.stdout).toMatch(/ok\s+token\s+token "nightly-sync" of organization org-acme-solar/);
    expect(r.stdout).toMatch(/^ready: .*\(exit 0\)$/m);
  });

  it('answers in JSON for scripts', async () => {
    const r = await check({ api_token: TOKEN, base_url: sandbox.url }, 'json');
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({
      ok: true,
      exit_code: 0,
      siro: { base_url: sandbox.url, answered: true, status: 200 },
      identity: { organization_id: 'org-acme-solar', token_name: 'nightly-sync' },
    });
    expect(r.json.identity.token_id).toEqual(expect.any(String));
    expect(r.json.steps.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual([
      'config:ok',
      'mappings:ok',
      'ledger:ok',
      'siro:ok',
      'token:ok',
    ]);
  });

  it('says the token was refused on 401 (exit 4)', async () => {
    const r = await check({ api_token: 'wrong-token-0042', base_url: sandbox.url });
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/ok\s+siro\s+/);
    expect(r.stdout).toMatch(/FAIL\s+token\s+Siro refused the API token \(401 Unauthorized/);
    expect(r.stdout).toContain('TARGET_SIRO_API_TOKEN');
    expect(r.stdout).toMatch(/not ready: Siro refused the token \(exit 4\)/);
  });

  it('says the token lacks rights on 403 (exit 4)', async () => {
    const r = await check({ api_token: FORBIDDEN_TOKEN, base_url: sandbox.url }, 'json');
    expect(r.code).toBe(4);
    const token = r.json.steps.find((s: { name: string }) => s.name === 'token');
    expect(token).toMatchObject({ status: 'fail', exit_code: 4 });
    expect(token.message).toContain('403 Forbidden');
  });

  it('says nothing listens when the port is closed (exit 6), and names HTTPS_PROXY when it is set', async () => {
    const port = await closedPort();
    const r = await check({ api_token: TOKEN, base_url: `http://127.0.0.1:${port}` }, 'text', { HTTPS_PROXY: 'http://user:secret-pw@proxy.corp.example:3128' });
    expect(r.code).toBe(6);
    expect(r.stdout).toContain(`FAIL  siro      connection refused by 127.0.0.1:${port} (ECONNREFUSED): nothing listens there`);
    expect(r.stdout).toContain('HTTPS_PROXY is set (http://proxy.corp.example:3128), but target-siro does not go through proxies');
    expect(r.stdout).not.toContain('secret-pw');
    expect(r.stdout).toMatch(/skip\s+token\s+not checked: Siro did not answer/);
    expect(r.stdout).toMatch(/not ready: Siro cannot be reached at base_url \(exit 6\)/);
  });

  it('says there is no Siro API at a base_url that answers 404 (exit 6)', async () => {
    const r = await check({ api_token: TOKEN, base_url: `${sandbox.url}/not-the-api` });
    expect(r.code).toBe(6);
    expect(r.stdout).toContain(`${sandbox.url}/not-the-api/v1/core/auth/caller-identity answered 404 Not Found`);
    expect(r.stdout).toContain('https://functions.siro.ai/api-externalApi');
  });

  it('explains an untrusted TLS certificate (exit 6)', async () => {
    const r = await check({ api_token: TOKEN, base_url: tlsUrl }, 'json');
    expect(r.code).toBe(6);
    const siro = r.json.steps.find((s: { name: string }) => s.name === 'siro');
    expect(siro.status).toBe('fail');
    expect(siro.message).toContain('the TLS certificate presented for 127.0.0.1 is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)');
    expect(siro.hint).toContain('NODE_EXTRA_CA_CERTS');
  });

  it('stops at configuration and mapping problems (exit 2) and checks what it still can', async () => {
    const noToken = await check({ base_url: sandbox.url });
    expect(noToken.code).toBe(2);
    expect(noToken.stdout).toMatch(/FAIL\s+config\s+settings are valid .*but api_token is not set/);
    expect(noToken.stdout).toMatch(/ok\s+mappings/);
    expect(noToken.stdout).toMatch(/skip\s+siro/);

    const { dir } = operatorConfig({});
    const badMapping = writeJson(join(dir, 'bad.yml'), { version: 1, streams: { s: { object: 'engagment', fields: { externalId: 'id' } } } });
    const r = await check({ api_token: TOKEN, base_url: sandbox.url, mappings: badMapping });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/FAIL\s+mappings\s+.*bad\.yml:\d+:\d+: .*engagment/);
    // Siro was still asked: a person fixing the mapping learns the token works too.
    expect(r.stdout).toMatch(/ok\s+token\s+token "nightly-sync"/);

    const unknown = await check({ api_token: TOKEN, batchsize: 3 });
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toContain('unknown setting "batchsize"');
  });

  it('takes the config given before the command too (as `meltano invoke target-siro check` passes it)', async () => {
    const { path } = operatorConfig({ api_token: TOKEN, base_url: sandbox.url });
    const r = await runTargetCli(['--config', path, 'check']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('token "nightly-sync"');
  });
});

describe('describeTransportFailure', () => {
  const url = new URL('https://functions.siro.ai/api-externalApi');
  const fail = (code: string, kind: 'network' | 'timeout' = 'network') => describeTransportFailure({ kind, code, message: `connection failed: ${code}: boom` }, url);

  it('turns DNS, connection and TLS codes into what to do', () => {
    expect(fail('ENOTFOUND').message).toBe('host functions.siro.ai not found (DNS lookup failed, ENOTFOUND)');
    expect(fail('EAI_AGAIN').message).toContain('DNS lookup of functions.siro.ai failed for now');
    expect(fail('ECONNREFUSED').message).toBe('connection refused by functions.siro.ai:443 (ECONNREFUSED): nothing listens there');
    expect(fail('ECONNRESET').hint).toContain('proxy or firewall');
    expect(fail('CERT_HAS_EXPIRED').message).toContain('has expired (CERT_HAS_EXPIRED)');
    expect(fail('CERT_HAS_EXPIRED').hint).toContain("check this machine's clock");
    expect(fail('ERR_TLS_CERT_ALTNAME_INVALID').message).toContain('is for another host name');
    for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']) {
      const d = fail(code);
      expect(d.message).toBe(`the TLS certificate presented for functions.siro.ai is not trusted (${code})`);
      expect(d.hint).toContain('NODE_EXTRA_CA_CERTS=/path/to/ca.pem');
    }
    expect(fail('ERR_SSL_WRONG_VERSION_NUMBER').hint).toContain('plain http');
    expect(fail('TIMEOUT', 'timeout').message).toContain('no answer from functions.siro.ai:443 in time');
  });

  it('mentions a proxy variable without its credentials', () => {
    const d = describeTransportFailure({ kind: 'network', code: 'ECONNRESET', message: 'x' }, url, { https_proxy: 'http://me:pw@10.0.0.1:8080' });
    expect(d.hint).toContain('https_proxy is set (http://10.0.0.1:8080)');
    expect(d.hint).not.toContain('pw');
  });
});
