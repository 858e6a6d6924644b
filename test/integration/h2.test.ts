/**
 * HTTP/2 (h2c, with prior knowledge and by Upgrade) through a filtered steal: on one client connection, the requests
 * a session's filter matches are answered by the local server, the others by the app, with their
 * bodies and trailers; curl and Node's HTTP/2 client as clients. A client that breaks the protocol
 * loses its own connection only. gRPC (@grpc/grpc-js) of all four kinds, with deadlines and
 * cancellation, through the same path; and grpc-go, a client and a server built here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { packagePath } from '../../common/package-root';
import { eventually } from '../harness/eventually';
import { POD_IP, WORKLOAD_IP, waitForOutput } from '../harness/netns';
import { APP_PORT, forwardIncoming } from '../harness/pod';
import { buildGo } from '../harness/programs';
import { noRulesLeft, podSuite } from './suite';

const { serve, answeredBy: answered } = require('../fixtures/grpc-echo') as {
  serve(name: string, port: number, cancelled: string[]): Promise<{ server: { forceShutdown(): void }; port: number }>;
  answeredBy(by: string): Record<string, unknown>;
};

jest.setTimeout(60_000);

interface Answer {
  status: number;
  servedBy: string;
  body: string;
  trailers: Record<string, string>;
  rstCode: number;
}

describe('HTTP/2 through a filtered steal', () => {
  const suite = podSuite();
  let local: http2.Http2Server;
  let localPort = 0;
  /** The requests the local server has read whole: `METHOD PATH body=N`. */
  const localSeen: string[] = [];

  beforeAll(async () => {
    // The session's local process: an h2c server, answering with a trailer as gRPC servers do.
    local = http2.createServer();
    local.on('stream', (stream, headers) => {
      let size = 0;
      stream.on('error', () => undefined);
      stream.on('data', (chunk: Buffer) => (size += chunk.length));
      stream.on('end', () => {
        if (stream.destroyed) return;
        localSeen.push(`${headers[':method']} ${headers[':path']} body=${size}`);
        if (headers[':path'] === '/big') {
          // An answer far past every flow-control window, for a client that won't read it.
          stream.respond({ ':status': 200, 'x-served-by': 'local' });
          return void stream.end(Buffer.alloc(32 * 1024 * 1024));
        }
        stream.respond({ ':status': 200, 'x-served-by': 'local' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'x-answered-by': 'local' }));
        stream.end(`local ${headers[':method']} ${headers[':path']} body=${size}\n`);
      });
    });
    await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
    localPort = (local.address() as AddressInfo).port;
  });
  afterAll(() => local?.close());

  /** The requests sent at once on one HTTP/2 connection from the other workload. */
  const onOneConnection = async (requests: { path: string; headers?: Record<string, string>; bodySize?: number; json?: unknown }[]): Promise<Answer[]> => {
    const { stdout } = await suite.pod.net.exec(suite.pod.net.workload, process.execPath, [
      packagePath('test/fixtures/h2-client.js'),
      `http://${POD_IP}:${APP_PORT}`,
      JSON.stringify(requests),
    ]);
    return JSON.parse(stdout) as Answer[];
  };

  it('routes each request of one connection by the filter: bodies, trailers and all', async () => {
    const client = await suite.pod.connect();
    const seen = forwardIncoming(client, localPort);
    await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-user: me$' } });
    const answers = await onOneConnection([
      { path: '/mine', headers: { 'x-user': 'me' } },
      { path: '/theirs' },
      { path: '/mine/upload', headers: { 'x-user': 'me' }, bodySize: 1_000_000 },
      { path: '/theirs/upload', headers: { 'x-user': 'you' }, bodySize: 700_000 },
    ]);
    expect(answers.map(({ status, servedBy, body, trailers }) => ({ status, servedBy, body, trailer: trailers['x-answered-by'] }))).toEqual([
      { status: 200, servedBy: 'local', body: 'local GET /mine body=0\n', trailer: 'local' },
      { status: 200, servedBy: 'app', body: 'app GET /theirs body=0\n', trailer: 'app' },
      { status: 200, servedBy: 'local', body: 'local POST /mine/upload body=1000000\n', trailer: 'local' },
      { status: 200, servedBy: 'app', body: 'app POST /theirs/upload body=700000\n', trailer: 'app' },
    ]);
    // The session's requests of that connection shared one stream to it.
    expect(seen.streams).toBe(1);

    // curl, with prior knowledge: one request each way.
    const curl = (headers: string[]) =>
      suite.pod.net
        .exec(suite.pod.net.workload, 'curl', ['-sS', '--http2-prior-knowledge', '--max-time', '10', ...headers, `http://${POD_IP}:${APP_PORT}/curl`])
        .then(({ stdout }) => stdout);
    expect(await curl(['-H', 'x-user: me'])).toBe('local GET /curl body=0\n');
    expect(await curl([])).toBe('app GET /curl body=0\n');

    // curl --http2 on http:// asks with an h2c Upgrade: the asking request (stream 1) and the
    // next one on that connection are each routed by the filter, and both answered over HTTP/2.
    const url = `http://${POD_IP}:${APP_PORT}`;
    const once = ['-sS', '--http2', '--max-time', '10', '-w', ' over HTTP/%{http_version} connection %{num_connects}\n'];
    const upgraded = await suite.pod.net.exec(suite.pod.net.workload, 'curl', [...once, '-H', 'x-user: me', `${url}/up1`, '--next', ...once, `${url}/up2`]);
    expect(upgraded.stdout).toBe('local GET /up1 body=0\n over HTTP/2 connection 1\napp GET /up2 body=0\n over HTTP/2 connection 0\n');

    client.close();
    await client.closed();
    await noRulesLeft(suite.pod);
  });

  it('a JSON body filter, with any_of: each stream by its body, or its header', async () => {
    const client = await suite.pod.connect();
    forwardIncoming(client, localPort);
    await client.subscribe({
      port: APP_PORT,
      mode: 'steal',
      filter: { any: [{ header: '^x-user: me$' }, { body: { query: '$.order.user', matches: '^me$' } }] },
    });
    const answers = await onOneConnection([
      { path: '/orders/1', json: { order: { user: 'me', items: [1, 2] } } },
      { path: '/orders/2', json: { order: { user: 'you' } } },
      { path: '/orders/3', headers: { 'x-user': 'me' }, json: { order: { user: 'you' } } },
      { path: '/orders/4', bodySize: 2_000_000, headers: { 'content-type': 'application/json' } },
    ]);
    expect(answers.map((a) => a.body)).toEqual([
      'local POST /orders/1 body=37\n',
      'app POST /orders/2 body=24\n',
      'local POST /orders/3 body=24\n',
      // Past the 1 MiB the filter reads: not matched, and passed on whole.
      'app POST /orders/4 body=2000000\n',
    ]);
    client.close();
    await client.closed();
  });

  it('a path filter, and a session that is gone: its requests reach the app', async () => {
    const client = await suite.pod.connect();
    forwardIncoming(client, localPort);
    await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { path: '^/api/' } });
    expect((await onOneConnection([{ path: '/api/x' }, { path: '/web/x' }, { path: '/whoami' }])).map((a) => a.body)).toEqual([
      'local GET /api/x body=0\n',
      'app GET /web/x body=0\n',
      `app peer ${WORKLOAD_IP}\n`, // the client's own address
    ]);
    client.close();
    await client.closed();
    await noRulesLeft(suite.pod);
    expect((await onOneConnection([{ path: '/api/x' }])).map((a) => a.body)).toEqual(['app GET /api/x body=0\n']);
  });

  it('mirrored with a filter: the app answers every stream, the local server gets copies of the matching ones', async () => {
    const client = await suite.pod.connect();
    forwardIncoming(client, localPort);
    localSeen.length = 0;
    await client.subscribe({ port: APP_PORT, mode: 'mirror', filter: { header: '^x-user: me$' } });
    const answers = await onOneConnection([
      { path: '/m1', headers: { 'x-user': 'me' } },
      { path: '/m2' },
      { path: '/m3/upload', headers: { 'x-user': 'me' }, bodySize: 300_000 },
      { path: '/m4/upload', bodySize: 200_000 },
    ]);
    expect(answers.map(({ servedBy, body }) => `${servedBy}: ${body}`)).toEqual([
      'app: app GET /m1 body=0\n',
      'app: app GET /m2 body=0\n',
      'app: app POST /m3/upload body=300000\n',
      'app: app POST /m4/upload body=200000\n',
    ]);
    await eventually(async () => expect([...localSeen].sort()).toEqual(['GET /m1 body=0', 'POST /m3/upload body=300000']));
    client.close();
    await client.closed();
    await noRulesLeft(suite.pod);
  });

  it("a filtered mirror whose local server reads nothing: a connection's copies are cut off together past 1 MiB, and the app answers all", async () => {
    // A local h2c server that never reads a body: its flow-control windows close at once.
    const stalled = http2.createServer();
    stalled.on('stream', (stream) => stream.on('error', () => undefined));
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    try {
      const client = await suite.pod.connect();
      const notices: string[] = [];
      client.onNotice(({ message }) => notices.push(message));
      forwardIncoming(client, (stalled.address() as AddressInfo).port);
      await client.subscribe({ port: APP_PORT, mode: 'mirror', filter: { header: '^x-user: me$' } });
      // Four uploads of 600 kB on one connection: each under 1 MiB, together well past it.
      const uploads = Array.from({ length: 4 }, (_, i) => ({ path: `/up/${i}`, headers: { 'x-user': 'me' }, bodySize: 600_000 }));
      expect((await onOneConnection(uploads)).map(({ servedBy, body }) => `${servedBy}: ${body}`)).toEqual(
        uploads.map(({ path }) => `app: app POST ${path} body=600000\n`),
      );
      await eventually(async () =>
        expect(notices).toContainEqual(`a mirrored connection on port ${APP_PORT} was cut off because this client could not keep up`),
      );
      client.close();
      await client.closed();
    } finally {
      stalled.close();
    }
  });

  it('a SETTINGS flood, a header past the limit and a client that stops reading each cost their own connection only', async () => {
    const client = await suite.pod.connect();
    forwardIncoming(client, localPort);
    await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-user: me$' } });
    const abuse = (mode: string) =>
      suite.pod.net
        .exec(suite.pod.net.workload, process.execPath, [packagePath('test/fixtures/h2-abuse.js'), `http://${POD_IP}:${APP_PORT}`, mode], { timeoutMs: 20_000 })
        .then(({ stdout }) =>
          stdout
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line) as Record<string, unknown>),
        );
    const served = async () =>
      expect((await onOneConnection([{ path: '/ok', headers: { 'x-user': 'me' } }, { path: '/ok' }])).map((a) => a.body)).toEqual([
        'local GET /ok body=0\n',
        'app GET /ok body=0\n',
      ]);
    // A client holding a stolen 32 MiB answer it never reads: the others are served meanwhile.
    const stuck = abuse('stops-reading');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await served();
    expect(await abuse('settings-flood')).toEqual([expect.objectContaining({ closed: true })]);
    const huge = await abuse('huge-headers');
    // Refused: the stream reset, or the connection ended; never an answer.
    expect(huge.some((line) => line.status !== undefined)).toBe(false);
    expect(huge.some((line) => (line.rstCode as number) > 0 || line.sessionError !== undefined)).toBe(true);
    expect(await stuck).toEqual([{ status: 200 }, { held: true }]);
    await served();
    expect((await suite.pod.request('/http1')).body).toBe('app GET /http1 body=0\n');
  });

  it('a client that breaks the protocol loses its own connection; the app and the session go on', async () => {
    const client = await suite.pod.connect();
    forwardIncoming(client, localPort);
    await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-user: me$' } });
    // The preface, then a frame that is no SETTINGS frame: a protocol error on the first frame.
    const broken = await suite.pod.net.exec(suite.pod.net.workload, 'sh', [
      '-c',
      `printf 'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n\\000\\000\\010\\007\\000\\000\\000\\000\\000garbage!' | socat -t 3 - TCP:${POD_IP}:${APP_PORT} | wc -c`,
    ]);
    expect(Number(broken.stdout.trim())).toBeLessThan(200); // at most a SETTINGS and a GOAWAY, then closed
    const answers = await onOneConnection([{ path: '/after', headers: { 'x-user': 'me' } }, { path: '/after' }]);
    expect(answers.map((a) => a.body)).toEqual(['local GET /after body=0\n', 'app GET /after body=0\n']);
    expect((await suite.pod.request('/http1')).body).toBe('app GET /http1 body=0\n');
  });
});

