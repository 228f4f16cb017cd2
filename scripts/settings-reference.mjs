#!/usr/bin/env node
// The README's configuration reference, rendered from the settings schema (the JSON Schema that
// `target-siro --about --format json` prints). The README holds it between the markers
//   <!-- settings-reference:start --> and <!-- settings-reference:end -->
// and test/operator/reference.test.ts fails when it differs from what this script renders.
//
//   npm run build && node scripts/settings-reference.mjs          rewrite README.md
//   npm run build && node scripts/settings-reference.mjs --check  exit 1 when README.md is out of date
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeSettingType } from '../dist/connector/config/setting-types.js';

export const START_MARKER = '<!-- settings-reference:start -->';
export const END_MARKER = '<!-- settings-reference:end -->';
export const REGENERATE = 'npm run build && node scripts/settings-reference.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * A short, human description of a setting's JSON Schema type, in Markdown: the words `--about` and
 * configuration errors use too (connector/config/setting-types.ts, built).
 */
export function describeType(prop) {
  return describeSettingType(prop, 'markdown');
}

const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The Markdown table (without the markers) for an `--about --format json` document. */
export function renderSettingsReference(about) {
  const props = about.settings.properties;
  const secrets = new Set(about.secret_settings);
  const lines = [
    `<!-- Generated from the settings schema by scripts/settings-reference.mjs: do not edit by hand; run \`${REGENERATE}\`. -->`,
    '',
    '| setting | type | default | env var | secret | description |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const [name, prop] of Object.entries(props)) {
    const def = prop.default === undefined ? '' : `\`${JSON.stringify(prop.default)}\``;
    const env = `\`${about.env_var_prefix}${name.toUpperCase()}\``;
    lines.push(`| \`${name}\` | ${cell(describeType(prop))} | ${cell(def)} | ${env} | ${secrets.has(name) ? 'yes' : ''} | ${cell(prop.description ?? '')} |`);
  }
  return lines.join('\n');
}

/** `readme` with the text between the markers replaced by `content`. */
export function replaceBetweenMarkers(readme, content) {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${START_MARKER} … ${END_MARKER}`);
  return `${readme.slice(0, start + START_MARKER.length)}\n${content}\n${readme.slice(end)}`;
}

/** The text currently between the markers. */
export function betweenMarkers(readme) {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start < 0 || end < start) return undefined;
  return readme.slice(start + START_MARKER.length, end).replace(/^\n/, '').replace(/\n$/, '');
}

async function main() {
  const { aboutInfo } = await import(pathToFileURL(join(root, 'dist', 'connector', 'commands', 'about.js')).href);
  const readmePath = join(root, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const updated = replaceBetweenMarkers(readme, renderSettingsReference(aboutInfo()));
  if (process.argv.includes('--check')) {
    if (updated !== readme) {
      process.stderr.write(`README.md's settings reference differs from the settings schema: run \`${REGENERATE}\`\n`);
      process.exitCode = 1;
    }
    return;
  }
  if (updated !== readme) writeFileSync(readmePath, updated);
  process.stderr.write(`README.md settings reference ${updated === readme ? 'already up to date' : 'updated'}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
