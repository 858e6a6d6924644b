/**
 * The zod bundle holds what the sources call: every `z.NAME` in the project's TypeScript is in
 * ZOD_USED (or is a type, which the bundle doesn't need), so the built code never falls back to
 * loading the whole package.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packagePath } from './package-root';
import { ZOD_USED } from './vendor-bundles';

const TYPES_ONLY = ['infer', 'input', 'output'];
const FOLDERS = ['protocol', 'common', 'cli', 'intproxy', 'sidecar', 'webhook', 'operator', 'layer', 'test'];

function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

it('every zod function or class the sources name is bundled', () => {
  const used = new Set<string>();
  for (const folder of FOLDERS) {
    for (const file of sources(packagePath(folder))) {
      const code = readFileSync(file, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      for (const match of code.matchAll(/\bz\.([A-Za-z_$][\w$]*)/g)) used.add(match[1]!);
    }
  }
  expect(used.has('object')).toBe(true); // the scan found the schemas
  expect([...used].filter((name) => !ZOD_USED.includes(name) && !TYPES_ONLY.includes(name))).toEqual([]);
});
