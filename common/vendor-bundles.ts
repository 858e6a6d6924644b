/**
 * Build step (`npm run build`, after tsc): bundles the libraries whose many small modules would
 * slow every start of the CLI into one CommonJS file each under dist/vendor/, and makes their
 * shim modules' built forms load those bundles (see kube-client.ts and protocol/zod.ts):
 * - @kubernetes/client-node, thousands of ES modules, whole;
 * - zod, only what this project calls (ZOD_USED; a unit test checks the sources against it), so
 *   its translations and unused parts are left out.
 * Identifiers are kept (only whitespace and syntax are minified), so stack traces stay readable.
 * A bundle is made again only when its package or the list changes.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Every `z.NAME` the sources use (types included: they name classes the bundle has anyway). */
export const ZOD_USED = [
  'array',
  'boolean',
  'discriminatedUnion',
  'enum',
  'lazy',
  'literal',
  'number',
  'object',
  'record',
  'registry',
  'strictObject',
  'string',
  'toJSONSchema',
  'tuple',
  'union',
  'unknown',
  'ZodError',
  'ZodOptional',
  'ZodType',
];

interface Bundle {
  /** dist/vendor/NAME.js */
  name: string;
  /** The package the bundle is made of. */
  packageName: string;
  /** The ES module esbuild bundles, resolved in the package's folder. */
  entry: string;
  /** The shim module's built form, relative to dist/, and what it becomes. */
  loader: { path: string; text: string };
}

const BUNDLES: Bundle[] = [
  {
    name: 'kube-client',
    packageName: '@kubernetes/client-node',
    entry: "export * from '@kubernetes/client-node';",
    loader: {
      path: 'common/kube-client.js',
      text: `"use strict";
// Written by the build (common/vendor-bundles.ts): the bundled library, else the package.
let client;
try {
  client = require("../vendor/kube-client.js");
} catch (error) {
  if (error.code !== "MODULE_NOT_FOUND") throw error;
  client = require("@kubernetes/client-node");
}
module.exports = client;
`,
    },
  },
  {
    name: 'zod',
    packageName: 'zod',
    entry: `import { ${ZOD_USED.map((name) => (name === 'enum' ? 'enum as enum_' : name)).join(', ')} } from 'zod';
export const z = { ${ZOD_USED.map((name) => (name === 'enum' ? 'enum: enum_' : name)).join(', ')} };`,
    loader: {
      path: 'protocol/zod.js',
      text: `"use strict";
// Written by the build (common/vendor-bundles.ts): the bundled part of zod, the package for
// anything else (and where there is no bundle).
let z;
try {
  const bundled = require("../vendor/zod.js").z;
  let whole;
  z = new Proxy(bundled, { get: (part, name) => (name in part ? part[name] : (whole ??= require("zod").z)[name]) });
} catch (error) {
  if (error.code !== "MODULE_NOT_FOUND") throw error;
  z = require("zod").z;
}
exports.z = z;
`,
    },
  },
];

export async function bundleVendors(dist: string): Promise<void> {
  for (const bundle of BUNDLES) await bundleOne(dist, bundle);
}

async function bundleOne(dist: string, bundle: Bundle): Promise<void> {
  const packageJson = require.resolve(`${bundle.packageName}/package.json`);
  const out = join(dist, 'vendor', `${bundle.name}.js`);
  // npm gives installed files a fixed time: the versions (and the entry) say whether the bundle is current.
  const stamp = `${out}.version`;
  const version = `${(JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version} ${require('esbuild/package.json').version} ${bundle.entry}`;
  if (!existsSync(out) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== version) {
    // Loaded only here: a development dependency, absent where the built code runs.
    const { build } = await import('esbuild');
    mkdirSync(dirname(out), { recursive: true });
    await build({
      stdin: { contents: bundle.entry, resolveDir: dirname(packageJson), loader: 'js' },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      minifyWhitespace: true,
      minifySyntax: true,
      outfile: out,
      logLevel: 'warning',
      legalComments: 'eof',
    });
    writeFileSync(stamp, version);
  }
  const loader = join(dist, bundle.loader.path);
  if (readFileSync(loader, 'utf8') !== bundle.loader.text) writeFileSync(loader, bundle.loader.text);
}

if (require.main === module) {
  bundleVendors(join(__dirname, '..')).catch((error: Error) => {
    process.stderr.write(`bundling the vendored libraries failed: ${error.message}\n`);
    process.exit(1);
  });
}
