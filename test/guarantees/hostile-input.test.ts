import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../connector/sandbox/server.js';
import { runTargetCli, tempDir, type CliResult } from '../support/cli.js';
import { targetConfig } from '../support/target-config.js';

/**
 * The hostile-input catalogue: mappings, schemas, lines and settings that try to break out, hang, crash or
 * leak. Every case runs the built CLI and checks its exit code, that stdout holds state lines only, that no
 * stack trace is printed, that it ends in bounded time, and that no secret (the API token, a password in a
 * URL) is in stdout, stderr, the rejects file, the ledger or the run report.
 */

const TOKEN = 'siro-hostile-token-8f2d41c9e7';
const PASSWORD = 'pw-Hostile-93ab';
let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ tokens: [{ token: TOKEN, tokenName: 'hostile', organizationId: 'org-hostile' }] });
});
afterAll(() => sandbox.close());

interface Case {
  mapping?: string;
  input?: string;
  settings?: Record<string, unknown>;
  args?: string[];
}

const SCHEMA = (schema: Record<string, unknown>, stream = 'public-meetings') => JSON.stringify({ type: 'SCHEMA', stream, key_properties: ['id'], schema });
const MEETINGS = { type: 'object', properties: { id: {}, notes: { type: ['string', 'null'] }, meta: {} } };
const RECORD = (record: Record<string, unknown>, stream = 'public-meetings') => JSON.stringify({ type: 'RECORD', stream, record });
const STATE = (value: unknown) => JSON.stringify({ type: 'STATE', value });
const mappingWith = (fields: string) => `version: 1\nstreams:\n  public-meetings:\n    object: engagement\n    fields:\n      externalId: id\n${fields}\n`;

