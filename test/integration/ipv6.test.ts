/**
 * A dual-stack pod: clients that reach it over IPv6 are stolen, filtered and mirrored as over
 * IPv4 (ip6tables holds the same chain and REDIRECTs; the capture reads IPv6 segments), the app
 * sees their own address, a session's outgoing connections reach IPv6 services, and no rule of
 * either family is left behind.
 */
import { once } from 'node:events';
import { noRulesLeft, podSuite } from './suite';
import { POD_IP6, SERVICE_IP6, WORKLOAD_IP, WORKLOAD_IP6 } from '../harness/netns';
import { APP_PORT, forwardIncoming } from '../harness/pod';
import { eventually } from '../harness/eventually';

describe('IPv6', () => {
  const suite = podSuite();
  const url = (path: string) => `http://[${POD_IP6}]:${APP_PORT}${path}`;
  const get = (path: string, headers: string[] = []) =>
    suite.pod.net
      .exec(suite.pod.net.workload, 'curl', ['-sS', '-g', '--max-time', '10', ...headers.flatMap((h) => ['-H', h]), url(path)])
      .then((r) => r.stdout);

  it('reaches the app over IPv6 without a session', async () => {
    expect(await get('/whoami')).toBe(`app peer ${WORKLOAD_IP6}\n`);
  });

  it('steals a port over IPv6 and IPv4 alike, the client named by its IPv6 address, and leaves no rule of either family', async () => {
    const client = await suite.pod.connect();
    const remotes: string[] = [];
    client.onIncoming(({ socket, remote }) => {
      remotes.push(remote.address);
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nlocal\n');
    });
    await client.subscribe({ port: APP_PORT, mode: 'steal' });
    expect(await get('/v6')).toBe('local\n');
    expect((await suite.pod.request('/v4')).body).toBe('local\n');
    expect(remotes.sort()).toEqual([WORKLOAD_IP, WORKLOAD_IP6].sort());
    expect((await suite.pod.sidecarRules()).some((rule) => rule.startsWith('ip6tables: ') && rule.includes('REDIRECT'))).toBe(true);
    client.close();
    await client.closed();
    await noRulesLeft(suite.pod);
    expect(await get('/after')).toBe('app GET /after body=0\n');
  });

  it("with a filter, sends matching IPv6 requests to the laptop and the others to the app from the client's own IPv6 address", async () => {
    const client = await suite.pod.connect();
    forwardIncoming(client, suite.local.port);
    await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-user: alice$' } });
    expect(await get('/mine', ['x-user: alice'])).toBe('local GET /mine body=0\n');
    expect(await get('/whoami', ['x-user: bob'])).toBe(`app peer ${WORKLOAD_IP6}\n`);
  });

  it('mirrors IPv6 connections by packet capture', async () => {
    const client = await suite.pod.connect();
    let copy = '';
    client.onIncoming(({ socket }) => {
      socket.on('data', (chunk: Buffer) => (copy += chunk.toString()));
      socket.on('error', () => undefined);
    });
    await client.subscribe({ port: APP_PORT, mode: 'mirror' });
    expect(await get('/copied')).toBe('app GET /copied body=0\n');
    await eventually(async () => expect(copy).toMatch(/^GET \/copied HTTP\/1\.1\r\n/));
    expect(await suite.pod.sidecarRules()).toEqual([]);
  });

  it('connects a session to an IPv6 service the pod can reach', async () => {
    const client = await suite.pod.connect();
    const { stream: socket } = await client.connect('tcp', SERVICE_IP6, 7000);
    socket.end('over IPv6');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    await once(socket, 'end');
    expect(Buffer.concat(chunks).toString()).toBe('over IPv6');
  });
});
