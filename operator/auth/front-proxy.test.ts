import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { authenticate, FrontProxyTrust, frontProxyTlsOptions, type FrontProxyAuthentication } from './front-proxy';
import { parseRequestHeaderConfig, type RequestHeaderConfig } from './request-header';
import { newAuthority, type TestAuthority, type TestPair } from './test-certs';

const frontProxyCa = newAuthority('front-proxy-ca');
const clusterClientCa = newAuthority('kubernetes');
const servingCa = newAuthority('mirrord-operator-ca');
const serving = servingCa.issue('mirrord-operator', 'server');
const frontProxyClient = frontProxyCa.issue('front-proxy-client', 'client');

function configFor(ca: TestAuthority, allowedNames = '["front-proxy-client"]'): RequestHeaderConfig {
  return parseRequestHeaderConfig({
    'requestheader-allowed-names': allowedNames,
    'requestheader-client-ca-file': ca.certPem,
    'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
    'requestheader-group-headers': '["X-Remote-Group"]',
    'requestheader-username-headers': '["X-Remote-User", "X-Impersonated-User"]',
  });
}

const identity = {
  'X-Remote-User': 'alice@example.com',
  'X-Remote-Group': ['system:authenticated', 'team, with a comma'],
  'X-Remote-Extra-Scopes': ['view', 'edit'],
  'X-Remote-Extra-Acme.com%2Fproject': 'Apollo',
};

interface Reply {
  status: number;
  result: FrontProxyAuthentication;
  /** The client's port: the same one means the same connection. */
  clientPort: number;
}

interface CallOptions {
  headers?: Record<string, string | string[]>;
  agent?: https.Agent;
}

interface TestServer {
  trust: FrontProxyTrust;
  call(client: TestPair | undefined, options?: CallOptions): Promise<Reply>;
  /** The serving CA clients check the server against, after a renewal. */
  trustServingCa(pem: string): void;
}

/** A real HTTPS server on 127.0.0.1 answering every request with authenticate()'s verdict. */
async function startServer(config: RequestHeaderConfig): Promise<TestServer> {
  const trust: FrontProxyTrust = new FrontProxyTrust(serving, config, (request, response) => {
    const result = trust.authenticate(request);
    response.writeHead(result.ok ? 200 : result.status, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ result, clientPort: request.socket.remotePort }));
  });
  servers.push(trust.server);
  await new Promise<void>((resolve) => trust.server.listen(0, '127.0.0.1', resolve));
  const { port } = trust.server.address() as AddressInfo;
  let servingCaPem = servingCa.certPem;
  const call = (client: TestPair | undefined, { headers = identity, agent }: CallOptions = {}): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const options = { host: '127.0.0.1', port, path: '/apis/operator.metalbear.co/v1/sessions', ca: servingCaPem, headers, agent: agent ?? false };
      const request = https.request(client === undefined ? options : { ...options, cert: client.certPem, key: client.keyPem }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, ...JSON.parse(body) }));
      });
      request.on('error', reject);
      request.end();
    });
  return { trust, call, trustServingCa: (pem) => (servingCaPem = pem) };
}

const servers: https.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve).closeAllConnections())));
});

function refusedWith(reply: Reply, reason: RegExp): void {
  expect(reply.status).toBe(401);
  expect(reply.result).toEqual({ ok: false, status: 401, reason: expect.stringMatching(reason) });
  // Nothing of the headers may leak into a refusal.
  expect(JSON.stringify(reply.result)).not.toContain('alice');
}

