/**
 * The installed `mirrord` command (cli/launch.ts, after `npm run build`): it runs the CLI's
 * bundle with V8's code cache, made in the user's cache directory by the first run, grown by a
 * run that compiles more, made again when V8 rejects it, and done without where it can't be
 * written. The command behaves the same in every case.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN } from '../e2e/mirrord';
import { run } from '../harness/run';

let cacheHome: string;
const mirrord = (...args: string[]) => run(process.execPath, [MAIN, ...args], { env: { ...process.env, XDG_CACHE_HOME: cacheHome } });
const cacheFiles = () => readdirSync(join(cacheHome, 'mirrord')).map((name) => join(cacheHome, 'mirrord', name));

beforeEach(() => {
  cacheHome = mkdtempSync(join(tmpdir(), 'mirrord-cache-'));
});
afterEach(() => rmSync(cacheHome, { recursive: true, force: true }));

it('the first run makes the cache, a run that compiles more grows it, one that compiles nothing new leaves it', async () => {
  const version = (await mirrord('--version')).stdout;
  expect(version).toMatch(/^mirrord \d+\.\d+\.\d+\n$/);
  const [cache] = cacheFiles();
  const small = statSync(cache!).size;
  expect(small).toBeGreaterThan(0);

  // attach's code is compiled too: an agent command that exits at once ends the run after loading it
  const failed = await mirrord('attach', '--agent-cmd', 'false', '--', 'true').catch((error: Error) => error.message);
  expect(failed).toMatch(/could not reach the agent through the agent command `false`/);
  const grown = statSync(cache!);
  expect(grown.size).toBeGreaterThan(small);

  expect((await mirrord('--version')).stdout).toBe(version);
  expect(statSync(cache!).mtimeMs).toBe(grown.mtimeMs);
  expect(cacheFiles()).toEqual([cache]);
});

it('a cache V8 rejects (another build, another Node) is made again, and the command runs meanwhile', async () => {
  await mirrord('--version');
  const [cache] = cacheFiles();
  writeFileSync(cache!, Buffer.alloc(4096, 7));
  expect((await mirrord('--version')).stdout).toMatch(/^mirrord /);
  expect(readFileSync(cache!).equals(Buffer.alloc(4096, 7))).toBe(false);
});

it('a cache directory it cannot write to: the command runs without a cache', async () => {
  // A file where the directory should be: unlike a directory's mode, it stops root's writes too.
  writeFileSync(join(cacheHome, 'mirrord'), 'not a directory');
  expect((await mirrord('--version')).stdout).toMatch(/^mirrord /);
});
