import { createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot, tempDir, writeJson } from '../support/cli.js';

/** A config for a test run: every file the target writes (rejects, ledger, reports, state) in a temp folder. */
export function operatorConfig(settings: Record<string, unknown>, dir = tempDir('target-siro-operator-')): { dir: string; path: string } {
  const path = writeJson(join(dir, 'config.json'), {
    rejects_file: join(dir, 'rejects.jsonl'),
    ledger_path: join(dir, 'ledger.sqlite'),
    reports_dir: join(dir, 'runs'),
    state_file: join(dir, 'state.json'),
    mappings: exampleMapping('postgres-calls'),
    ...settings,
  });
  return { dir, path };
}

/** A port on 127.0.0.1 that nothing listens on (taken, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function exampleMapping(name: string): string {
  return join(repoRoot, 'mappings', 'examples', `${name}.yml`);
}

export function exampleInput(name: string): string {
  return join(repoRoot, 'test', 'fixtures', 'examples', `${name}.singer`);
}
