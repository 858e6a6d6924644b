import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { noRulesLeft, podSuite } from './suite';
import { POD_IP, SERVICE_IP, WORKLOAD_IP } from '../harness/netns';
import { APP_PORT } from '../harness/pod';
import { eventually } from '../harness/eventually';
import { packagePath } from '../../common/package-root';
import type { Client } from '../../protocol/client';

jest.setTimeout(60_000);

/** How long a copied request's bytes must have stopped before the test's local side answers it (long: a loaded machine's pauses). */
const QUIET_MS = 3000;

/** Collects, per incoming stream, the bytes a mirroring client receives (and, in `kinds`, what each stream was announced as). */
function collectCopies(client: Client, kinds: string[] = []): string[] {
  const copies: string[] = [];
  client.onIncoming(({ socket, mode, kind, request }) => {
    expect(mode).toBe('mirror');
    kinds.push(request ? `${kind} ${request.method} ${request.path}` : kind);
    const index = copies.push('') - 1;
    socket.on('data', (chunk: Buffer) => (copies[index] += chunk.toString()));
    socket.on('error', () => undefined);
    // An answer the sidecar must drop: at once to a copied connection; to a copied request (which
    // a local server reads before it answers and closes) once the request's bytes have stopped.
    const answer = () => socket.end('HTTP/1.1 500 Local Answer Must Be Dropped\r\n\r\n');
    if (kind === 'connection') return answer();
    let quiet = setTimeout(answer, QUIET_MS);
    socket.on('data', () => (clearTimeout(quiet), (quiet = setTimeout(answer, QUIET_MS))));
    socket.once('close', () => clearTimeout(quiet));
  });
  return copies;
}

