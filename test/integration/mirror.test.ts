import { noRulesLeft, podSuite } from './suite';
import { POD_IP, WORKLOAD_IP } from '../harness/netns';
import { APP_PORT } from '../harness/pod';
import { eventually } from '../harness/eventually';
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
    // a connection is announced before its bytes arrive: wait for both
    await eventually(async () => {
      expect(copies.length).toBe(paths.length);
      for (const path of paths) {
        expect(copies.some((copy) => copy.startsWith(`GET ${path} HTTP/1.1\r\n`) && copy.includes(`x-trace: ${path}`))).toBe(true);
      }
    });
  });

  it("passes a mirrored connection on to the app from the client's own address", async () => {
    expect((await suite.pod.request('/whoami')).body).toBe(`app peer ${WORKLOAD_IP}\n`);
    const client = await suite.pod.connect();
    collectCopies(client);
    await client.subscribe({ port: APP_PORT, mode: 'mirror' });
    expect((await suite.pod.request('/whoami')).body).toBe(`app peer ${WORKLOAD_IP}\n`);
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
