import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { faultsFromCliOptions, runSandboxCommand, sandboxFaultOptions } from '../../connector/commands/sandbox.js';
import { DEFAULT_SANDBOX_TOKEN, startSandbox } from '../../connector/sandbox/server.js';
import { ConfigError } from '../../connector/core/errors.js';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const commandModule = fileURLToPath(new URL('../../dist/connector/commands/sandbox.js', import.meta.url));

/** Runs `sandbox <args>` through commander in a child process (the built code), like the CLI does. */
function startCli(args: string[]): { child: ChildProcess; stderr: () => string; url: Promise<string> } {
  const script = `
    import { Command } from 'commander';
    import { addSandboxCommand } from ${JSON.stringify(commandModule)};
    const program = new Command('target-siro');
    addSandboxCommand(program);
    await program.parseAsync(['node', 'target-siro', 'sandbox', ...JSON.parse(process.argv[1])]);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(args)], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      // The read-back line is the last of the startup lines.
      const m = /listening on (http:\/\/\S+)[^]*read-back:.*\n/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`sandbox exited (${code}): ${stderr}`)));
  });
  return { child, stderr: () => stderr, url };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

describe('target-siro sandbox command', () => {
  it('prints the URL and the built-in demo token, serves, and stops cleanly on SIGTERM', async () => {
    const cli = startCli(['--port', '0']);
    const url = await cli.url;
    expect(cli.stderr()).toContain('accepts token(s): 1');
    expect(cli.stderr()).toContain(`token: ${DEFAULT_SANDBOX_TOKEN.token}`);
    const r = await fetch(`${url}/v1/core/auth/caller-identity`, { headers: { authorization: `Bearer ${DEFAULT_SANDBOX_TOKEN.token}` } });
    expect(r.status).toBe(200);
    const done = exited(cli.child);
    cli.child.kill('SIGTERM');
    expect(await done).toBe(0);
    expect(cli.stderr()).toMatch(/sandbox stopped \(SIGTERM\): 1 requests/);
  });

  it("never prints a user's token, and wires the fault flags", async () => {
    const secret = 'user-chosen-s3cret';
    const cli = startCli(['--port', '0', '--token', secret, '--rate-limit', '2', '--max-batch-size', '1']);
    const url = await cli.url;
    const put = (token: string, body: unknown) =>
      fetch(`${url}/v1/integrations/sync/batch/engagements`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await put(DEFAULT_SANDBOX_TOKEN.token, [{ externalId: 'a' }])).status).toBe(401);
    expect((await put(secret, [{ externalId: 'a' }, { externalId: 'b' }])).status).toBe(413);
    // Two requests a minute: the 413 took the first slot (the 401 took none).
    expect((await put(secret, [{ externalId: 'a' }])).status).toBe(200);
    expect((await put(secret, [{ externalId: 'a' }])).status).toBe(429);
    const done = exited(cli.child);
    cli.child.kill('SIGINT');
    expect(await done).toBe(0);
    expect(cli.stderr()).toContain('accepts token(s): 1');
    expect(cli.stderr()).not.toContain(secret);
    expect(cli.stderr()).not.toContain(DEFAULT_SANDBOX_TOKEN.token);
  });

  it('turns CLI option values into checked fault settings', () => {
    expect(
      faultsFromCliOptions({ latencyMs: '5', errorRate: '0.25', rateLimit: '60', burst429: '3', seed: '9', port: '4010' }),
    ).toEqual({ latencyMs: 5, errorRate: 0.25, rateLimitPerMinute: 60, burst429: { count: 3 }, seed: 9 });
    expect(() => faultsFromCliOptions({ errorRate: '1.5' })).toThrow(ConfigError);
    expect(() => faultsFromCliOptions({ dropRate: 'often' })).toThrow(/--drop-rate needs a number/);
    expect(() => faultsFromCliOptions({ maxBatchSize: '' })).toThrow(ConfigError);
    expect(sandboxFaultOptions.map((o) => o.flags.split(' ')[0])).toEqual([
      '--latency-ms',
      '--jitter-ms',
      '--error-rate',
      '--error-after-write-rate',
      '--drop-rate',
      '--rate-limit',
      '--max-batch-size',
      '--burst-429',
      '--seed',
    ]);
  });
});

describe('runSandboxCommand', () => {
  it('reports a port in use as a configuration error', async () => {
    const busy = await startSandbox();
    const lines: string[] = [];
    await expect(runSandboxCommand({ port: busy.port, log: (l) => lines.push(l) })).rejects.toThrow(
      new ConfigError(`sandbox: port ${busy.port} is in use; pick another with --port (0 = any free port)`),
    );
    expect(lines).toEqual([]);
    await busy.close();
  });
});
