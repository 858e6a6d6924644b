import http from 'node:http';
import net from 'node:net';
import { POD_IP, WORKLOAD_IP } from '../harness/netns';
import { noRulesLeft, podSuite } from './suite';
import { forwardIncoming, startLocalServer, APP_PORT } from '../harness/pod';

jest.setTimeout(60_000);

describe('steal', () => {
  const suite = podSuite();
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));
  const url = (path: string) => `http://${POD_IP}:${APP_PORT}${path}`;
  const alice = ['-H', 'x-user: alice'];
  /** curl from the other workload: each request (its options and URL) in turn, on one kept-alive connection. */
  const curlOneConnection = (...requests: string[][]) =>
    suite.pod.net.exec(suite.pod.net.workload, 'curl', [
      '--max-time',
      '10',
      ...requests.flatMap((request, i) => [...(i ? ['--next'] : []), '-sS', ...request]),
    ]);

  it('takes the whole port while subscribed, and gives it back with no rules left', async () => {
    expect((await suite.pod.request('/before')).body).toBe('app GET /before body=0\n');
    const client = await suite.pod.connect();
    forwardIncoming(client, suite.local.port);
    await client.subscribe({ port: APP_PORT, mode: 'steal' });
    expect(await suite.pod.net.natRules()).toContain(`--dport ${APP_PORT} -j REDIRECT`);

    const stolen = await suite.pod.request('/stolen', {}, ['-d', 'some body']);
    expect(stolen.body).toBe('local POST /stolen body=9\n');
    expect(suite.local.requests).toContain('POST /stolen');

    client.close();
    await client.closed();
    await noRulesLeft(suite.pod);
    expect((await suite.pod.request('/after')).body).toBe('app GET /after body=0\n');
  });

  it('a JSON body filter steals the requests whose body matches, on one keep-alive connection; the others reach the app with their bodies', async () => {
    const client = await suite.pod.connect();
    forwardIncoming(client, suite.local.port);
    await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { method: 'POST', body: { query: '$.items[*].sku', matches: '^A-' } } });
    const json = (value: unknown) => ['-H', 'content-type: application/json', '-d', JSON.stringify(value)];
    const answers = await curlOneConnection(
      [...json({ items: [{ sku: 'B-7' }, { sku: 'A-1' }] }), url('/mine')],
      [...json({ items: [{ sku: 'B-7' }] }), url('/theirs')],
      // Chunked, and not JSON by its type: the filter can't match either way.
      ['-H', 'Transfer-Encoding: chunked', '-d', '{"items":[{"sku":"A-1"}]}', url('/text')],
      [url('/get')],
    );
    expect(answers.stdout).toBe('local POST /mine body=39\napp POST /theirs body=25\napp POST /text body=25\napp GET /get body=0\n');
    client.close();
    await client.closed();
    await noRulesLeft(suite.pod);
  });

  it("passes unmatched requests on from the pod's address, with no rules beyond the nat chain, when told not to keep the client's", async () => {
    await suite.pod.restartSidecar({ MIRRORD_KEEP_CLIENT_ADDRESS: 'false' });
    try {
      const client = await suite.pod.connect();
      forwardIncoming(client, suite.local.port);
      await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-user: alice$' } });
      expect((await suite.pod.request('/whoami', { 'x-user': 'bob' })).body).toBe(`app peer ${POD_IP}\n`);
      expect((await suite.pod.sidecarRules()).filter((rule) => !rule.includes('MIRRORD_INCOMING'))).toEqual([]);
      client.close();
      await client.closed();
      await noRulesLeft(suite.pod);
    } finally {
      await suite.pod.restartSidecar();
    }
  });

  it('with a header filter steals only matching requests; the rest reach the app unchanged', async () => {
    const client = await suite.pod.connect();
    forwardIncoming(client, suite.local.port);
    await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-user: alice$' } });

    expect((await suite.pod.request('/a', { 'x-user': 'alice' })).body).toBe('local GET /a body=0\n');
    const other = await suite.pod.request('/b', { 'x-user': 'bob' });
    expect(other.body).toBe('app GET /b body=0\n');
    expect(other.raw).toContain('x-served-by: app');
    // from the client's own address, as without a session
    expect((await suite.pod.request('/whoami', { 'x-user': 'bob' })).body).toBe(`app peer ${WORKLOAD_IP}\n`);
    // not HTTP at all: straight to the app, whose HTTP server rejects it
    const raw = await suite.pod.net.exec(suite.pod.net.workload, 'sh', ['-c', `printf 'HELLO THERE\\r\\n\\r\\n' | socat -t 5 - TCP:${POD_IP}:${APP_PORT}`]);
    expect(raw.stdout).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    // chunked request bodies and keep-alive: two requests on one connection, one stolen, one not
    const both = await curlOneConnection([...alice, '-H', 'Transfer-Encoding: chunked', '-d', 'chunky', url('/one')], [url('/two')]);
    expect(both.stdout).toBe('local POST /one body=6\napp GET /two body=0\n');

    client.close();
    await client.closed();
    await noRulesLeft(suite.pod);
  });

  it('reuses one stream for the stolen requests of one keep-alive client connection, and a new one per connection', async () => {
    const client = await suite.pod.connect();
    const seen = forwardIncoming(client, suite.local.port);
    await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-user: alice$' } });
    // curl keeps one connection for all of these
    const oneConnection = await curlOneConnection([...alice, url('/k1')], [url('/k2')], [...alice, url('/k3')], [...alice, '-d', 'x', url('/k4')]);
    expect(oneConnection.stdout).toBe('local GET /k1 body=0\napp GET /k2 body=0\nlocal GET /k3 body=0\nlocal POST /k4 body=1\n');
    expect(seen.streams).toBe(1);
    expect((await suite.pod.request('/k5', { 'x-user': 'alice' })).body).toBe('local GET /k5 body=0\n');
    expect(seen.streams).toBe(2);
    client.close();
    await client.closed();
  });

  it("closes an idle kept-alive stream before the local server's announced keep-alive timeout", async () => {
    const announcing = (keepAliveTimeout?: number) => {
      const server = http.createServer((req, res) => res.end(`local ${req.url}\n`));
      if (keepAliveTimeout) server.keepAliveTimeout = keepAliveTimeout;
      cleanups.push(() => server.close());
      return new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
    };
    // Two requests on one client connection, 1.5 s apart: a server announcing `timeout=5` (Node's
    // default) keeps the stream for the second; one announcing `timeout=2` has it closed after 1 s.
    for (const [keepAliveTimeout, streams] of [
      [undefined, 1],
      [2000, 2],
    ] as const) {
      const client = await suite.pod.connect();
      const seen = forwardIncoming(client, await announcing(keepAliveTimeout));
      await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-user: alice$' } });
      const paced = await suite.pod.net.exec(suite.pod.net.workload, process.execPath, [
        require.resolve('../fixtures/paced-get.js'),
        url(''),
        '1500',
        'x-user: alice',
        '/i1',
        '/i2',
      ]);
      expect(paced.stdout).toBe('local /i1\nlocal /i2\n');
      expect(seen.streams).toBe(streams);
      client.close();
      await client.closed();
    }
  });

  it('sends a GET again on a new stream when the local server closed the kept-alive one under it, never a POST', async () => {
    // A local server that answers the first request of each connection and drops the connection
    // when a second one arrives, as a server closing an idle connection just as a request comes.
    const served: string[] = [];
    const fickle = net.createServer((socket) => {
      let requests = 0;
      socket.on('data', (chunk: Buffer) => {
        const line = chunk.toString('latin1').split('\r\n')[0];
        if (++requests > 1) return socket.destroy();
        served.push(line);
        const body = `fickle ${line}\n`;
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      });
    });
    await new Promise<void>((resolve) => fickle.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => fickle.close());
    const client = await suite.pod.connect();
    forwardIncoming(client, (fickle.address() as net.AddressInfo).port);
    await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-user: alice$' } });
    const gets = await curlOneConnection([...alice, url('/g1')], [...alice, url('/g2')]);
    expect(gets.stdout).toBe('fickle GET /g1 HTTP/1.1\nfickle GET /g2 HTTP/1.1\n');
    const posts = await curlOneConnection([...alice, url('/g3')], [...alice, '-d', 'x', url('/p1')]);
    expect(posts.stdout).toMatch(/^fickle GET \/g3 HTTP\/1\.1\nmirrord: socket hang up\n$/);
    expect(served).toEqual(['GET /g1 HTTP/1.1', 'GET /g2 HTTP/1.1', 'GET /g3 HTTP/1.1']);
  });

  it('lets filtered stealers share a port, and sends each its own requests', async () => {
    const first = await suite.pod.connect();
    const second = await suite.pod.connect();
    const otherLocal = await startLocalServer();
    cleanups.push(() => otherLocal.close());
    forwardIncoming(first, suite.local.port);
    forwardIncoming(second, otherLocal.port);
    await first.subscribe({ port: APP_PORT, mode: 'steal', filter: { path: '^/first' } });
    await second.subscribe({ port: APP_PORT, mode: 'steal', filter: { path: '^/second' } });

    expect((await suite.pod.request('/first/x')).body).toBe('local GET /first/x body=0\n');
    expect((await suite.pod.request('/second/y')).body).toBe('local GET /second/y body=0\n');
    expect(otherLocal.requests).toEqual(['GET /second/y']);
    expect((await suite.pod.request('/neither')).body).toBe('app GET /neither body=0\n');

    await expect(first.subscribe({ port: APP_PORT, mode: 'mirror' })).rejects.toThrow(/already subscribed/);
    const third = await suite.pod.connect();
    await expect(third.subscribe({ port: APP_PORT, mode: 'steal' })).rejects.toThrow(/unfiltered steal would take its traffic/);
    for (const c of [first, second, third]) c.close();
    await noRulesLeft(suite.pod);
  });

  it('lists the live sessions with their subscriptions', async () => {
    const thief = await suite.pod.connect({ client: 'thief' });
    await thief.subscribe({ port: APP_PORT, mode: 'steal', filter: { path: '^/listed', method: 'GET' } });
    const observer = await suite.pod.connect({ client: 'observer' });
    const { sessions } = (await observer.call('sessions', {})).result;
    expect(sessions).toEqual(
      expect.arrayContaining([
        {
          id: thief.info.sessionId,
          client: 'thief',
          since: expect.any(String),
          subscriptions: [{ port: APP_PORT, mode: 'steal', filter: { path: '^/listed', method: 'GET' } }],
        },
        { id: observer.info.sessionId, client: 'observer', since: expect.any(String), subscriptions: [] },
      ]),
    );
  });

  it('refuses a second unfiltered steal with a clear error and keeps the first working', async () => {
    const owner = await suite.pod.connect();
    forwardIncoming(owner, suite.local.port);
    await owner.subscribe({ port: APP_PORT, mode: 'steal' });
    const rival = await suite.pod.connect();
    await expect(rival.subscribe({ port: APP_PORT, mode: 'steal' })).rejects.toMatchObject({
      code: 'EPORTCONFLICT',
      message: expect.stringMatching(new RegExp(`port ${APP_PORT} is already stolen without a filter by session ${owner.info.sessionId}`)),
    });
    await expect(rival.subscribe({ port: APP_PORT, mode: 'mirror' })).rejects.toThrow(/either mirrored or stolen/);
    expect((await suite.pod.request('/still-mine')).body).toBe('local GET /still-mine body=0\n');
    owner.close();
    rival.close();
    await noRulesLeft(suite.pod);
  });

  it('passes WebSocket upgrades through a filtered port: to the app, or to the thief', async () => {
    const client = await suite.pod.connect();
    forwardIncoming(client, suite.local.port);
    await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-user: alice$' } });
    const ws = (header?: string) =>
      suite.pod.net.exec(suite.pod.net.workload, process.execPath, [
        require.resolve('../fixtures/ws-client.js'),
        `ws://${POD_IP}:${APP_PORT}/socket`,
        'ping',
        ...(header ? [header] : []),
      ]);
    expect((await ws()).stdout).toBe('app:ping\n');
    // the local "process" is a plain HTTP server: it answers the upgrade with a normal response
    await expect(ws('x-user: alice')).rejects.toThrow(/Unexpected server response: 200/);
    client.close();
    await client.closed();
  });
});