describe('mirror', () => {
  const suite = podSuite();

  it('leaves every answer byte-for-byte unchanged while the client gets copies', async () => {
    const paths = Array.from({ length: 10 }, (_, i) => `/m${i}?q=${i}`);
    const before = [];
    for (const path of paths) before.push((await suite.pod.request(path, { 'x-trace': path })).raw);

    const client = await suite.pod.connect();
    const copies = collectCopies(client);
    await client.subscribe({ port: APP_PORT, mode: 'mirror' });
    const during = [];
    for (const path of paths) during.push((await suite.pod.request(path, { 'x-trace': path })).raw);

    expect(during).toEqual(before);
    // Copied off the path (packet capture): the app's connections go straight to it, no rule in the pod.
    expect(await suite.pod.sidecarRules()).toEqual([]);
    // a connection is announced before its bytes arrive: wait for both
    await eventually(async () => {
      expect(copies.length).toBe(paths.length);
      for (const path of paths) {
        expect(copies.some((copy) => copy.startsWith(`GET ${path} HTTP/1.1\r\n`) && copy.includes(`x-trace: ${path}`))).toBe(true);
      }
    });
  });

  it('copies a connection whole and in order when its segments are lost on the way and in the pod (retransmits, out-of-order arrivals)', async () => {
    const { net } = suite.pod;
    // 1 MiB of numbered lines: a byte out of place shows.
    const body = Array.from({ length: 16384 }, (_, i) => `line ${String(i).padStart(8, '0')} of the upload.........................\n`).join('');
    const file = join(mkdtempSync(join(tmpdir(), 'mirror-upload-')), 'body');
    writeFileSync(file, body);
    const client = await suite.pod.connect();
    const copies = collectCopies(client);
    const notices: string[] = [];
    client.onNotice(({ message }) => notices.push(message));
    await client.subscribe({ port: APP_PORT, mode: 'mirror' });
    // Lost on the way (a router drops them): the client sends them again later, after segments
    // that follow them (out of order at the capture). Lost in the pod after the capture saw them
    // (an INPUT rule): sent again, seen twice (repeated). Segments of one MSS each (no
    // segmentation offload), so that many are dropped rather than a few large ones.
    const far = await net.lossyClient(0.03);
    await net.exec(far, 'ethtool', ['-K', 'eth0', 'tso', 'off', 'gso', 'off']);
    const drop = ['-p', 'tcp', '--dport', String(APP_PORT), '-m', 'statistic', '--mode', 'random', '--probability', '0.02', '-j', 'DROP'];
    await net.exec(net.pod, 'iptables', ['-w', '5', '-A', 'INPUT', ...drop]);
    try {
      const answer = await net.exec(far, 'curl', ['-sS', '--max-time', '60', '--data-binary', `@${file}`, `http://${POD_IP}:${APP_PORT}/upload`]);
      expect(answer.stdout).toBe(`app POST /upload body=${body.length}\n`);
      await eventually(async () => {
        const copy = copies.find((c) => c.startsWith('POST /upload HTTP/1.1\r\n')) ?? '';
        expect(copy.length).toBeGreaterThan(body.length);
        expect(copy.slice(copy.indexOf('\r\n\r\n') + 4)).toBe(body);
      }, 20_000);
      // The capture did have to mend the stream: segments out of order, and bytes seen twice.
      // (Its figures count from the sidecar's start: they are read when this test's capture stops.)
      const stopped = () => suite.pod.sidecarLog.split('\n').filter((line) => line.includes('packet capture stopped'));
      const earlier = stopped().length;
      client.close();
      await client.closed();
      const stats = await eventually(async () => {
        expect(stopped().length).toBeGreaterThan(earlier);
        return JSON.parse(stopped().at(-1)!) as { outOfOrder: number; repeated: number; lost: number };
      });
      expect(stats.outOfOrder).toBeGreaterThan(0);
      expect(stats.repeated).toBeGreaterThan(0);
      expect(stats.lost).toBe(0);
      expect(notices).toEqual([]);
    } finally {
      await net.exec(net.pod, 'iptables', ['-w', '5', '-D', 'INPUT', ...drop]);
      rmSync(dirname(file), { recursive: true, force: true });
    }
  }, 90_000);

  it('gives up the copy of a connection whose client leaves a hole it never fills (holding at most 4 MiB for it), and the app serves on', async () => {
    const { net } = suite.pod;
    const client = await suite.pod.connect();
    collectCopies(client);
    const notices: string[] = [];
    client.onNotice(({ message }) => notices.push(message));
    await client.subscribe({ port: APP_PORT, mode: 'mirror' });
    // The hostile client's kernel knows nothing of its hand-made connection: keep it from resetting it.
    const rst = ['-p', 'tcp', '--dport', String(APP_PORT), '--tcp-flags', 'RST', 'RST', '-j', 'DROP'];
    await net.exec(net.workload, 'iptables', ['-w', '5', '-A', 'OUTPUT', ...rst]);
    try {
      const sent = await net.exec(net.workload, 'python3', [packagePath('test/fixtures/tcp-holes.py'), WORKLOAD_IP, POD_IP, String(APP_PORT), '8']);
      expect(sent.stdout).toMatch(/^sent \d+ bytes beyond the hole/);
      await eventually(async () =>
        expect(notices).toEqual([`a mirrored connection on port ${APP_PORT} was cut off: a segment was missed (the capture dropped it)`]),
      );
      expect((await suite.pod.request('/after-the-holes')).body).toBe('app GET /after-the-holes body=0\n');
    } finally {
      await net.exec(net.workload, 'iptables', ['-w', '5', '-D', 'OUTPUT', ...rst]);
    }
  }, 60_000);

  it("copies only connections coming in: the pod's own connections to another pod's port of the same number are not its clients'", async () => {
    const watcher = await suite.pod.connect();
    const seen: string[] = [];
    watcher.onIncoming(({ socket, remote }) => {
      seen.push(remote.address);
      socket.resume();
    });
    // The echo service the pod reaches listens on 7000: mirror the pod's own port 7000.
    await watcher.subscribe({ port: 7000, mode: 'mirror' });
    const outgoing = await suite.pod.connect();
    const { stream } = await outgoing.connect('tcp', SERVICE_IP, 7000);
    stream.end('from the pod, out');
    let echoed = '';
    stream.on('data', (chunk: Buffer) => (echoed += chunk.toString()));
    await once(stream, 'end');
    expect(echoed).toBe('from the pod, out');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen).toEqual([]);
  });

  it('with a filter, copies every request of short connections, even when their bytes and their ends reach the sidecar at once', async () => {
    const client = await suite.pod.connect({ heartbeatMs: 60_000 });
    const kinds: string[] = [];
    collectCopies(client, kinds);
    await client.subscribe({ port: APP_PORT, mode: 'mirror', filter: { header: '^x-user: me$' } });
    // While the sidecar's loop is busy, the capture gathers each connection's request and its
    // FIN: the loop then gets them together (the app, off the path, answers meanwhile).
    await suite.pod.stallSidecar(1000);
    for (let i = 0; i < 10; i++) {
      // socat writes the request and shuts its side at once: both reach the capture together.
      const answer = await suite.pod.net.exec(suite.pod.net.workload, 'sh', [
        '-c',
        `printf 'GET /short/${i} HTTP/1.1\\r\\nHost: pod\\r\\nx-user: me\\r\\n\\r\\n' | socat -t 5 - TCP:${POD_IP}:${APP_PORT}`,
      ]);
      expect(answer.stdout).toMatch(new RegExp(`^HTTP/1.1 200 OK[\\s\\S]*app GET /short/${i} body=0`));
    }
    await eventually(async () => expect(kinds.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `request GET /short/${i}`).sort()));
  });

  it("through the sidecar when told not to capture: the app still sees the client's own address, and the copies come", async () => {
    await suite.pod.restartSidecar({ MIRRORD_MIRROR_CAPTURE: 'false' });
    try {
      const client = await suite.pod.connect();
      const copies = collectCopies(client);
      await client.subscribe({ port: APP_PORT, mode: 'mirror' });
      expect((await suite.pod.sidecarRules()).some((rule) => rule.includes('REDIRECT'))).toBe(true);
      expect((await suite.pod.request('/whoami')).body).toBe(`app peer ${WORKLOAD_IP}\n`);
      await eventually(async () => expect(copies.join('')).toContain('GET /whoami HTTP/1.1'));
      client.close();
      await client.closed();
      await noRulesLeft(suite.pod);
    } finally {
      await suite.pod.restartSidecar();
    }
  });

  it('lets several sessions mirror one port', async () => {
    const first = await suite.pod.connect();
    const second = await suite.pod.connect();
    const [a, b] = [collectCopies(first), collectCopies(second)];
    await first.subscribe({ port: APP_PORT, mode: 'mirror' });
    await second.subscribe({ port: APP_PORT, mode: 'mirror' });
    expect((await suite.pod.request('/both')).body).toBe('app GET /both body=0\n');
    await eventually(async () => {
      expect(a.join('')).toContain('GET /both HTTP/1.1');
      expect(b.join('')).toContain('GET /both HTTP/1.1');
    });
  });

  it.each([
    ['', undefined],
    [' (a filter on the path)', { path: '^/upload' }],
  ])("keeps the app's clients whole when the mirroring client%s vanishes mid-request", async (_, filter) => {
    const client = await suite.pod.connect();
    const copies = collectCopies(client);
    await client.subscribe({ port: APP_PORT, mode: 'mirror', ...(filter && { filter }) });
    // An upload that takes a second: the client drops (no close frame) while it streams.
    const upload = suite.pod.net.exec(suite.pod.net.workload, 'sh', [
      '-c',
      `(printf first-half; sleep 1; printf second-half) | curl -sS --max-time 10 -T - http://${POD_IP}:${APP_PORT}/upload`,
    ]);
    await eventually(async () => expect(copies.join('')).toContain('first-half'));
    client.peer.terminate('test kills the client');
    expect((await upload).stdout).toBe('app PUT /upload body=21\n');
    await noRulesLeft(suite.pod);
    expect((await suite.pod.request('/after')).body).toBe('app GET /after body=0\n');
  });

  it('with a filter, copies only the matching requests, each on its own stream, while an unfiltered mirror gets the connection', async () => {
    const filtered = await suite.pod.connect();
    const whole = await suite.pod.connect();
    const kinds: string[] = [];
    const [mine, all] = [collectCopies(filtered, kinds), collectCopies(whole)];
    await filtered.subscribe({ port: APP_PORT, mode: 'mirror', filter: { any: [{ header: '^x-user: me$' }, { body: { query: '$.user', matches: '^me$' } }] } });
    await whole.subscribe({ port: APP_PORT, mode: 'mirror' });
    // Four requests on one kept-alive connection: by header, not, by JSON body, not.
    const url = `http://${POD_IP}:${APP_PORT}`;
    const { stdout } = await suite.pod.net.exec(suite.pod.net.workload, 'curl', [
      '-sS',
      '--max-time',
      '10',
      '-H',
      'x-user: me',
      `${url}/one`,
      '--next',
      '-sS',
      `${url}/two`,
      '--next',
      '-sS',
      '-H',
      'content-type: application/json',
      '--data',
      '{"user":"me","n":3}',
      `${url}/three`,
      '--next',
      '-sS',
      '-H',
      'content-type: application/json',
      '--data',
      '{"user":"you"}',
      `${url}/four`,
    ]);
    // The app answers every request, unchanged.
    expect(stdout).toBe('app GET /one body=0\napp GET /two body=0\napp POST /three body=19\napp POST /four body=14\n');
    await eventually(async () => {
      expect(kinds.sort()).toEqual(['request GET /one', 'request POST /three']);
      expect(mine.sort()).toEqual([
        expect.stringMatching(/^GET \/one HTTP\/1\.1\r\n[^]*x-user: me\r\n/),
        expect.stringMatching(/^POST \/three HTTP\/1\.1\r\n[^]*\r\n\r\n\{"user":"me","n":3\}$/),
      ]);
      // One connection, all four requests in its copy.
      expect(all).toHaveLength(1);
      for (const path of ['/one', '/two', '/three', '/four']) expect(all[0]).toContain(` ${path} HTTP/1.1`);
    });
    await expect(filtered.subscribe({ port: APP_PORT + 1, mode: 'mirror', filter: { path: '(?!x)' } })).rejects.toThrow(/invalid path filter/);
  });
});
