#!/usr/bin/env node
/**
 * The `mirrord` command as installed: runs the CLI's bundle (dist/bin/mirrord-cli.js, made by
 * the build from main.js and what it imports) with V8's code cache (common/code-cache.ts):
 * compiling the bundle is the largest single cost of starting the CLI after Node's own. attach
 * (and its alias exec) and port-forward each keep a cache of their own, so the first run of a
 * short command (`--version`) doesn't leave attach compiling its code every time. Without a
 * bundle (a build that stopped after tsc) main.js runs as it is.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { requireCached } from '../common/code-cache';

const BUNDLE = join(__dirname, '..', 'bin', 'mirrord-cli.js');

/** Which cache this run uses: the session commands compile most of the bundle, and differently. */
function role(command: string | undefined): string {
  if (command === 'attach' || command === 'exec') return 'attach';
  return command === 'port-forward' ? command : 'other';
}

if (existsSync(BUNDLE)) requireCached(BUNDLE, role(process.argv[2]));
// eslint-disable-next-line @typescript-eslint/no-require-imports
else require('./main');
