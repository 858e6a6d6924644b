import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../harness/eventually';
import { SERVICE_IP, SERVICE_NAME } from '../harness/netns';
import { APP_PORT } from '../harness/pod';
import { buildC } from '../harness/programs';
import { run } from '../harness/run';
import { layerSuite, PROBE_ARGS, PROBE_OUTPUT } from './suite';

jest.setTimeout(60_000);

describe('real programs under the layer', () => {
  const suite = layerSuite();
  const attach = suite.attach;
  const underLayer = suite.run;

  it('curl reaches a pod-only service by its pod-only name, and fails without the layer', async () => {
    await attach();
    await expect(run('curl', ['-sS', '--max-time', '3', `http://${SERVICE_NAME}:7080/x`])).rejects.toThrow(/resolve|unreachable/i);
    const result = await underLayer('curl', ['-sS', '--max-time', '5', `http://${SERVICE_NAME}:7080/x`]);
    expect(result.stdout).toBe('svc GET /x\n');
  });

  it('a child of a child is still served', async () => {
    await attach();
    const result = await underLayer('sh', ['-c', `sh -c 'curl -sS --max-time 5 http://${SERVICE_IP}:7080/nested'`]);
    expect(result.stdout).toBe('svc GET /nested\n');
  });

  it('sends UDP from the pod, connected or not, and reports where answers come from', async () => {
    await attach();
    const script = [
      'import socket',
      's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)',
      `s.sendto(b"unconnected", ("${SERVICE_IP}", 7001))`,
      'data, source = s.recvfrom(100); print(data.decode(), source[0], source[1])',
      'c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.settimeout(5)',
      `c.connect(("${SERVICE_NAME}", 7001)); c.send(b"connected"); print(c.recv(100).decode())`,
    ].join('\n');
    const result = await underLayer('python3', ['-c', script]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`svc:unconnected ${SERVICE_IP} 7001\nsvc:connected\n`);
  });

  it("resolves names with the pod's resolver (getent)", async () => {
    await attach();
    const result = await underLayer('getent', ['hosts', SERVICE_NAME]);
    expect(result.stdout).toMatch(new RegExp(`^${SERVICE_IP.replace(/\./g, '\\.')}\\s+${SERVICE_NAME}`));
  });

  it("reads files under the app's mounts from the pod, and others locally", async () => {
    await attach();
    expect((await underLayer('cat', ['/etc/config/app.yaml'])).stdout).toBe('greeting: hello from the pod\n');
    expect((await underLayer('cat', ['/etc/hostname'])).stdout).toBe(readFileSync('/etc/hostname', 'utf8'));
    expect((await underLayer('ls', ['/etc/config'])).stdout.split('\n').filter(Boolean).sort()).toEqual(['app.yaml', 'escape-absolute', 'escape-relative']);
    const missing = await underLayer('cat', ['/etc/config/nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/No such file/);
  });

  it('in write mode, writes a remote file back to the pod when it is closed', async () => {
    await attach({ fs: { mode: 'write' } });
    const result = await underLayer('sh', ['-c', 'echo "written from the laptop" > /etc/config/new.txt && cat /etc/config/new.txt']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('written from the laptop\n');
    expect(readFileSync(join(suite.pod.appRoot, 'etc/config/new.txt'), 'utf8')).toBe('written from the laptop\n');
    const python = await underLayer('python3', ['-c', 'open("/etc/config/app.yaml", "a").write("more: yes\\n")']);
    expect(python.stderr).toBe('');
    expect(readFileSync(join(suite.pod.appRoot, 'etc/config/app.yaml'), 'utf8')).toBe('greeting: hello from the pod\nmore: yes\n');
    // a program that exits without closing the file
    await underLayer('sh', ['-c', 'exec 3>/etc/config/new.txt; echo unclosed >&3']);
    expect(readFileSync(join(suite.pod.appRoot, 'etc/config/new.txt'), 'utf8')).toBe('unclosed\n');
    writeFileSync(join(suite.pod.appRoot, 'etc/config/app.yaml'), 'greeting: hello from the pod\n');
    rmSync(join(suite.pod.appRoot, 'etc/config/new.txt'));
  });

  it('keeps paths matching feature.fs.local on this machine', async () => {
    await attach({ fs: { mode: 'read', local: ['^/etc/config/app\\.yaml$'] } });
    const result = await underLayer('cat', ['/etc/config/app.yaml']);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/No such file/);
    expect((await underLayer('ls', ['/etc/config'])).stdout).toContain('escape-absolute');
  });

  it('applies feature.fs.read_only and read_write as regexes, where the mode keeps the mounts local', async () => {
    const data = join(suite.pod.appRoot, 'srv/data');
    const out = join(suite.pod.appRoot, 'srv/out');
    mkdirSync(data, { recursive: true });
    mkdirSync(out, { recursive: true });
    writeFileSync(join(data, 'in.json'), '{"from": "the pod"}\n');
    writeFileSync(join(data, 'in.txt'), 'not matched\n');
    try {
      await attach({ fs: { mode: 'localwithoverrides', readOnly: ['^/srv/data/.*\\.json$'], readWrite: ['^/srv/out/'] } });
      expect(await underLayer('cat', ['/srv/data/in.json'])).toMatchObject({ code: 0, stdout: '{"from": "the pod"}\n' });
      expect((await underLayer('cat', ['/srv/data/in.txt'])).stderr).toMatch(/No such file/);
      expect(await underLayer('sh', ['-c', 'echo report > /srv/out/r.txt && cat /srv/out/r.txt'])).toMatchObject({ code: 0, stdout: 'report\n', stderr: '' });
      expect(readFileSync(join(out, 'r.txt'), 'utf8')).toBe('report\n');
      // read_only: opened for writing, the path is this machine's (where /srv/data doesn't exist)
      expect((await underLayer('sh', ['-c', 'echo changed > /srv/data/in.json'])).stderr).toMatch(/No such file|cannot create/);
      expect(readFileSync(join(data, 'in.json'), 'utf8')).toBe('{"from": "the pod"}\n');
    } finally {
      rmSync(join(suite.pod.appRoot, 'srv'), { recursive: true, force: true });
    }
  });

  it('in read mode, writes stay local and the pod is untouched', async () => {
    await attach();
    const result = await underLayer('sh', ['-c', 'echo local > /etc/config/app.yaml']);
    expect(result.stderr).toMatch(/No such file|cannot create/);
    expect(readFileSync(join(suite.pod.appRoot, 'etc/config/app.yaml'), 'utf8')).toBe('greeting: hello from the pod\n');
  });

  it('steals a port a local python server listens on', async () => {
    await attach();
    suite.spawn('python3', ['-u', '-m', 'http.server', String(APP_PORT), '--bind', '0.0.0.0'], __dirname);
    await eventually(async () => expect((await suite.pod.request('/layer.test.ts')).raw).toMatch(/Server: SimpleHTTP/));
    const answer = await suite.pod.request('/layer.test.ts');
    expect(answer.body).toContain("describe('real programs under the layer'");
  });

  it('mirrors: the app answers while the local server sees the request', async () => {
    await attach({ incoming: { mode: 'mirror', portMapping: [], ignorePorts: [] } });
    const server = suite.spawn('python3', ['-u', '-m', 'http.server', String(APP_PORT)]);
    let log = '';
    server.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    await eventually(async () => {
      expect((await suite.pod.request('/mirrored')).body).toBe('app GET /mirrored body=0\n');
      expect(log).toContain('"GET /mirrored HTTP/1.1"');
    });
    // the local server saw the pod-side client, not the proxy
    expect(log).toMatch(/^198\.18\.0\.2 - - /m);
  });

  it('serves a C program: getaddrinfo, connect, getpeername, bind/listen, getsockname, open, stat', async () => {
    await attach();
    const dir = mkdtempSync(join(tmpdir(), 'mirrord-probe-'));
    const probe = await buildC(dir, 'probe', 'probe.c', ['-O1']);
    expect((await underLayer(probe, PROBE_ARGS)).stdout).toBe(PROBE_OUTPUT);
    rmSync(dir, { recursive: true, force: true });
  });

  it('warns that a statically linked program is out of reach', async () => {
    await attach();
    const dir = mkdtempSync(join(tmpdir(), 'mirrord-static-'));
    const result = await underLayer('sh', ['-c', await buildC(dir, 'static-hello', 'static-hello.c', ['-static'])]);
    expect(result.stdout).toBe('static hello\n');
    expect(result.stderr).toMatch(/static-hello is statically linked, so the layer cannot reach it/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the layer in a program started with an emptied environment', async () => {
    await attach();
    const result = await underLayer('env', ['-i', '/usr/bin/curl', '-sS', '--max-time', '5', `http://${SERVICE_NAME}:7080/clean-env`]);
    expect(result.stdout).toBe('svc GET /clean-env\n');
  });

  it('leaves a program that uses no network alone', async () => {
    await attach();
    expect(await underLayer('sh', ['-c', 'echo plain; exit 3'])).toEqual({ stdout: 'plain\n', stderr: '', code: 3 });
  });
});
