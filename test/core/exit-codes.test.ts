import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECK_EXIT } from '../../connector/commands/check.js';
import { EXIT_CODES, FatalApiError, SiroUnreachableError } from '../../connector/core/errors.js';
import { repoRoot } from '../support/cli.js';

describe('exit codes', () => {
  it('are the same in a run and in check: 4 a refused token, 6 Siro unreachable', () => {
    expect(new FatalApiError('refused', 401).exitCode).toBe(4);
    expect(new SiroUnreachableError('unreachable').exitCode).toBe(6);
    // Still a FatalApiError: the run stops and prints no further state.
    expect(new SiroUnreachableError('unreachable')).toBeInstanceOf(FatalApiError);
    expect(CHECK_EXIT).toEqual({ ok: 0, config: 2, token: EXIT_CODES.siroRefused, unreachable: EXIT_CODES.siroUnreachable });
  });

  it('each have a row in the README table', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('| exit code | meaning |'));
    const rows = new Set([...table.slice(0, table.indexOf('\n\n')).matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1])));
    expect([...rows].sort((a, b) => a - b)).toEqual(Object.values(EXIT_CODES).sort((a, b) => a - b));
  });
});
