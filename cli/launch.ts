#!/usr/bin/env node
/**
 * The `mirrord` command as installed: runs the CLI's bundle (dist/bin/mirrord-cli.js, made by
 * the build from main.js and what it imports) with V8's code cache. Compiling the bundle is the
 * largest single cost of starting the CLI after Node's own; with the cache V8 reads the compiled
 * code instead. It is written at the exit of a run that had none, had one V8 rejected, or compiled
 * much more than it held (it holds what that run compiled: a `--version` run's lacks attach's
 * code), in the user's cache directory ($XDG_CACHE_HOME/mirrord or ~/.cache/mirrord); one that
 * can't be written is done without. Without a bundle (a build that stopped after tsc)
 * main.js runs as it is.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

const BUNDLE = join(__dirname, '..', 'bin', 'mirrord-cli.js');

/**
 * One cache per installed bundle: V8 checks a cache against the source and its own version and
 * flags, and rejects it when any differ (a new build, another Node), so it is simply made again.
 */
function cacheFile(bundle: string): string {
  const root = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(root, 'mirrord', `cli-${pathHash(bundle)}.v8cache`);
}

/** FNV-1a of the bundle's path: names its cache apart from another installation's (node:crypto would add ~5 ms to every start). */
function pathHash(path: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) hash = Math.imul(hash ^ path.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

function readCache(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Written whole or not at all: another run may be reading it. */
function writeCache(file: string, data: Buffer): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const partial = `${file}.${process.pid}`;
    writeFileSync(partial, data);
    renameSync(partial, file);
  } catch {
    /* a read-only home: run without a cache */
  }
}

function runBundle(bundle: string): void {
  const cache = cacheFile(bundle);
  const cachedData = readCache(cache);
  // The bundle's first line is main.js's `#!`, which only a file's start may hold: kept as a comment, so lines still match.
  const source = readFileSync(bundle, 'utf8').replace(/^#!/, '//');
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new Script(wrapped, { filename: bundle, cachedData });
  process.once('exit', () => {
    // Kept when this run compiled nothing much beyond it (a `--version` run's cache lacks attach's code).
    const compiled = script.createCachedData();
    if (!cachedData || script.cachedDataRejected || compiled.length > cachedData.length * 1.1) writeCache(cache, compiled);
  });
  const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
  const bundleModule = { exports: {}, filename: bundle };
  run(bundleModule.exports, createRequire(bundle), bundleModule, bundle, dirname(bundle));
}

if (existsSync(BUNDLE)) runBundle(BUNDLE);
// eslint-disable-next-line @typescript-eslint/no-require-imports
else require('./main');