describe('front-proxy authentication over real TLS', () => {
  it("believes the headers of the front proxy's certificate: user, every group as sent, extras", async () => {
    const { call } = await startServer(configFor(frontProxyCa));
    const reply = await call(frontProxyClient);
    expect(reply.status).toBe(200);
    expect(reply.result).toEqual({
      ok: true,
      user: 'alice@example.com',
      groups: ['system:authenticated', 'team, with a comma'],
      extra: { scopes: ['view', 'edit'], 'acme.com/project': ['Apollo'] },
    });
  });

  it('does not believe a caller without a client certificate, yet completes the handshake (probes)', async () => {
    const { call } = await startServer(configFor(frontProxyCa));
    refusedWith(await call(undefined), /client certificate is missing or not signed by the request-header CA/);
  });

  it("does not believe a certificate of another CA, even the cluster's client CA with the allowed name", async () => {
    const { call } = await startServer(configFor(frontProxyCa));
    refusedWith(await call(clusterClientCa.issue('front-proxy-client', 'client')), /missing or not signed by the request-header CA/);
  });

  it('does not believe a certificate of the request-header CA with a name not allowed', async () => {
    const { call } = await startServer(configFor(frontProxyCa));
    refusedWith(await call(frontProxyCa.issue('system:kube-controller-manager', 'client')), /"system:kube-controller-manager" is not one of the allowed names/);
  });

  it('believes any name the request-header CA signed when no names are listed', async () => {
    const { call } = await startServer(configFor(frontProxyCa, '[]'));
    const reply = await call(frontProxyCa.issue('aggregator', 'client'));
    expect(reply.result).toMatchObject({ ok: true, user: 'alice@example.com' });
    refusedWith(await call(clusterClientCa.issue('aggregator', 'client')), /not signed by the request-header CA/);
  });

  it("follows a CA rotation: the new CA's certificates are believed, the old CA's refused", async () => {
    const { trust, call } = await startServer(configFor(frontProxyCa));
    const nextCa = newAuthority('front-proxy-ca-2');
    const nextClient = nextCa.issue('front-proxy-client', 'client');
    refusedWith(await call(nextClient), /not signed by the request-header CA/);

    trust.update(configFor(nextCa));
    expect(trust.config.caPem).toBe(nextCa.certPem);
    expect((await call(nextClient)).result).toMatchObject({ ok: true, user: 'alice@example.com' });
    refusedWith(await call(frontProxyClient), /not signed by the request-header CA/);
  });

  it('refuses the old CA on a keep-alive connection opened before the rotation', async () => {
    const { trust, call } = await startServer(configFor(frontProxyCa));
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await call(frontProxyClient, { agent });
      expect(before.result.ok).toBe(true);
      trust.update(configFor(newAuthority('front-proxy-ca-2')));
      const after = await call(frontProxyClient, { agent });
      expect(after.clientPort).toBe(before.clientPort);
      refusedWith(after, /not signed by a request-header CA trusted now/);
    } finally {
      agent.destroy();
    }
  });

  it('takes the first non-empty user header, matching header names in any case', async () => {
    const { call } = await startServer(configFor(frontProxyCa));
    const reply = await call(frontProxyClient, { headers: { 'x-remote-user': '', 'X-IMPERSONATED-USER': 'bob', 'x-remote-group': 'devs' } });
    expect(reply.result).toEqual({ ok: true, user: 'bob', groups: ['devs'], extra: {} });
  });

  it('refuses a trusted front proxy that names no user', async () => {
    const { call } = await startServer(configFor(frontProxyCa));
    const reply = await call(frontProxyClient, { headers: { 'X-Remote-Group': 'system:masters' } });
    expect(reply).toMatchObject({
      status: 401,
      result: { ok: false, reason: expect.stringMatching(/^no user header \(X-Remote-User, X-Impersonated-User\)$/) },
    });
  });

  it('keeps the request-header CA when the serving certificate is renewed', async () => {
    const { trust, call, trustServingCa } = await startServer(configFor(frontProxyCa));
    const nextServingCa = newAuthority('mirrord-operator-ca-2');
    trust.updateServing(nextServingCa.issue('mirrord-operator', 'server'));
    await expect(call(frontProxyClient)).rejects.toThrow(/self[- ]signed|unable to verify|unable to get/i);
    trustServingCa(nextServingCa.certPem);
    expect((await call(frontProxyClient)).result).toMatchObject({ ok: true, user: 'alice@example.com' });
    refusedWith(await call(clusterClientCa.issue('front-proxy-client', 'client')), /not signed by the request-header CA/);
  });
});

describe('authenticate, on the headers of an authenticated connection', () => {
  it('asks for the client certificate without refusing the handshake', () => {
    const config = configFor(frontProxyCa);
    expect(frontProxyTlsOptions(config)).toEqual({ ca: config.caPem, requestCert: true, rejectUnauthorized: false });
  });

  it('refuses a connection that is not TLS', async () => {
    const { Socket } = await import('node:net');
    const result = authenticate({ socket: new Socket(), headersDistinct: { 'x-remote-user': ['alice'] } }, configFor(frontProxyCa));
    expect(result).toEqual({ ok: false, status: 401, reason: expect.stringMatching(/not a TLS connection/) });
  });
});
