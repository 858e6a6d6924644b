import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mirrord } from '../e2e/mirrord';
import { SERVICE_IP, SERVICE_NAME } from '../harness/netns';
import { buildC, buildGo } from '../harness/programs';
import { podSuite } from './suite';

jest.setTimeout(60_000);

/** How many lines of `text` match `pattern`. */
const lines = (text: string, pattern: RegExp) => text.split('\n').filter((line) => pattern.test(line)).length;

describe('mirrord attach picks how to intercept the command, and says what the layer can do for it under --interception preload', () => {
  const suite = podSuite();
  let dir: string;
  const programs = {} as Record<'goCgo' | 'goStatic' | 'cStatic', string>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mirrord-kinds-'));
    [programs.goCgo, programs.goStatic, programs.cStatic] = await Promise.all([
      buildGo(dir, 'go-cgo', true),
      buildGo(dir, 'go-static', false),
      buildC(dir, 'static-hello', 'static-hello.c', ['-static']),
    ]);
  }, 240_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const attach = (command: string[], env: NodeJS.ProcessEnv = {}, interception = 'preload') =>
    mirrord(['attach', '--agent-cmd', suite.pod.agentCommand, '--interception', interception, '--', ...command], { env: { ...process.env, ...env } }).done;

  it('auto: a Go program, with cgo or without, and a static C program run at the system call, with no warning; Go resolves through the pod with its own resolver', async () => {
    for (const go of [programs.goCgo, programs.goStatic]) {
      const result = await attach([go, SERVICE_NAME], { GODEBUG: 'madvdontneed=1' }, 'auto');
      expect(result).toMatchObject({ code: 0, stdout: `go: GREETING=hello from the pod GODEBUG=madvdontneed=1\n${SERVICE_NAME}: ${SERVICE_IP}\n` });
      expect(result.stderr).not.toMatch(/warning/);
    }
    const c = await attach([programs.cStatic], {}, 'auto');
    expect(c).toMatchObject({ code: 0, stdout: 'static hello\n' });
    expect(c.stderr).not.toMatch(/warning/);
  });

  it("a Go program with cgo resolves a pod-only name through the pod, keeping the user's GODEBUG, and hears once what it doesn't get", async () => {
    const result = await attach([programs.goCgo, SERVICE_NAME], { GODEBUG: 'madvdontneed=1' });
    expect(result.stdout).toBe(`go: GREETING=hello from the pod GODEBUG=madvdontneed=1,netdns=cgo\n${SERVICE_NAME}: ${SERVICE_IP}\n`);
    expect(result.code).toBe(0);
    expect(
      lines(result.stderr, /^mirrord: warning: .*go-cgo is a Go program: Go makes its own system calls, so only its DNS look-ups go through the pod/),
    ).toBe(1);
    expect(lines(result.stderr, /Go program|statically linked/)).toBe(1);
  });

  it("a static Go program is told it runs with this machine's network, DNS and files", async () => {
    const result = await attach([programs.goStatic]);
    expect(result).toMatchObject({ code: 0, stdout: 'go: GREETING=hello from the pod GODEBUG=\n' });
    expect(
      lines(
        result.stderr,
        /^mirrord: warning: .*go-static is a Go program, statically linked: .* it runs with this machine's network, DNS and files, not the pod's \(--interception syscall or auto reaches it\)$/,
      ),
    ).toBe(1);
    expect(lines(result.stderr, /Go program|statically linked/)).toBe(1);
  });

  it('a statically linked C program as the command is warned about once; started by a hooked shell, once too (by the layer)', async () => {
    const direct = await attach([programs.cStatic]);
    expect(direct).toMatchObject({ code: 0, stdout: 'static hello\n' });
    expect(lines(direct.stderr, /^mirrord: warning: .*static-hello is statically linked, so the layer cannot reach it/)).toBe(1);
    expect(lines(direct.stderr, /statically linked/)).toBe(1);
    const viaShell = await attach(['sh', '-c', programs.cStatic]);
    expect(viaShell).toMatchObject({ code: 0, stdout: 'static hello\n' });
    expect(lines(viaShell.stderr, /static-hello is statically linked/)).toBe(1);
  });
});
