import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest folder above this module holding package.json (works from source and dist). */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('target-siro: cannot find package.json above ' + dir);
    dir = parent;
  }
  return dir;
})();

export const packageJson: { name: string; version: string; description: string } = JSON.parse(
  readFileSync(join(packageRoot, 'package.json'), 'utf8'),
);

export const specDir = join(packageRoot, 'connector', 'siro', 'spec');
