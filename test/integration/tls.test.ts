/**
 * HTTPS through a filtered steal. Without the app's certificate, a TLS connection reaches the app
 * unfiltered and the session is told why. With it (a kubernetes.io/tls Secret's files, where the
 * webhook mounts the Secret the pod names), the sidecar terminates the client's TLS: the requests
 * a filter matches reach the local server in cleartext, the others the app over TLS, over
 * HTTP/1.1 and HTTP/2 (by ALPN) alike, with curl as the client.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueServingPair } from '../../common/certs/authority';
import { packagePath } from '../../common/package-root';
import { eventually } from '../harness/eventually';
import { POD_IP, WORKLOAD_IP, waitForOutput } from '../harness/netns';
import { forwardIncoming } from '../harness/pod';
import { podSuite } from './suite';

jest.setTimeout(60_000);

describe('TLS through a filtered steal', () => {
  const suite = podSuite();
  const TLS_PORT = 8443;
  /** Another app's port, one that speaks only HTTP/1.1 over TLS. */
  const HTTP1_PORT = 8444;
  const url = `https://${POD_IP}:${TLS_PORT}`;
  let dir: string;
  let app: ChildProcess;
  /** The local process for HTTP/2: an h2c server (the sidecar speaks cleartext to the session). */
  let localH2: http2.Http2Server;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mirrord-tls-'));
    const { certPem, keyPem } = issueServingPair(['app.test'], 1);
    writeFileSync(join(dir, 'tls.crt'), certPem);
    writeFileSync(join(dir, 'tls.key'), keyPem);
    app = suite.pod.net.spawn(suite.pod.net.pod, process.execPath, [
      packagePath('test/fixtures/tls-app.js'),
      String(TLS_PORT),
      join(dir, 'tls.crt'),
      join(dir, 'tls.key'),
    ]);
    await waitForOutput(app, /tls listening/);
    localH2 = http2.createServer();
    localH2.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      stream.resume();
      stream.on('end', () => {
        stream.respond({ ':status': 200 });
        stream.end(`local-h2 ${headers[':method']} ${headers[':path']}\n`);
      });
    });
    await new Promise<void>((resolve) => localH2.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => {
    app?.kill();
    localH2?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** curl from the other workload, not checking the app's (self-signed) certificate. */
  const curl = async (args: string[]) => (await suite.pod.net.exec(suite.pod.net.workload, 'curl', ['-sS', '-k', '--max-time', '10', ...args])).stdout;

  it('without the certificate, TLS reaches the app unfiltered, and the session is told why', async () => {
    const client = await suite.pod.connect();
    const notices: string[] = [];
    client.onNotice(({ message }) => notices.push(message));
    forwardIncoming(client, suite.local.port);
    await client.subscribe({ port: TLS_PORT, mode: 'steal', filter: { header: '^x-user: me$' } });
    expect(await curl(['--http1.1', '-H', 'x-user: me', `${url}/mine`])).toBe('tls-app HTTP/1.1 GET /mine body=0\n');
    expect(await curl(['--http1.1', '-H', 'x-user: me', `${url}/again`])).toBe('tls-app HTTP/1.1 GET /again body=0\n');
    // Once per session and port, naming what would let the sidecar read it.
    await eventually(async () =>
      expect(notices).toEqual([
        expect.stringMatching(/^a TLS connection on port 8443 reached the app unfiltered: the pod gives the sidecar no certificate .*mirrord\.dev\/tls-secret/),
      ]),
    );
  });

  describe('with the certificate', () => {
    beforeAll(() => suite.pod.restartSidecar({ MIRRORD_TLS_DIR: dir }));

    it('HTTP/1.1: the matching requests reach the local server in cleartext, the others the app over TLS, on one connection', async () => {
      const client = await suite.pod.connect();
      forwardIncoming(client, suite.local.port);
      await client.subscribe({ port: TLS_PORT, mode: 'steal', filter: { header: '^x-user: me$' } });
      expect(await curl(['--http1.1', '-H', 'x-user: me', `${url}/mine`])).toBe('local GET /mine body=0\n');
      expect(await curl(['--http1.1', '--data', 'abc', `${url}/theirs`])).toBe('tls-app HTTP/1.1 POST /theirs body=3\n');
      expect(await curl(['--http1.1', `${url}/whoami`])).toBe(`tls-app peer ::ffff:${WORKLOAD_IP}\n`); // the client's own address (the app listens on ::)
      const oneConnection = ['--http1.1', '-w', ' connects=%{num_connects}\n'];
      expect(await curl([...oneConnection, '-H', 'x-user: me', `${url}/a`, '--next', '-sS', '-k', ...oneConnection, `${url}/b`])).toBe(
        'local GET /a body=0\n connects=1\ntls-app HTTP/1.1 GET /b body=0\n connects=0\n',
      );
    });

    it('HTTP/2 by ALPN: each stream by the filter, the local server in h2c, the app over TLS', async () => {
      const client = await suite.pod.connect();
      forwardIncoming(client, (localH2.address() as AddressInfo).port);
      await client.subscribe({ port: TLS_PORT, mode: 'steal', filter: { path: '^/mine' } });
      const h2 = ['--http2', '-w', ' over HTTP/%{http_version}\n'];
      expect(await curl([...h2, `${url}/mine/1`, '--next', '-sS', '-k', ...h2, `${url}/theirs/1`])).toBe(
        'local-h2 GET /mine/1\n over HTTP/2\ntls-app HTTP/2.0 GET /theirs/1 body=0\n over HTTP/2\n',
      );
    });

    it('an app that speaks only HTTP/1.1 over TLS: HTTP/2 is not offered to its clients, which it would leave unreachable', async () => {
      const http1 = suite.pod.net.spawn(suite.pod.net.pod, process.execPath, [
        packagePath('test/fixtures/tls-app.js'),
        String(HTTP1_PORT),
        join(dir, 'tls.crt'),
        join(dir, 'tls.key'),
        'http1',
      ]);
      try {
        await waitForOutput(http1, /tls listening/);
        const client = await suite.pod.connect();
        forwardIncoming(client, suite.local.port);
        await client.subscribe({ port: HTTP1_PORT, mode: 'steal', filter: { header: '^x-user: me$' } });
        // curl offers h2 by ALPN on https: both answers over HTTP/1.1.
        const over = ['-w', ' over HTTP/%{http_version}\n'];
        expect(await curl([...over, '-H', 'x-user: me', `https://${POD_IP}:${HTTP1_PORT}/mine`])).toBe('local GET /mine body=0\n over HTTP/1.1\n');
        expect(await curl([...over, `https://${POD_IP}:${HTTP1_PORT}/theirs`])).toBe('tls-app HTTP/1.1 GET /theirs body=0\n over HTTP/1.1\n');
      } finally {
        http1.kill();
      }
    });

    it('a client that never finishes its handshake, or sends garbage after the ClientHello, costs only its own connection', async () => {
      const client = await suite.pod.connect();
      forwardIncoming(client, suite.local.port);
      await client.subscribe({ port: TLS_PORT, mode: 'steal', filter: { header: '^x-user: me$' } });
      // A TLS record header (handshake, TLS 1.0) and then garbage.
      const garbage = suite.pod.net.exec(suite.pod.net.workload, 'sh', [
        '-c',
        `printf '\\026\\003\\001\\000\\005garbage' | socat -t 2 - TCP:${POD_IP}:${TLS_PORT} | wc -c`,
      ]);
      expect(await curl(['--http1.1', '-H', 'x-user: me', `${url}/meanwhile`])).toBe('local GET /meanwhile body=0\n');
      expect(Number((await garbage).stdout.trim())).toBeLessThan(100); // a TLS alert at most, then closed
      expect(await curl(['--http1.1', `${url}/after`])).toBe('tls-app HTTP/1.1 GET /after body=0\n');
    });
  });
});
