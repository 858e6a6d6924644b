/**
 * Build step (`npm run build`, after tsc): bundles the libraries whose many small modules would
 * slow every start of the CLI into one CommonJS file each under dist/vendor/, and makes their
 * shim modules' built forms load those bundles (see kube-client.ts and protocol/zod.ts):
 * - @kubernetes/client-node, thousands of ES modules, whole;
 * - zod, only what this project calls (ZOD_USED; a unit test checks the sources against it), so
 *   its translations and unused parts are left out.
 * A bundle is made again only when its package or the list changes. Then the CLI itself, with
 * everything it loads but the Kubernetes client (loaded only by what needs the cluster) and the
 * native addons, into one file: dist/bin/mirrord-cli.js, which the `mirrord` command
 * (cli/launch.ts) runs. Node then reads and compiles one file where it would resolve and read some
 * two hundred, about 40 ms of every start.
 * Identifiers are kept (only whitespace and syntax are minified), so stack traces stay readable.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BuildOptions } from 'esbuild';

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
// Written by the build (common/vendor-bundles.ts): the bundled library with V8's code cache,
// else the package. The bundle is one folder below dist/ (../vendor/) from here and from the CLI's.
let client;
try {
  client = require("./code-cache.js").requireCached(require("node:path").join(__dirname, "..", "vendor", "kube-client.js"));
} catch (error) {
  if (error.code !== "ENOENT") throw error;
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

/** The CLI, bundled: cli/launch.ts (package.json's `bin`) runs it. */
export const CLI_BUNDLE = 'bin/mirrord-cli.js';

export async function bundleVendors(dist: string): Promise<void> {
  for (const bundle of BUNDLES) await bundleOne(dist, bundle);
  await bundleCli(dist);
}

/**
 * dist/cli/main.js and what it imports, made again on every build (a second or less). The bundle
 * sits one folder below dist/, as main.js does, so the paths it keeps (`../vendor/…`, the package
 * root found from `__dirname`) lead where they did.
 */
async function bundleCli(dist: string): Promise<void> {
  await esbuild({
    entryPoints: [join(dist, 'cli', 'main.js')],
    keepNames: true,
    outfile: join(dist, CLI_BUNDLE),
    // Loaded where they are: the Kubernetes client's package (its bundle is read by
    // common/code-cache.ts, only for the cluster's commands) and zod's (the fallback of its loader).
    external: ['@kubernetes/client-node', 'zod'],
    // ws' native helpers only mask and unmask faster: the CLI receives unmasked frames (a server's)
    // and sends all-zero masks over its private transports, and finding and loading the addon
    // cost about 7 ms of every start. Told off at build time, so the user's program never sees the variables.
    define: { 'process.env.WS_NO_BUFFER_UTIL': '"1"', 'process.env.WS_NO_UTF_8_VALIDATE': '"1"' },
  });
  chmodSync(join(dist, 'cli', 'launch.js'), 0o755);
}

/** One CommonJS file for Node 20 of `options`' entry and what it imports. */
async function esbuild(options: BuildOptions): Promise<void> {
  // Loaded only here: a development dependency, absent where the built code runs.
  const { build } = await import('esbuild');
  await build({
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    legalComments: 'eof',
    ...options,
  });
}

async function bundleOne(dist: string, bundle: Bundle): Promise<void> {
  const packageJson = require.resolve(`${bundle.packageName}/package.json`);
  const out = join(dist, 'vendor', `${bundle.name}.js`);
  // npm gives installed files a fixed time: the versions (and the entry) say whether the bundle is current.
  const stamp = `${out}.version`;
  const version = `${(JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version} ${require('esbuild/package.json').version} ${bundle.entry}`;
  if (!existsSync(out) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== version) {
    mkdirSync(dirname(out), { recursive: true });
    await esbuild({ stdin: { contents: bundle.entry, resolveDir: dirname(packageJson), loader: 'js' }, outfile: out });
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
