import { rmSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startSandbox, type Sandbox } from '../../connector/sandbox/server.js';
import { tempDir } from './cli.js';

/**
 * One sandbox per test file, on 127.0.0.1: started before the file's tests, closed after them; `use`
 * receives it. With `fresh`, it is emptied before each test and left without a rate limit.
 */
export function sandboxPerFile(use: (sandbox: Sandbox) => void, options: Parameters<typeof startSandbox>[0] & { fresh?: boolean } = {}): void {
  const { fresh = false, ...sandboxOptions } = options;
  let sandbox: Sandbox | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox(sandboxOptions);
    use(sandbox);
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  if (fresh) {
    beforeEach(() => {
      sandbox!.setFaults({ rateLimitPerMinute: 0 });
      sandbox!.reset();
    });
  }
}

/** A temp folder for one test file's files, removed after its tests. */
export function tempDirPerFile(prefix: string): string {
  const dir = tempDir(prefix);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
