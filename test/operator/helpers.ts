import { createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../support/cli.js';
import { targetConfig } from '../support/target-config.js';

/**
 * The target's config.json for an operator test (targetConfig): the postgres-calls example mapping, a state
 * file, and info logs (the run summary and report line); every file the target writes in a temp folder.
 */
export function operatorConfig(settings: Record<string, unknown>): { dir: string; path: string } {
  const { dir, config } = targetConfig(
    { mappings: exampleMapping('postgres-calls'), ...settings },
    { dir: tempDir('target-siro-operator-'), file: 'config.json', stateFile: true, logLevel: 'info' },
  );
  return { dir, path: config };
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