describe('gRPC through a filtered steal', () => {
  const suite = podSuite();
  const GRPC_PORT = 50051;
  /** The methods whose calls the local server saw cancelled. */
  const cancelledLocally: string[] = [];
  let local: { server: { forceShutdown(): void }; port: number };
  let app: ChildProcess;

  beforeAll(async () => {
    app = suite.pod.net.spawn(suite.pod.net.pod, process.execPath, [packagePath('test/fixtures/grpc-echo.js'), 'app', String(GRPC_PORT)]);
    await waitForOutput(app, /grpc listening/);
    local = await serve('local', 0, cancelledLocally);
  });
  afterAll(() => {
    app?.kill();
    local?.server.forceShutdown();
  });

  const calls = async (user: string) => {
    const { stdout } = await suite.pod.net.exec(suite.pod.net.workload, process.execPath, [
      packagePath('test/fixtures/grpc-client.js'),
      `${POD_IP}:${GRPC_PORT}`,
      user,
    ]);
    return JSON.parse(stdout) as Record<string, unknown>;
  };

  it('unary and all three streaming kinds, deadlines and cancellation: the matching calls locally, the others by the app', async () => {
    const client = await suite.pod.connect();
    const seen = forwardIncoming(client, local.port);
    await client.subscribe({ port: GRPC_PORT, mode: 'steal', filter: { header: '^x-user: me$' } });
    expect(await calls('me')).toEqual(answered('local'));
    // The deadline and the cancel reached the local server as cancellations of its calls.
    await eventually(async () => expect(cancelledLocally).toEqual(expect.arrayContaining(['Count', 'Unary'])));
    // One channel, one connection: its calls reached the local server over one stream.
    expect(seen.streams).toBe(1);
    expect(await calls('you')).toEqual(answered('app'));
    expect(seen.streams).toBe(1);
    client.close();
    await client.closed();
    await noRulesLeft(suite.pod);
  });
  it('with grpc-go built here: a Go client, and a Go server as the local process', async () => {
    // The demo app (kind/images/demo) is the Go one: `grpc-serve` and `grpc-call`.
    const dir = mkdtempSync(join(tmpdir(), 'mirrord-go-grpc-'));
    const demo = await buildGo(dir, 'demo', false, 'kind/images/demo');
    const goLocal = spawn(demo, ['grpc-serve', 'local-go', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = Number(/grpc listening on (\d+)/.exec(await waitForOutput(goLocal, /grpc listening on/))![1]);
      let output = '';
      goLocal.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const client = await suite.pod.connect();
      forwardIncoming(client, port);
      await client.subscribe({ port: GRPC_PORT, mode: 'steal', filter: { header: '^x-user: me$' } });
      const goCalls = async (user: string) =>
        JSON.parse((await suite.pod.net.exec(suite.pod.net.workload, demo, ['grpc-call', `${POD_IP}:${GRPC_PORT}`, user])).stdout) as Record<string, unknown>;
      expect(await goCalls('me')).toEqual(answered('local-go'));
      // grpc-go's deadline and cancel reached the Go server as cancellations of its calls.
      await eventually(async () => expect(output).toMatch(/cancelled Unary[^]*cancelled Count|cancelled Count[^]*cancelled Unary/));
      expect(await goCalls('you')).toEqual(answered('app'));
      // The Node client reaches the Go server the same way.
      expect(await calls('me')).toEqual(answered('local-go'));
      client.close();
      await client.closed();
      await noRulesLeft(suite.pod);
    } finally {
      goLocal.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 360_000);
});
