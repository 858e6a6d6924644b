/**
 * Runs a large bundled CommonJS file (the CLI's, the Kubernetes client's) with V8's code cache:
 * compiling such a file is the largest cost of loading it, and with the cache V8 reads the
 * compiled code instead (the Kubernetes client: about 180 → 100 ms on a slow machine).
 *
 * The cache lives in the user's cache directory ($XDG_CACHE_HOME/mirrord, else ~/.cache/mirrord),
 * one file per bundle and role, and holds what the run that made it compiled. It is written at
 * the exit of a run that had none or had one V8 rejected (another build, another Node); a run
 * that reads a good one writes nothing (making a cache takes V8 8–40 ms: not a cost for every
 * exit). Where it can't be written the file simply runs without. Imports only Node's built-ins:
 * the launcher loads this before anything else.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';

/**
 * `module.exports` of `file`, run as a CommonJS module. `role` tells caches of one file apart
 * where different runs compile different parts of it (the CLI's `--version` and `attach`).
 */
export function requireCached(file: string, role = 'main'): unknown {
  // The first line may be a `#!`, which only a file's start may hold: kept as a comment, so lines still match.
  const source = readFileSync(file, 'utf8').replace(/^#!/, '//');
  const cache = cacheFile(file, role);
  const cachedData = readCache(cache);
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new Script(wrapped, { filename: file, cachedData });
  if (!cachedData || script.cachedDataRejected) process.once('exit', () => writeCache(cache, script.createCachedData()));
  const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
  const module = { exports: {}, filename: file };
  run(module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}

/** One cache per installed file and role: another installation's has another name. */
export function cacheFile(file: string, role: string): string {
  const root = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(root, 'mirrord', `${basename(file, '.js')}-${pathHash(file)}-${role}.v8cache`);
}

/** FNV-1a of the file's path (node:crypto would add ~5 ms to every start of the CLI). */
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
