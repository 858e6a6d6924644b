/**
 * Builds the test programs of test/fixtures into a directory of the test's: C programs with the
 * system compiler, the Go programs with the Go toolchain.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from '../../cli/program-path';
import { packagePath } from '../../common/package-root';
import { run } from './run';

/** Compiles test/fixtures/`source` to `dir`/`name` with `flags` (e.g. `-static`); resolves with the program's path. */
export async function buildC(dir: string, name: string, source: string, flags: string[] = []): Promise<string> {
  const out = join(dir, name);
  await run('cc', [...flags, '-o', out, packagePath(`test/fixtures/${source}`)]);
  return out;
}

/**
 * Builds test/fixtures/go-lookup (or the Go program in `source`, a directory of this package) to
 * `dir`/`name`: with cgo it is dynamically linked and can resolve names through libc; without,
 * it is a static binary making only its own system calls. go-lookup needs no modules; a program
 * that does (the demo app, with gRPC) has them fetched from the Go module proxy once, into a
 * module cache that outlives the test.
 */
export async function buildGo(dir: string, name: string, cgo: boolean, source = 'test/fixtures/go-lookup'): Promise<string> {
  const out = join(dir, name);
  // Go's own installer puts it in /usr/local/go, which a minimal PATH (sudo's, CI's) may lack.
  const go = findExecutable('go', process.env) ?? '/usr/local/go/bin/go';
  const env = {
    ...process.env,
    CGO_ENABLED: cgo ? '1' : '0',
    // The build cache outlives the test (a first cgo build compiles the runtime, ~20 s); so do
    // the modules, checked against the fixture's go.sum.
    GOCACHE: join(tmpdir(), 'mirrord-test-go-cache'),
    GOMODCACHE: join(tmpdir(), 'mirrord-test-go-modules'),
    GOPATH: join(dir, 'gopath'),
    GOFLAGS: '-mod=readonly',
    GOTOOLCHAIN: 'local',
    GOENV: 'off',
  };
  await run(go, ['build', '-o', out, '.'], { cwd: packagePath(source), env, timeoutMs: 300_000 });
  return out;
}
