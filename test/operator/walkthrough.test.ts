import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, repoRoot, tapBin, targetBin } from '../support/cli.js';

/**
 * The README's "Sync your own table" walkthrough, run as written: every command line of its block, in a fresh
 * folder, with the package's bins where the README says `npx` / `npm run` (what npx resolves them to in a
 * clone). The two background commands (the warehouse, the sandbox) are started and stopped by the test, and
 * the two edits the README describes in comments (the tap's streams, the mapping and config) are made from
 * the README's own text. A changed README command fails here until the test runs it too.
 */

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

function block(name: string): string {
  const m = new RegExp(`<!-- ${name}:start -->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\`\`\`\\s*<!-- ${name}:end -->`).exec(readme);
  if (!m) throw new Error(`README has no ${name} block`);
  return m[1]!;
}

const commands = block('walkthrough')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

const dir = mkdtempSync(join(tmpdir(), 'target-siro-walkthrough-'));
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGINT');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** The line as the shell runs it in a clone: the package's own bins for npx and npm run. */
function asRun(line: string, port: number): string {
  return line
    .replace(/\s+#.*$/, '')
    .replace(/npx tap-warehouse/g, `node ${tapBin}`)
    .replace(/npx target-siro/g, `node ${targetBin}`)
    .replace(/npm run warehouse --/g, `node ${join(repoRoot, 'dist', 'demo', 'warehouse.js')}`)
    .replace(/8787/g, String(port));
}

function shell(line: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', line], { cwd: dir, env: cleanEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts a background command and waits until its stderr or stdout says `ready`. */
function background(line: string, env: Record<string, string>, ready: RegExp, timeoutMs = 60_000): Promise<void> {
  const child = spawn('bash', ['-c', `exec ${line.replace(/&\s*$/, '')}`], { cwd: dir, env: cleanEnv(env) });
  children.push(child);
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in ${timeoutMs} ms: ${line}\n${seen}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (ready.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`exited ${code} before ready: ${line}\n${seen}`)));
  });
}

describe('README walkthrough: sync your own table', () => {
  it('runs every command of the walkthrough against a throw-away warehouse and the sandbox', async () => {
    const port = await freePort();
    const env: Record<string, string> = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {};
    writeFileSync(
      join(dir, 'my-tables.sql'),
      `create table sales_meetings (id bigint primary key, title text, notes text, starts_at timestamptz, minutes int, updated_at timestamptz not null);
       insert into sales_meetings values
         (9007199254740993, 'Kick-off', 'Agenda sent', '2026-05-04T15:00:00.250Z', 30, '2026-05-04T16:00:00Z'),
         (2, 'Follow-up', null, null, null, '2026-05-05T10:00:00Z');`,
    );
    const ran: string[] = [];
    let states = 0;
    for (const line of commands) {
      const run = asRun(line, port);
      ran.push(line);
      if (line.startsWith('npm run warehouse')) {
        await background(run, env, /ready\./);
        // Step 2, as the README's comment says: the table's stream in the tap config.
        const tap = JSON.parse(readFileSync(join(dir, 'state', 'tap.json'), 'utf8'));
        tap.streams = [{ table: 'sales_meetings', key_properties: ['id'], replication_key: 'updated_at' }];
        writeFileSync(join(dir, 'state', 'tap.json'), JSON.stringify(tap));
        // Step 3's config, as the README's comment gives it (the mapping comes from `init`).
        writeFileSync(join(dir, 'config.json'), JSON.stringify({ state_file: 'state/state.json' }));
        continue;
      }
      if (line.includes(' sandbox ')) {
        await background(run, env, /listening|127\.0\.0\.1/);
        continue;
      }
      if (line.startsWith('export ')) {
        for (const [, k, v] of run.matchAll(/(\w+)=(\S+)/g)) env[k!] = v!;
        continue;
      }
      const r = await shell(run, env);
      expect(r.code, `${line}\n${r.stderr}`).toBe(0);
      if (line.includes('--discover')) expect(readFileSync(join(dir, 'state', 'catalog.json'), 'utf8')).toContain('"tap_stream_id": "public-sales_meetings"');
      if (line.includes(' preview ')) expect(r.stdout).toContain('sales-meeting-9007199254740993');
      if (line.includes('target-siro init')) {
        // The README shows exactly what init writes, below its header comment.
        expect(r.stderr).toContain('wrote mappings/public-sales_meetings.yml');
        const written = readFileSync(join(dir, 'mappings', 'public-sales_meetings.yml'), 'utf8');
        expect(written.slice(written.indexOf('version: 1'))).toBe(block('walkthrough-mapping'));
      }
      if (line.includes('--state state/state.json |')) {
        states++;
        // Run 1 sends both rows; run 2 reads from the bookmark (the last row again) and sends nothing: unchanged.
        expect(r.stderr, r.stderr).toMatch(states === 1 ? /total\s+2\s+2\s+2\s+0\s+0\s+0/ : /total\s+1\s+1\s+0\s+0\s+0\s+1/);
      }
    }
    expect(ran.length).toBe(commands.length);
    expect(states).toBe(2);
    expect(existsSync(join(dir, 'state', 'state.json'))).toBe(true);
    expect(readFileSync(join(dir, 'state', 'state.json'), 'utf8')).toContain('public-sales_meetings');

    // Ctrl-C stops the throw-away warehouse cleanly: exit 0, its server and files gone, the password never shown.
    const warehouse = children[0]!;
    const said: string[] = [];
    warehouse.stderr!.on('data', (d: Buffer) => said.push(d.toString()));
    const exited = new Promise<number | null>((r) => warehouse.once('exit', (code) => r(code)));
    warehouse.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(said.join('')).toContain('stopped; the server and its files are gone');
    const url = JSON.parse(readFileSync(join(dir, 'state', 'tap.json'), 'utf8')).connection as string;
    const password = new URL(url).password;
    if (password) expect(said.join('')).not.toContain(password);
  }, 120_000);
});