/** Runs one case against the sandbox and checks what holds for every case; returns the result and the rejects. */
async function hostile(c: Case, timeoutMs = 40_000): Promise<CliResult & { rejects: string; tookMs: number }> {
  const dir = tempDir();
  const mappings = join(dir, 'mapping.yml');
  writeFileSync(mappings, c.mapping ?? mappingWith('      content: notes'));
  const base = new URL(sandbox.url);
  const target = targetConfig({ api_token: TOKEN, base_url: `http://siro:${PASSWORD}@${base.host}`, mappings, ...c.settings }, dir);
  const started = performance.now();
  const res = await runTargetCli([...(c.args ?? []), '--config', target.config], { input: c.input ?? '', timeoutMs });
  const tookMs = performance.now() - started;
  expect(res.signal, 'ended by the test timeout: it hung').toBeNull();
  // Stdout: state lines only (JSON values), whatever happened.
  for (const line of res.stdout.split('\n').filter((l) => l.trim() !== '')) {
    if (!c.args?.length) expect(() => JSON.parse(line), `not a state line on stdout: ${line.slice(0, 120)}`).not.toThrow();
  }
  expect(res.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
  const rejects = existsSync(target.rejectsFile) ? readFileSync(target.rejectsFile, 'utf8') : '';
  const files = [rejects, res.stdout, res.stderr];
  if (existsSync(target.ledgerPath)) files.push(readFileSync(target.ledgerPath).toString('latin1'));
  if (existsSync(join(dir, 'runs'))) for (const f of readdirSync(join(dir, 'runs'))) files.push(readFileSync(join(dir, 'runs', f), 'utf8'));
  for (const text of files) {
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(PASSWORD);
  }
  return { ...res, rejects, tookMs };
}

describe('hostile input', () => {
  it.each([
    ["{% include 'config.json' %}", 'include'],
    ["{% render 'config.json' %}", 'render'],
    ["{% layout 'config.json' %}", 'layout'],
    ['{% include notes %}', 'include'],
  ])('1. a template that reads files (%s) is refused by validate at its position', async (template, tag) => {
    const res = await hostile({ mapping: mappingWith(`      subject: { template: "${template}" }`), args: ['validate'] });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(new RegExp(`mapping\\.yml:7:\\d+: .*the \\{% ${tag} %\\} tag is not allowed: mapping templates cannot read files`));
  });

  it.each([
    ['{% for i in (1..1000000000) %}x{% endfor %}', /memory alloc limit exceeded/],
    ['{% for i in (1..5000) %}{% for j in (1..5000) %}{{ j }}{% endfor %}{% endfor %}', /limit exceeded/],
  ])('2. a template that would run forever (%s) rejects the record; the run goes on', async (template, why) => {
    const res = await hostile({
      mapping: mappingWith(`      subject: { template: "${template}" }`),
      input: [SCHEMA(MEETINGS), RECORD({ id: 'm1', notes: 'n' }), STATE({ at: 1 })].join('\n') + '\n',
    });
    expect(res.code).toBe(0);
    expect(res.tookMs).toBeLessThan(25_000);
    expect(res.rejects).toMatch(why);
    expect(res.stdout.trim()).toBe('{"at":1}');
  });

  it('3. a SCHEMA pattern with catastrophic backtracking validates in linear time', async () => {
    const schema = { type: 'object', properties: { id: {}, notes: { type: 'string', pattern: '(a+)+$' } } };
    const res = await hostile({ input: [SCHEMA(schema), RECORD({ id: 'm1', notes: `${'a'.repeat(41)}b` }), STATE({ at: 1 })].join('\n') + '\n' });
    expect(res.tookMs).toBeLessThan(25_000);
    expect(res.code).toBe(0);
    expect(res.rejects).toMatch(/notes/);
  });

  it.each([
    ['a STATE nested 3,000 levels', () => STATE(JSON.parse('['.repeat(3000) + ']'.repeat(3000))), /input line 2: STATE is nested more than 256 levels deep/],
    [
      'a SCHEMA nested 50,000 levels',
      () => `{"type":"SCHEMA","stream":"public-meetings","key_properties":["id"],"schema":{"type":"object","properties":{"id":{},"deep":${'{"items":'.repeat(50_000)}{}${'}'.repeat(50_000)}}}}`,
      /SCHEMA is nested more than 256 levels deep/,
    ],
    [
      'a RECORD nested 50,000 levels',
      () => `${SCHEMA(MEETINGS)}\n{"type":"RECORD","stream":"public-meetings","record":{"id":"d","notes":${'['.repeat(50_000)}${']'.repeat(50_000)}}}`,
      /input line 3 \(stream "public-meetings"\): RECORD is nested too deeply to process/,
    ],
  ])('4. %s stops with exit 3 naming the line, no crash', async (_what, line, message) => {
    const res = await hostile({ input: [STATE({ first: true }), line()].join('\n') + '\n' });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(message);
  });

  it('5. __proto__ in a SCHEMA is a property name, never a schema keyword', async () => {
    const text = `{"type":"SCHEMA","stream":"public-meetings","key_properties":["id"],"schema":{"type":"object","properties":{"id":{},"notes":{}},"__proto__":{"required":["zzz"]}}}`;
    const res = await hostile({ input: [text, RECORD({ id: 'm1', notes: 'n' }), STATE({ at: 1 })].join('\n') + '\n' });
    expect(res.code).toBe(0);
    expect(res.rejects).toBe('');
    expect(sandbox.engagements().some((e) => e.externalId === 'm1')).toBe(true);
  });

  it('6. keys that are objects or lists reject their records instead of colliding', async () => {
    const res = await hostile({
      mapping: mappingWith('      content: notes').replace('externalId: id', 'externalId: { template: "call-{{ id }}" }'),
      input: [SCHEMA({ type: 'object', properties: { id: {}, notes: {} } }), RECORD({ id: { a: 1 } }), RECORD({ id: { a: 2 } }), RECORD({ id: [3] }), STATE({ at: 3 })].join('\n') + '\n',
    });
    expect(res.code).toBe(0);
    expect(res.rejects.trim().split('\n')).toHaveLength(3);
    expect(res.rejects).toMatch(/key property \\"id\\" is an object: a key must be text, a number or a boolean/);
    expect(sandbox.engagements().some((e) => e.externalId.includes('[object'))).toBe(false);
  });

  it('6b. an externalId template reading an object column rejects the record', async () => {
    const res = await hostile({
      mapping: mappingWith('      content: notes').replace('externalId: id', 'externalId: { template: "m-{{ meta }}" }'),
      input: [SCHEMA(MEETINGS), RECORD({ id: 'x', meta: { a: 1 } }), STATE({ at: 1 })].join('\n') + '\n',
    });
    expect(res.code).toBe(0);
    expect(res.rejects).toMatch(/externalId: template .* reads an object/);
  });

  it.each(['text', 'json'])('7. check never prints the credentials of base_url (--format %s)', async (format) => {
    const res = await hostile({ args: ['check', '--format', format] });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/siro:\*\*\*@/);
  });

  it('8. a ledger that cannot be written stops the run with one line on stderr and nothing but states on stdout', async () => {
    const notAFolder = join(tempDir(), 'file');
    writeFileSync(notAFolder, 'x');
    const res = await hostile({ settings: { ledger_path: join(notAFolder, 'ledger.sqlite') }, input: [SCHEMA(MEETINGS), RECORD({ id: 'm1' })].join('\n') + '\n' });
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/target-siro: cannot open the ledger \(ledger_path .*ledger\.sqlite\): a file stands where a folder is needed \(EEXIST\)/);
  });

  it('9. a rejects file in a folder that cannot exist is a one-line error naming the file (exit 7)', async () => {
    const notAFolder = join(tempDir(), 'file');
    writeFileSync(notAFolder, 'x');
    const res = await hostile({
      settings: { rejects_file: join(notAFolder, 'rejects.jsonl') },
      input: [SCHEMA(MEETINGS), RECORD({ id: 'm1', notes: 42 }), STATE({ at: 1 })].join('\n') + '\n',
      mapping: mappingWith('      content: { column: notes, type: boolean }'),
    });
    expect(res.code).toBe(7);
    expect(res.stderr).toMatch(/target-siro: cannot write rejects_file .*rejects\.jsonl: /);
  });

  it('10. a line longer than max_line_bytes stops with exit 3 naming the line and the setting', async () => {
    const res = await hostile({
      settings: { max_line_bytes: 2048 },
      input: [SCHEMA(MEETINGS), RECORD({ id: 'm0' }), STATE({ before: true }), RECORD({ id: 'm1', notes: 'x'.repeat(5000) })].join('\n') + '\n',
    });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/input line 4: line is longer than 2048 bytes \(setting max_line_bytes\)/);
    // What came before the long line is delivered and its state printed.
    expect(res.stdout.trim()).toBe('{"before":true}');
  });

  it.each(['!!js/function "function () { return 1 }"', '!ENV TARGET_SIRO_API_TOKEN'])('11. a YAML tag we do not support (%s) is an error at its position', async (tagged) => {
    const res = await hostile({ mapping: mappingWith(`      content: ${tagged}`), args: ['validate'] });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/mapping\.yml:7:16: unsupported YAML tag .*: mapping files hold plain YAML values/);
  });

  it('12. a column path into __proto__ or constructor reads nothing', async () => {
    const res = await hostile({
      mapping: mappingWith('      content: meta.__proto__\n      subject: meta.constructor'),
      input: [SCHEMA(MEETINGS), RECORD({ id: 'm2', meta: { a: 1 } }), STATE({ at: 1 })].join('\n') + '\n',
    });
    expect(res.code).toBe(0);
    expect(sandbox.engagements().find((e) => e.externalId === 'm2')!.body).toEqual({ externalId: 'm2' });
  });

  it('13. a config file with __proto__ is an unknown setting, not a prototype', async () => {
    const dir = tempDir();
    const config = join(dir, 'config.json');
    writeFileSync(config, `{"dry_run": true, "__proto__": {"dry_run": false, "api_token": "${TOKEN}"}}`);
    const res = await runTargetCli(['validate', '--config', config]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/unknown setting "__proto__"/);
    expect(res.stderr).not.toContain(TOKEN);
  });
});
