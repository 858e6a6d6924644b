/**
 * The syscall mode under `mirrord attach`: programs the preload layer can't reach, intercepted
 * at the system call. A static Go program (the demo app built with CGO_ENABLED=0: Go's own
 * resolver and system calls)
 * reads the pod's environment and files, reaches a pod-only service by name over TCP and UDP,
 * has a child process that is covered too, and serves the pod's port under a filtered steal
 * (started by env, a dynamic program, under --interception syscall: the filter covers what it
 * execs), its accepted connections naming the pod-side client; a
 * statically linked C program does the C calls (getaddrinfo, connect, getpeername, bind/listen,
 * getsockname, open, stat). `auto` picks the mode for them without a word of warning.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mirrord, type Mirrord } from '../e2e/mirrord';
import { POD_HOSTNAME, SERVICE_IP, SERVICE_NAME, WORKLOAD_IP } from '../harness/netns';
import { APP_PORT } from '../harness/pod';
import { buildC, buildGo } from '../harness/programs';
import { noRulesLeft, podSuite, PROBE_ARGS, PROBE_OUTPUT } from './suite';

jest.setTimeout(60_000);

describe('the syscall mode', () => {
  const suite = podSuite();
  let dir: string;
  /** The demo app (kind/images/demo), static: serve, get, udp, read, env, child. */
  let demo: string;
  let cProbe: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mirrord-syscall-'));
    [demo, cProbe] = await Promise.all([buildGo(dir, 'demo', false, 'kind/images/demo'), buildC(dir, 'probe-static', 'probe.c', ['-O1', '-static'])]);
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const attach = (command: string[], flags: string[] = []) => mirrord(['attach', '--agent-cmd', suite.pod.agentCommand, ...flags, '--', ...command]);
  const run = async (command: string[], flags: string[] = []) => {
    const result = await attach(command, flags).done;
    expect(result.stderr).not.toMatch(/warning|error/);
    return result;
  };

  it("a static Go program gets the pod's environment, host name and files, with no warning (auto)", async () => {
    expect((await run([demo, 'env', 'GREETING'])).stdout).toBe('GREETING=hello from the pod\n');
    expect((await run([demo, 'read', '/proc/sys/kernel/hostname'])).stdout).toBe(`${POD_HOSTNAME}\n`);
    expect((await run([demo, 'read', '/etc/config/app.yaml'])).stdout).toBe('greeting: hello from the pod\n');
  });

  it('resolves a pod-only name with its own resolver, and reaches the service over TCP and UDP from the pod', async () => {
    expect((await run([demo, 'get', `http://${SERVICE_NAME}:7080/from-go`])).stdout).toBe(
      `resolved ${SERVICE_NAME} to [${SERVICE_IP}]\nstatus 200\nsvc GET /from-go\n`,
    );
    expect((await run([demo, 'udp', `${SERVICE_NAME}:7001`, 'ping'])).stdout).toBe('udp svc:ping\n');
    expect((await run([demo, 'udp', `${SERVICE_IP}:7001`, 'by-address'])).stdout).toBe('udp svc:by-address\n');
  });

  it('covers the processes the program starts', async () => {
    expect((await run([demo, 'child', 'get', `http://${SERVICE_NAME}:7080/from-child`])).stdout).toBe(
      `child: resolved ${SERVICE_NAME} to [${SERVICE_IP}]\nstatus 200\nsvc GET /from-child\n`,
    );
  });

  it("serves the pod's port under a filtered steal: the matching requests to the Go server, the others to the app", async () => {
    let session: Mirrord | undefined;
    try {
      session = attach(
        ['env', `PORT=${APP_PORT}`, 'GRPC_PORT=0', 'DEMO_NAME=go', demo, 'serve'],
        ['--steal', '--http-header-filter', '^x-user: me$', '--interception', 'syscall'],
      );
      await session.waitFor(new RegExp(`subscribed port ${APP_PORT}`), 'stderr');
      const mine = await suite.pod.request('/mine', { 'x-user': 'me' });
      expect(mine.body).toBe('hello from go (GET /mine)\n');
      // The connection Go accepted names the pod-side client (the workload), not the local proxy.
      expect(mine.raw).toMatch(new RegExp(`\r\nX-Client: ${WORKLOAD_IP.replace(/\./g, '\\.')}\r\n`, 'i'));
      expect((await suite.pod.request('/theirs')).body).toBe('app GET /theirs body=0\n');
    } finally {
      session?.stop();
      await session?.done;
    }
    await noRulesLeft(suite.pod);
  });

  it('a statically linked C program: getaddrinfo, connect, getpeername, bind/listen, getsockname, open, stat', async () => {
    expect((await run([cProbe, ...PROBE_ARGS])).stdout).toBe(PROBE_OUTPUT);
  });

  it('--interception preload keeps the layer, and its warning for a static program', async () => {
    const result = await attach([demo, 'env', 'GREETING'], ['--interception', 'preload']).done;
    expect(result.stdout).toBe('GREETING=hello from the pod\n');
    expect(result.stderr).toMatch(/demo is a Go program, statically linked: .* it runs with this machine's network, DNS and files/);
  });
});
