import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildC } from '../test/harness/programs';
import { advice, adviseProgram, withCgoResolver } from './program-kinds';

jest.setTimeout(30_000);

describe('what the layer can do for the command, said before it starts', () => {
  let dir: string;
  const env = { PATH: '/usr/bin:/bin', GODEBUG: 'http2client=0' };
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'mirrord-kinds-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('warns about a statically linked program, and says nothing about a dynamically linked one', async () => {
    await buildC(dir, 'static-hello', 'static-hello.c', ['-static']);
    await buildC(dir, 'hello', 'static-hello.c');
    expect(adviseProgram('./static-hello', env, true, dir)).toEqual({
      warning:
        "./static-hello is statically linked, so the layer cannot reach it: it runs with this machine's network, DNS and files, not the pod's (--interception syscall or auto reaches it)",
      env,
      interception: 'preload',
    });
    const quiet = { env, interception: 'preload' };
    expect(adviseProgram('./hello', env, true, dir)).toEqual(quiet);
    expect(adviseProgram('sh', env, true, dir)).toEqual(quiet);
    expect(adviseProgram('no-such-command', env, true, dir)).toEqual(quiet);
  });

  it('auto: the syscall mode for static and Go programs (no warning), the layer for the others; syscall: for all', async () => {
    await buildC(dir, 'static-hello', 'static-hello.c', ['-static']);
    await buildC(dir, 'go-cgo', 'go-markers.c', ['-DCGO=1']);
    await buildC(dir, 'hello', 'static-hello.c');
    for (const program of ['./static-hello', './go-cgo']) expect(adviseProgram(program, env, true, dir, 'auto')).toEqual({ env, interception: 'syscall' });
    expect(adviseProgram('./hello', env, true, dir, 'auto')).toEqual({ env, interception: 'preload' });
    expect(adviseProgram('./hello', env, true, dir, 'syscall')).toEqual({ env, interception: 'syscall' });
    // A machine without what the mode needs: the layer, and its warning.
    expect(adviseProgram('./static-hello', env, true, dir, 'auto', 'too old')).toMatchObject({
      interception: 'preload',
      warning: expect.stringMatching(/statically linked/),
    });
  });

  it('names the statically linked interpreter of a script', async () => {
    const interpreter = await buildC(dir, 'static-interp', 'static-hello.c', ['-static']);
    writeFileSync(join(dir, 'script'), `#!${interpreter}\n`);
    chmodSync(join(dir, 'script'), 0o755);
    expect(adviseProgram('./script', env, true, dir).warning).toBe(
      `./script (a script run by ${interpreter}) is statically linked, so the layer cannot reach it: it runs with this machine's network, DNS and files, not the pod's (--interception syscall or auto reaches it)`,
    );
  });

  it('sends the DNS look-ups of a dynamically linked Go program through the pod with the cgo resolver', async () => {
    await buildC(dir, 'go-cgo', 'go-markers.c', ['-DCGO=1']);
    expect(adviseProgram('./go-cgo', env, true, dir)).toEqual({
      warning:
        "./go-cgo is a Go program: Go makes its own system calls, so only its DNS look-ups go through the pod (with GODEBUG=netdns=cgo); its connections, listening ports and files stay this machine's",
      env: { ...env, GODEBUG: 'http2client=0,netdns=cgo' },
      interception: 'preload',
    });
    // with the pod's DNS turned off there is nothing to send through it
    expect(adviseProgram('./go-cgo', env, false, dir)).toEqual({
      warning:
        "./go-cgo is a Go program: Go makes its own system calls, so the layer cannot reach it: it runs with this machine's network, DNS and files, not the pod's (--interception syscall or auto reaches it)",
      env,
      interception: 'preload',
    });
  });

  it('says a static Go program, or one without cgo, is out of reach', () => {
    expect(advice('api', { staticallyLinked: true, go: { cgo: false } }, env, true)).toEqual({
      warning:
        "api is a Go program, statically linked: Go makes its own system calls, so the layer cannot reach it: it runs with this machine's network, DNS and files, not the pod's (--interception syscall or auto reaches it)",
      env,
    });
    expect(advice('api', { staticallyLinked: false, go: { cgo: false } }, env, true).warning).toMatch(
      /^api is a Go program built without cgo: .* cannot reach it/,
    );
    // an old Go's build settings can't be read: dynamically linked, it is almost surely cgo
    expect(advice('api', { staticallyLinked: false, go: {} }, {}, true).env).toEqual({ GODEBUG: 'netdns=cgo' });
  });

  it("sets Go's resolver to cgo, keeping the other GODEBUG settings and a netdns debug level", () => {
    expect(withCgoResolver(undefined)).toBe('netdns=cgo');
    expect(withCgoResolver('')).toBe('netdns=cgo');
    expect(withCgoResolver('gctrace=1,madvdontneed=1')).toBe('gctrace=1,madvdontneed=1,netdns=cgo');
    expect(withCgoResolver('netdns=go,gctrace=1')).toBe('gctrace=1,netdns=cgo');
    expect(withCgoResolver('netdns=go+2')).toBe('netdns=cgo+2');
    expect(withCgoResolver('netdns=1')).toBe('netdns=cgo+1');
  });
});
