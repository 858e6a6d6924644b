/**
 * The installed `mirrord` command (cli/launch.ts, after `npm run build`): it runs the CLI's
 * bundle with V8's code cache (common/code-cache.ts), made in the user's cache directory by the
 * first run of its kind, made again when V8 rejects it, and done without where it can't be
 * written. The command behaves the same in every case.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath } from '../../common/package-root';
import { MAIN } from '../e2e/mirrord';
import { run } from '../harness/run';

let cacheHome: string;
const mirrord = (...args: string[]) => run(process.execPath, [MAIN, ...args], { env: { ...process.env, XDG_CACHE_HOME: cacheHome } });
const cacheFiles = () => readdirSync(join(cacheHome, 'mirrord')).map((name) => join(cacheHome, 'mirrord', name));

beforeEach(() => {
  cacheHome = mkdtempSync(join(tmpdir(), 'mirrord-cache-'));
});
afterEach(() => rmSync(cacheHome, { recursive: true, force: true }));

it('the first run of a kind makes its cache, attach one of its own; a run with a good cache writes nothing', async () => {
  const version = (await mirrord('--version')).stdout;
  expect(version).toMatch(/^mirrord \d+\.\d+\.\d+\n$/);
  const [other] = cacheFiles();
  expect(other).toMatch(/mirrord-cli-[0-9a-f]{8}-other\.v8cache$/);

  // attach's code is compiled too: an agent command that exits at once ends the run after loading it
  const failed = await mirrord('attach', '--agent-cmd', 'false', '--', 'true').catch((error: Error) => error.message);
  expect(failed).toMatch(/could not reach the agent through the agent command `false`/);
  const attach = cacheFiles().find((file) => file !== other)!;
  expect(attach).toMatch(/mirrord-cli-[0-9a-f]{8}-attach\.v8cache$/);
  expect(statSync(attach).size).toBeGreaterThan(statSync(other!).size);

  const written = cacheFiles().map((file) => statSync(file).mtimeMs);
  expect((await mirrord('--version')).stdout).toBe(version);
  await mirrord('attach', '--agent-cmd', 'false', '--', 'true').catch(() => undefined);
  expect(cacheFiles().map((file) => statSync(file).mtimeMs)).toEqual(written);
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

it("the Kubernetes client's bundle is loaded with a code cache of its own, made once", async () => {
  const load = () =>
    run(process.execPath, ['-e', `process.stdout.write(typeof require(${JSON.stringify(packagePath('dist/common/kube-client.js'))}).KubeConfig)`], {
      env: { ...process.env, XDG_CACHE_HOME: cacheHome },
    });
  expect((await load()).stdout).toBe('function');
  const [cache] = cacheFiles();
  expect(cache).toMatch(/kube-client-[0-9a-f]{8}-main\.v8cache$/);
  const made = statSync(cache!).mtimeMs;
  expect((await load()).stdout).toBe('function');
  expect(statSync(cache!).mtimeMs).toBe(made);
});
