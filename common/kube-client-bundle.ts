/**
 * Build step (`npm run build`, after tsc): bundles @kubernetes/client-node into one CommonJS file,
 * dist/vendor/kube-client.js, and makes dist/common/kube-client.js load it (see kube-client.ts).
 * Identifiers are kept (only whitespace and syntax are minified), so stack traces stay readable.
 * The bundle is made again only when the package changes.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const LOADER = `"use strict";
// Written by the build (common/kube-client-bundle.ts): the bundled library, else the package.
let client;
try {
  client = require("../vendor/kube-client.js");
} catch (error) {
  if (error.code !== "MODULE_NOT_FOUND") throw error;
  client = require("@kubernetes/client-node");
}
module.exports = client;
`;

export async function bundleKubeClient(dist: string): Promise<void> {
  const packageJson = require.resolve('@kubernetes/client-node/package.json');
  const out = join(dist, 'vendor', 'kube-client.js');
  // npm gives installed files a fixed time: the versions say whether the bundle is current.
  const stamp = `${out}.version`;
  const version = `${(JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version} ${require('esbuild/package.json').version}`;
  if (!existsSync(out) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== version) {
    // Loaded only here: a development dependency, absent where the built code runs.
    const { build } = await import('esbuild');
    mkdirSync(dirname(out), { recursive: true });
    await build({
      stdin: { contents: "export * from '@kubernetes/client-node';", resolveDir: dirname(packageJson), loader: 'js' },
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
  const loader = join(dist, 'common', 'kube-client.js');
  if (readFileSync(loader, 'utf8') !== LOADER) writeFileSync(loader, LOADER);
}

if (require.main === module) {
  bundleKubeClient(join(__dirname, '..')).catch((error: Error) => {
    process.stderr.write(`bundling the Kubernetes client failed: ${error.message}\n`);
    process.exit(1);
  });
}
