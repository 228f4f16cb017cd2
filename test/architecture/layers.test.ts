import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/cli.js';

/**
 * The folders of connector/ import downward only: no folder imports a folder that (directly or around a
 * circle) imports it back, and every target-siro command is defined under connector/commands/.
 */

const connector = join(repoRoot, 'connector');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'spec' ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** The folder directly under connector/ that holds a file ('.' for connector/ itself). */
function folderOf(file: string): string {
  const parts = relative(connector, file).split(sep);
  return parts.length === 1 ? '.' : parts[0]!;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** folder → the folders its files import (relative imports only). */
function folderGraph(): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const file of sourceFiles(connector)) {
    const from = folderOf(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(connector + sep)) continue;
      const to = folderOf(target);
      if (to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string[]>();
      graph.set(from, edges);
      const why = edges.get(to) ?? [];
      edges.set(to, why);
      why.push(`${relative(repoRoot, file)} imports ${spec}`);
    }
  }
  return graph;
}

/** Every circle of folders, each as the path around it with the import that makes each step. */
function circles(graph: Map<string, Map<string, string[]>>): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const walk = (node: string, path: string[]): void => {
    for (const next of graph.get(node)?.keys() ?? []) {
      const at = path.indexOf(next);
      if (at >= 0) {
        const loop = [...path.slice(at), next];
        const key = [...loop.slice(0, -1)].sort().join(',');
        if (seen.has(key)) continue;
        seen.add(key);
        const steps = loop.slice(0, -1).map((f, i) => `${f} → ${loop[i + 1]} (${graph.get(f)!.get(loop[i + 1]!)![0]})`);
        found.push(steps.join('; '));
      } else walk(next, [...path, next]);
    }
  };
  for (const start of graph.keys()) walk(start, [start]);
  return found;
}

describe('connector/ layout', () => {
  it('has no circle between folders: each folder imports only folders below it', () => {
    expect(circles(folderGraph())).toEqual([]);
  });

  it('keeps connector/ itself to the CLI entry point, which imports nothing but the commands and core', () => {
    const top = readdirSync(connector).filter((f) => f.endsWith('.ts'));
    expect(top).toEqual(['cli.ts']);
    const imported = [...(folderGraph().get('.')?.keys() ?? [])].sort();
    expect(imported).toEqual(['commands', 'core']);
  });

  it('defines every target-siro command under connector/commands/', () => {
    const outside = sourceFiles(connector)
      .filter((f) => folderOf(f) !== 'commands' && folderOf(f) !== 'warehouse' && f !== join(connector, 'cli.ts'))
      .filter((f) => /\.command\(\s*['"]/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(repoRoot, f));
    expect(outside).toEqual([]);
  });
});
