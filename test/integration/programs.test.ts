/**
 * Real programs behave under the layer as they would in the pod: a program reaches its own
 * listening port, gives the pod's port back when it closes its listener, reaches the pod's
 * loopback, and sees the pod's host name. Each is checked against the same program without
 * the layer where the difference is the point.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath } from '../../common/package-root';
import { APP_PORT } from '../harness/pod';
import { eventually } from '../harness/eventually';
import { buildC } from '../harness/programs';
import { run } from '../harness/run';
import { POD_HOSTNAME, POD_IP, SERVICE_NAME, waitForOutput } from '../harness/netns';
import { layerSuite } from './suite';

jest.setTimeout(60_000);

/** A port nothing listens on, on this machine or in the pod, unless the test starts it. */
const POD_LOOPBACK_PORT = 5433;

describe('real programs behave as in the pod', () => {
  const suite = layerSuite();

  describe('their own listening port', () => {
    const selfConnect = [
      'import socket',
      'l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
      `l.bind(("0.0.0.0", ${APP_PORT})); l.listen()`,
      `c = socket.create_connection(("127.0.0.1", ${APP_PORT}), timeout=5)`,
      'a, peer = l.accept()',
      'c.sendall(b"ping"); print(a.recv(4).decode())',
      'print("client peer", c.getpeername()[1], "accepted local", a.getsockname()[1])',
    ].join('\n');

    it('python connects to the port it listens on, and both ends report the port it asked for', async () => {
      await suite.attach();
      const result = await suite.run('python3', ['-c', selfConnect]);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(`ping\nclient peer ${APP_PORT} accepted local ${APP_PORT}\n`);
    });

    it('a node server is reached by an HTTP client in another process of the same command', async () => {
      await suite.attach();
      const script = `
        const http = require('node:http');
        const server = http.createServer((req, res) => res.end('local node ' + req.url));
        server.listen(${APP_PORT}, () => {
          require('node:child_process').execFile('curl', ['-sS', '--max-time', '5', 'http://localhost:${APP_PORT}/health'], (error, stdout, stderr) => {
            console.log(error ? 'curl failed: ' + stderr : stdout);
            server.close();
          });
        });`;
      const result = await suite.run(process.execPath, ['-e', script]);
      expect(result.stdout).toBe('local node /health\n');
    });
  });

  it('closing the listener gives the pod its port back within a second; listening again takes it again', async () => {
    await suite.attach();
    const program = [
      'import socket, sys, threading',
      'def serve(l):',
      '    while True:',
      '        try: c, _ = l.accept()',
      '        except OSError: return',
      '        c.recv(4096); c.sendall(b"HTTP/1.1 200 OK\\r\\ncontent-length: 6\\r\\nconnection: close\\r\\n\\r\\nlocal\\n"); c.close()',
      'def listen():',
      '    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
      `    l.bind(("0.0.0.0", ${APP_PORT})); l.listen()`,
      '    threading.Thread(target=serve, args=(l,), daemon=True).start()',
      '    return l',
      'l = listen(); print("listening", flush=True)',
      'for line in sys.stdin:',
      '    if line.strip() == "close": l.shutdown(socket.SHUT_RDWR); l.close(); print("closed", flush=True)',
      '    if line.strip() == "listen": l = listen(); print("listening", flush=True)',
    ].join('\n');
    const child = suite.spawn('python3', ['-u', '-c', program]);
    await waitForOutput(child, /^listening/);
    await eventually(async () => expect((await suite.pod.request('/one')).body).toBe('local\n'));

    child.stdin!.write('close\n');
    await waitForOutput(child, /^closed/);
    const closedAt = Date.now();
    await eventually(async () => expect((await suite.pod.request('/two')).body).toBe('app GET /two body=0\n'), 5000);
    expect(Date.now() - closedAt).toBeLessThan(1500);
    expect(await suite.pod.net.natRules()).not.toContain('MIRRORD-');

    child.stdin!.write('listen\n');
    await waitForOutput(child, /^listening/);
    await eventually(async () => expect((await suite.pod.request('/three')).body).toBe('local\n'));
    child.stdin!.end();
  });

  it("a node server's close() gives the port back too", async () => {
    await suite.attach();
    const script = `
      const server = require('node:http').createServer((q, s) => s.end('local node\\n')).listen(${APP_PORT}, () => console.log('listening'));
      process.stdin.on('data', () => server.close(() => console.log('closed')));
      setTimeout(() => {}, 30000);`;
    const child = suite.spawn(process.execPath, ['-e', script]);
    await waitForOutput(child, /listening/);
    await eventually(async () => expect((await suite.pod.request('/node')).body).toBe('local node\n'));
    child.stdin!.write('close\n');
    await waitForOutput(child, /closed/);
    await eventually(async () => expect((await suite.pod.request('/node-closed')).body).toBe('app GET /node-closed body=0\n'), 3000);
  });

  it("a forked child's copy of the listener keeps the port after the parent closes its own", async () => {
    await suite.attach();
    const program = [
      'import os, socket, time',
      'l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
      `l.bind(("0.0.0.0", ${APP_PORT})); l.listen()`,
      'if os.fork() == 0:',
      '    while True:',
      '        c, _ = l.accept(); c.recv(4096)',
      '        c.sendall(b"HTTP/1.1 200 OK\\r\\ncontent-length: 6\\r\\nconnection: close\\r\\n\\r\\nchild\\n"); c.close()',
      'l.close(); print("parent closed", flush=True); time.sleep(30)',
    ].join('\n');
    const child = suite.spawn('python3', ['-u', '-c', program]);
    await waitForOutput(child, /^parent closed/);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // a sweep has run
    expect((await suite.pod.request('/forked')).body).toBe('child\n');
  });

  describe("the pod's loopback", () => {
    async function podLoopbackServer(): Promise<void> {
      const script = `require('node:http').createServer((q, s) => s.end('pod loopback ' + q.url + '\\n')).listen(${POD_LOOPBACK_PORT}, '127.0.0.1', () => console.log('ready'))`;
      const server = suite.pod.net.spawn(suite.pod.net.pod, process.execPath, ['-e', script]);
      await waitForOutput(server, /ready/);
    }

    it("a connection to 127.0.0.1 reaches a server on the pod's loopback (a database proxy beside the app)", async () => {
      await podLoopbackServer();
      await suite.attach();
      const url = `http://127.0.0.1:${POD_LOOPBACK_PORT}/db`;
      expect((await suite.run('curl', ['-sS', '--max-time', '5', url])).stdout).toBe('pod loopback /db\n');
      await expect(run('curl', ['-sS', '--max-time', '5', url])).rejects.toThrow(/Connection refused|Failed to connect/);
      const python = await suite.run('python3', [
        '-c',
        `import urllib.request; print(urllib.request.urlopen("http://localhost:${POD_LOOPBACK_PORT}/py").read().decode(), end="")`,
      ]);
      expect(python.stdout).toBe('pod loopback /py\n');
    });

    it('ignore_localhost keeps loopback on this machine', async () => {
      await podLoopbackServer();
      await suite.attach({ outgoing: { tcp: true, udp: true, ignoreLocalhost: true } });
      const result = await suite.run('curl', ['-sS', '--max-time', '5', `http://127.0.0.1:${POD_LOOPBACK_PORT}/db`]);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/Connection refused|Failed to connect/);
    });
  });

  describe('files and directories', () => {
    const walk = packagePath('test/fixtures/fs-walk.py');
    const change = packagePath('test/fixtures/fs-change.py');
    /** A tree in the pod's /srv/tree, and the same tree on this machine: the program's output must not tell them apart. */
    let localTree: string;
    beforeAll(() => {
      localTree = mkdtempSync(join(tmpdir(), 'mirrord-tree-'));
      for (const base of [join(suite.pod.appRoot, 'srv/tree'), localTree]) {
        mkdirSync(join(base, 'sub/deeper'), { recursive: true });
        writeFileSync(join(base, 'top.txt'), 'at the top\n');
        writeFileSync(join(base, 'sub/inner.txt'), 'one level down\n');
        writeFileSync(join(base, 'sub/deeper/last.txt'), 'two levels down\n');
      }
    });
    afterAll(() => rmSync(localTree, { recursive: true, force: true }));

    it('python walks a pod directory by fd (O_DIRECTORY, fwalk, scandir, dir_fd) as it walks the same tree locally', async () => {
      await suite.attach({ fs: { mode: 'read', readOnly: ['^/srv/tree'] } });
      const local = await run('python3', [walk, localTree]);
      const remote = await suite.run('python3', [walk, '/srv/tree']);
      expect(remote.stderr).toBe('');
      expect(remote.stdout).toBe(local.stdout);
      expect(remote.stdout).toContain("read last.txt b'two levels down\\n'");
    });

    it('node walks a pod directory (readdir, stat, lstat, fstat, existsSync, readFile) as it walks the same tree locally', async () => {
      await suite.attach({ fs: { mode: 'read', readOnly: ['^/srv/tree'] } });
      const script = packagePath('test/fixtures/fs-walk.js');
      const local = await run(process.execPath, [script, localTree]);
      const remote = await suite.run(process.execPath, [script, '/srv/tree']);
      expect(remote.stderr).toBe('');
      expect(remote.stdout).toBe(local.stdout);
      expect(remote.stdout).toContain('sub/deeper/last.txt file 16');
    });

    it('a C program lists a pod directory with *at calls on a directory fd as it lists the same tree locally', async () => {
      await suite.attach({ fs: { mode: 'read', readOnly: ['^/srv/tree'] } });
      const dir = mkdtempSync(join(tmpdir(), 'mirrord-dir-probe-'));
      const probe = await buildC(dir, 'dir-probe', 'dir-probe.c', ['-O1']);
      try {
        const sorted = (text: string) => text.split('\n').sort();
        const local = await run(probe, [join(localTree, 'sub')]);
        const remote = await suite.run(probe, ['/srv/tree/sub']);
        expect(remote.stderr).toBe('');
        expect(sorted(remote.stdout)).toEqual(sorted(local.stdout));
        expect(remote.stdout).toContain('inner.txt file 15 same-inode=1 "one level down"');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('ls lists a pod directory of 20,000 entries, more than one reply can carry, every one of them', async () => {
      const many = join(suite.pod.appRoot, 'srv/many');
      mkdirSync(many);
      try {
        for (let i = 0; i < 20_000; i++)
          writeFileSync(join(many, `an-entry-whose-name-is-long-enough-that-twenty-thousand-of-them-need-more-than-one-reply-${i}`), '');
        await suite.attach({ fs: { mode: 'read', readOnly: ['^/srv/many'] } });
        const remote = await suite.run('ls', ['-f', '/srv/many']);
        expect(remote.stderr).toBe('');
        expect(remote.stdout.split('\n').filter(Boolean).sort()).toEqual(['.', '..', ...readdirSync(many)].sort());
      } finally {
        rmSync(many, { recursive: true, force: true });
      }
    });

    it('find lists a pod directory as it lists the same tree locally', async () => {
      await suite.attach({ fs: { mode: 'read', readOnly: ['^/srv/tree'] } });
      const format = ['-printf', '%P %y %s\n'];
      const local = (await run('find', [localTree, ...format])).stdout.split('\n').sort();
      const remote = await suite.run('find', ['/srv/tree', ...format]);
      expect(remote.stderr).toBe('');
      expect(remote.stdout.split('\n').sort()).toEqual(local);
    });

    it('in write mode, mkdir, rename, chmod, utime, truncate, unlink and shutil.rmtree change the pod as they change a local tree', async () => {
      await suite.attach({ fs: { mode: 'write' } });
      const local = await run('python3', [change, localTree]);
      const remote = await suite.run('python3', [change, '/etc/config']);
      expect(remote.stderr).toBe('');
      expect(remote.stdout).toBe(local.stdout);
      expect(remote.stdout).toContain("after rmtree: ['keep']");
      expect(existsSync(join(suite.pod.appRoot, 'etc/config/work'))).toBe(false);
    });

    it('bash tools change the pod in write mode: mkdir -p, touch, mv, rm -r', async () => {
      await suite.attach({ fs: { mode: 'write' } });
      const script =
        'mkdir -p /etc/config/t/u && touch /etc/config/t/u/f && mv /etc/config/t/u/f /etc/config/t/g && ls /etc/config/t && rm -r /etc/config/t/u && ls /etc/config/t';
      const result = await suite.run('bash', ['-c', script]);
      expect(result).toMatchObject({ stdout: 'g\nu\ng\n', stderr: '', code: 0 });
      expect(readdirSync(join(suite.pod.appRoot, 'etc/config/t'))).toEqual(['g']);
      rmSync(join(suite.pod.appRoot, 'etc/config/t'), { recursive: true });
    });

    it('in read mode, a change to a pod path is made on this machine, as mirrord does: the pod is untouched', async () => {
      await suite.attach();
      const result = await suite.run('python3', [
        '-c',
        'import os\ntry:\n  os.mkdir("/etc/config/made-here")\nexcept OSError as e: print(e.strerror)\nprint(os.path.isdir("/etc/config"))',
      ]);
      expect(result.stdout).toBe('No such file or directory\nTrue\n');
      expect(existsSync(join(suite.pod.appRoot, 'etc/config/made-here'))).toBe(false);
    });

    it('a rename between a pod path and a local one is across devices (EXDEV), so mv copies', async () => {
      await suite.attach({ fs: { mode: 'write' } });
      writeFileSync(join(suite.pod.appRoot, 'etc/config/moving.txt'), 'moves to the laptop\n');
      const target = join(localTree, 'moved.txt');
      const result = await suite.run('bash', [
        '-c',
        `python3 -c 'import os; os.rename("/etc/config/moving.txt", "${target}")' 2>&1 | tail -1; mv /etc/config/moving.txt ${target} && cat ${target}`,
      ]);
      expect(result.stdout).toBe("OSError: [Errno 18] Invalid cross-device link: '/etc/config/moving.txt' -> '" + target + "'\nmoves to the laptop\n");
      expect(existsSync(join(suite.pod.appRoot, 'etc/config/moving.txt'))).toBe(false);
    });
  });

  describe("the pod's host name", () => {
    it("gethostname and uname report it (python, hostname, uname -n), and feature.hostname: false keeps this machine's", async () => {
      await suite.attach();
      const python = await suite.run('python3', ['-c', 'import os, socket; print(socket.gethostname(), os.uname().nodename)']);
      expect(python.stdout).toBe(`${POD_HOSTNAME} ${POD_HOSTNAME}\n`);
      expect((await suite.run('uname', ['-n'])).stdout).toBe(`${POD_HOSTNAME}\n`);
      expect((await suite.run('hostname', [])).stdout).toBe(`${POD_HOSTNAME}\n`);
      await suite.pod.closeClients();
      await suite.attach({ hostname: false });
      expect((await suite.run('uname', ['-n'])).stdout).toBe((await run('uname', ['-n'])).stdout);
    });

    it("Java's InetAddress.getLocalHost finds the pod by its name", async () => {
      await suite.attach();
      const dir = mkdtempSync(join(tmpdir(), 'mirrord-java-'));
      const source = join(dir, 'LocalHost.java');
      writeFileSync(
        source,
        'public class LocalHost { public static void main(String[] a) throws Exception { System.out.println(java.net.InetAddress.getLocalHost()); } }\n',
      );
      try {
        const result = await suite.run('java', [source]);
        expect(result.stdout).toBe(`${POD_HOSTNAME}/${POD_IP}\n`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("mirrord's feature.fs and network filters, on real programs", () => {
    it('fs.not_found makes a pod path missing; fs.mapping reads one pod path under another name', async () => {
      mkdirSync(join(suite.pod.appRoot, 'srv/real'), { recursive: true });
      writeFileSync(join(suite.pod.appRoot, 'srv/real/settings.ini'), 'mapped = yes\n');
      try {
        // the mapped path is then decided like any other: /srv/real is the pod's by read_only
        await suite.attach({
          fs: { mode: 'read', readOnly: ['^/srv/real/'], notFound: ['^/etc/config/app\\.yaml$'], mapping: [['^/opt/alias', '/srv/real']] },
        });
        const missing = await suite.run('cat', ['/etc/config/app.yaml']);
        expect(missing.stderr).toMatch(/No such file/);
        expect((await suite.run('ls', ['/etc/config'])).stdout).toContain('escape-absolute');
        expect(await suite.run('cat', ['/opt/alias/settings.ini'])).toMatchObject({ code: 0, stdout: 'mapped = yes\n' });
      } finally {
        rmSync(join(suite.pod.appRoot, 'srv/real'), { recursive: true, force: true });
      }
    });

    it('an outgoing filter entry naming a host matches the addresses the program resolved it to', async () => {
      const url = `http://${SERVICE_NAME}:7080/filtered`;
      await suite.attach({ outgoing: { tcp: true, udp: true, filter: { local: [SERVICE_NAME] } } });
      // resolved in the pod, then kept on this machine, where the test range is unreachable
      expect((await suite.run('curl', ['-sS', '--max-time', '5', url])).stderr).toMatch(/unreachable|Failed to connect/i);
      await suite.pod.closeClients();
      await suite.attach({ outgoing: { tcp: true, udp: true, filter: { remote: [`${SERVICE_NAME}:7080`] } } });
      expect((await suite.run('curl', ['-sS', '--max-time', '5', url])).stdout).toBe('svc GET /filtered\n');
    });

    it('incoming.ignore_localhost: a server bound to loopback stays local, one bound to all addresses is subscribed', async () => {
      await suite.attach({ incoming: { mode: 'steal', portMapping: [], ignorePorts: [], ignoreLocalhost: true } });
      const serve = (host: string) =>
        suite.spawn(process.execPath, [
          '-e',
          `require('node:http').createServer((q, s) => s.end('local ${host}\\n')).listen(${APP_PORT}, '${host}', () => console.log('up'))`,
        ]);
      const onLoopback = serve('127.0.0.1');
      await waitForOutput(onLoopback, /up/);
      expect((await suite.pod.request('/lo')).body).toBe('app GET /lo body=0\n');
      expect(await suite.pod.net.natRules()).not.toContain('MIRRORD-');
      onLoopback.kill();
      await waitForOutput(serve('0.0.0.0'), /up/);
      await eventually(async () => expect((await suite.pod.request('/all')).body).toBe('local 0.0.0.0\n'));
    });

    it("a DNS filter keeps the listed names to this machine's resolver", async () => {
      await suite.attach({ dnsFilter: { local: [SERVICE_NAME] } });
      // In a network namespace of its own, this machine's resolver answers nothing (and sends
      // nothing off the machine); the pod's answers still arrive over the layer's Unix socket.
      expect((await suite.run('unshare', ['-n', 'getent', 'hosts', SERVICE_NAME])).code).not.toBe(0);
      expect((await suite.run('unshare', ['-n', 'getent', 'hosts', POD_HOSTNAME])).stdout).toMatch(new RegExp(`^${POD_IP.replace(/\./g, '\\.')}\\s`));
    });
  });
});
