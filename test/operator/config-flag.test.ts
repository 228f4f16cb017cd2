import { describe, expect, it } from 'vitest';
import { runTargetCli } from '../support/cli.js';

/**
 * `--config` before the command reaches every command that reads settings (Meltano puts its generated
 * `--config FILE` first): a missing file is a configuration error (exit 2) naming it, never ignored.
 */
describe('the program-level --config', () => {
  it.each([[[]], [['validate']], [['check']], [['preview']], [['rejects', 'list']], [['rejects', 'retry']]])(
    'reaches `target-siro --config F %j`',
    async (command) => {
      const res = await runTargetCli(['--config', '/nonexistent/config.json', ...command], { input: '' });
      expect(res.code).toBe(2);
      expect(res.stdout + res.stderr).toMatch(/cannot read config file \/nonexistent\/config\.json/);
      expect(res.stderr).not.toMatch(/\n\s+at /);
    },
  );
});
