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

/** Usage mistakes are configuration errors: one `target-siro:` line, exit 2, and `help <command>` helps. */
describe('command-line usage', () => {
  it.each([
    [['--bogus'], /^target-siro: unknown option '--bogus'/],
    [['init', '--outt', 'x'], /^target-siro: unknown option '--outt'\n\(Did you mean --out\?\)/],
    [['initt'], /^target-siro: unknown command "initt" \(did you mean `init`\?\); the commands: validate, check, init,/],
    [['preview', '--limit'], /^target-siro: option '-n, --limit <n>' argument missing/],
    [['preview', '--limit', '0'], /^target-siro: --limit needs a positive whole number, got "0"/],
  ])('`target-siro %j` exits 2', async (args, message) => {
    const res = await runTargetCli(args, { input: '' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stdout).toBe('');
  });

  it('`help <command>` shows that command', async () => {
    const res = await runTargetCli(['help', 'init']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Usage: target-siro init \[options\]/);
  });
});
