/** The installed package's root, found from both the sources (tests) and dist/ (the bins). */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function packagePath(relative: string): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, relative))) return join(dir, relative);
    if (dirname(dir) === dir) throw new Error(`${relative} was not found above ${__dirname}: run "npm install"`);
  }
}
