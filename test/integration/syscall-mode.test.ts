/**
 * The syscall mode under `mirrord attach`: programs the preload layer can't reach, intercepted
 * at the system call. A static Go program (the demo app built with CGO_ENABLED=0: Go's own
 * resolver and system calls)
 * reads the pod's environment and files, reaches a pod-only service by name over TCP and UDP,
 * has a child process that is covered too, and serves the pod's port under a filtered steal
 * (started by env, a dynamic program, under --interception syscall: the filter covers what it
 * execs), its accepted connections naming the pod-side client, and writes a pod file; a
 * statically linked C program does the C calls (getaddrinfo, connect, getpeername, bind/listen,
 * getsockname, open, stat), linked with glibc and with musl (whose resolver sends unconnected
 * datagrams and believes only answers from its name server's address); a blocking C client
 * exchanges datagrams naming the server (sendto/recvfrom, sendmsg/recvmsg), a blocking C server
 * accepts the pod's connections with the client's address, and a program blocked in accept
 * still runs its signal handlers. `auto` picks the mode for them without a word of warning.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mirrord, type Mirrord } from '../e2e/mirrord';
import { POD_HOSTNAME, SERVICE_IP, SERVICE_NAME, WORKLOAD_IP } from '../harness/netns';
import { APP_PORT } from '../harness/pod';
import { packagePath } from '../../common/package-root';
import { eventually } from '../harness/eventually';
import { buildC, buildGo } from '../harness/programs';
import { run as runProgram } from '../harness/run';
import { noRulesLeft, podSuite, PROBE_ARGS, PROBE_OUTPUT } from './suite';

jest.setTimeout(60_000);

describe('the syscall mode', () => {
  const suite = podSuite();
  let dir: string;
  /** The demo app (kind/images/demo), static: serve, get, udp, read, env, child. */
  let demo: string;
  let cProbe: string;
  let muslProbe: string;
  let datagramProbe: string;
  let acceptPeer: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mirrord-syscall-'));
    const musl = join(dir, 'probe-musl');
    [demo, cProbe, datagramProbe, acceptPeer] = await Promise.all([
      buildGo(dir, 'demo', false, 'kind/images/demo'),
      buildC(dir, 'probe-static', 'probe.c', ['-O1', '-static']),
      buildC(dir, 'datagram-probe', 'datagram-probe.c', ['-O1', '-static']),
      buildC(dir, 'accept-peer', 'accept-peer.c', ['-O1', '-static']),
      runProgram('musl-gcc', ['-O1', '-static', '-o', musl, packagePath('test/fixtures/probe.c')]),
    ]);
    muslProbe = musl;
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
    // The answer says it came from the service (Go's ReadFrom: recvfrom naming the sender), not from the proxy's relay.
    expect((await run([demo, 'udp', `${SERVICE_NAME}:7001`, 'ping'])).stdout).toBe(`udp svc:ping from ${SERVICE_IP}:7001\n`);
    expect((await run([demo, 'udp', `${SERVICE_IP}:7001`, 'by-address'])).stdout).toBe(`udp svc:by-address from ${SERVICE_IP}:7001\n`);
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

  it("the same program linked with musl: musl's resolver gets its answers from the name server it asked", async () => {
    expect((await run([muslProbe, ...PROBE_ARGS])).stdout).toBe(PROBE_OUTPUT);
  });

  it('a blocking C client of an UDP service: sendto/recvfrom and sendmsg/recvmsg name the service, as do the answers', async () => {
    expect((await run([datagramProbe, SERVICE_IP, '7001'])).stdout).toBe(
      [`recvfrom: svc:by-sendto from ${SERVICE_IP}:7001`, `recvmsg: svc:by-sendmsg from ${SERVICE_IP}:7001`, 'recvmsg: namelen 16 flags 0', ''].join('\n'),
    );
  });

  it("writes a pod file in write mode: what the program wrote is the pod's once it closes the file", async () => {
    const out = join(suite.pod.appRoot, 'srv/out');
    mkdirSync(out, { recursive: true });
    try {
      await run([demo, 'write', '/srv/out/report.txt', 'a first, longer report'], ['--fs-mode', 'write']);
      expect(readFileSync(join(out, 'report.txt'), 'utf8')).toBe('a first, longer report\n');
      // O_TRUNC: the second write replaces the first.
      await run([demo, 'write', '/srv/out/report.txt', 'second'], ['--fs-mode', 'write']);
      expect(readFileSync(join(out, 'report.txt'), 'utf8')).toBe('second\n');
      expect((await run([demo, 'read', '/srv/out/report.txt'])).stdout).toBe('second\n');
    } finally {
      rmSync(join(suite.pod.appRoot, 'srv'), { recursive: true, force: true });
    }
  });

  it('a file closed is back in the pod while the program runs, and a program appending line by line reads back every line', async () => {
    const out = join(suite.pod.appRoot, 'srv/out');
    mkdirSync(out, { recursive: true });
    const logger = [
      'import sys, time',
      'for n in range(3):',
      '    with open("/srv/out/log.txt", "a") as log: log.write(f"line {n}\\n")',
      'print(open("/srv/out/log.txt").read(), end="", flush=True)',
      'print("written", flush=True)',
      'time.sleep(60)',
    ].join('\n');
    let session: Mirrord | undefined;
    try {
      session = attach(['python3', '-u', '-c', logger], ['--fs-mode', 'write', '--interception', 'syscall']);
      await session.waitFor(/written\n/, 'stdout');
      expect(session.output().stdout).toBe('line 0\nline 1\nline 2\nwritten\n');
      // Still running: its closes sent the lines back, not its end.
      expect(readFileSync(join(out, 'log.txt'), 'utf8')).toBe('line 0\nline 1\nline 2\n');
    } finally {
      session?.stop();
      await session?.done;
      rmSync(join(suite.pod.appRoot, 'srv'), { recursive: true, force: true });
    }
  });

  it("a blocking C server's accept gives the pod-side client's address", async () => {
    let session: Mirrord | undefined;
    try {
      session = attach([acceptPeer, String(APP_PORT)], ['--steal']);
      await session.waitFor(new RegExp(`subscribed port ${APP_PORT}`), 'stderr');
      expect((await suite.pod.request('/first')).body).toBe(`accepted from ${WORKLOAD_IP}\n`);
      expect((await suite.pod.request('/second')).body).toBe(`accepted from ${WORKLOAD_IP}\n`);
    } finally {
      session?.stop();
      await session?.done;
    }
    await noRulesLeft(suite.pod);
  });

  it('a program blocked in accept on an intercepted port runs its signal handler at once, then goes on accepting', async () => {
    const server = [
      'import os, signal, socket',
      'signal.signal(signal.SIGUSR1, lambda *_: print("handled SIGUSR1", flush=True))',
      'print(f"pid {os.getpid()}", flush=True)',
      'listener = socket.socket()',
      'listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
      `listener.bind(("0.0.0.0", ${APP_PORT}))`,
      'listener.listen()',
      'while True:',
      '    connection, (host, _) = listener.accept()',
      '    connection.recv(4096)',
      '    body = f"accepted from {host}\\n".encode()',
      '    connection.sendall(b"HTTP/1.1 200 OK\\r\\nConnection: close\\r\\nContent-Length: %d\\r\\n\\r\\n%s" % (len(body), body))',
      '    connection.close()',
    ].join('\n');
    let session: Mirrord | undefined;
    try {
      session = attach(['python3', '-u', '-c', server], ['--steal', '--interception', 'syscall']);
      await session.waitFor(new RegExp(`subscribed port ${APP_PORT}`), 'stderr');
      await session.waitFor(/pid \d+/, 'stdout');
      expect((await suite.pod.request('/before')).body).toBe(`accepted from ${WORKLOAD_IP}\n`);
      const pid = Number(/pid (\d+)/.exec(session.output().stdout)![1]);
      // Blocked in the trapped accept (accept4, 288), mirrord waiting for a connection in its place.
      await eventually(async () => {
        expect(readFileSync(`/proc/${pid}/wchan`, 'utf8')).toMatch(/^seccomp_do_user_notification/);
        expect(readFileSync(`/proc/${pid}/syscall`, 'utf8')).toMatch(/^288 /);
      }, 10_000);
      process.kill(pid, 'SIGUSR1');
      await session.waitFor(/handled SIGUSR1/, 'stdout');
      expect((await suite.pod.request('/after')).body).toBe(`accepted from ${WORKLOAD_IP}\n`);
    } finally {
      session?.stop();
      await session?.done;
    }
    await noRulesLeft(suite.pod);
  });

  it('--interception preload keeps the layer, and its warning for a static program', async () => {
    const result = await attach([demo, 'env', 'GREETING'], ['--interception', 'preload']).done;
    expect(result.stdout).toBe('GREETING=hello from the pod\n');
    expect(result.stderr).toMatch(/demo is a Go program, statically linked: .* it runs with this machine's network, DNS and files/);
  });
});
