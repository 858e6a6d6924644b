/**
 * kubelet's probes always reach the app: a pod whose app is probed over HTTP on its port keeps
 * answering the probes itself while a session steals the port, with a filter or without one, and
 * while the local process does not answer at all.
 */
import { POD_IP } from '../harness/netns';
import { APP_PORT, forwardIncoming, startLocalServer, TestPod } from '../harness/pod';
import { noRulesLeft } from './suite';

jest.setTimeout(60_000);

const PROBE = { 'user-agent': 'kube-probe/1.34' };

describe("kubelet's HTTP probes on a stolen port", () => {
  let pod: TestPod;
  let local: Awaited<ReturnType<typeof startLocalServer>>;

  beforeAll(async () => {
    pod = await TestPod.start({ MIRRORD_PROBES: JSON.stringify([{ port: APP_PORT, path: '/healthz' }]) });
    local = await startLocalServer();
  });
  afterEach(() => pod.closeClients());
  afterAll(async () => {
    local?.close();
    await pod?.stop();
  });

  it('an unfiltered steal takes every request but the probes, on the same keep-alive connection too', async () => {
    const client = await pod.connect();
    forwardIncoming(client, local.port);
    await client.subscribe({ port: APP_PORT, mode: 'steal' });
    expect((await pod.request('/healthz', PROBE)).body).toBe('app GET /healthz body=0\n');
    expect((await pod.request('/healthz')).body).toBe('local GET /healthz body=0\n');
    expect((await pod.request('/other', PROBE)).body).toBe('local GET /other body=0\n');
    // Two requests on one connection: the probe to the app, the next to the session.
    const both = await pod.request('/healthz', PROBE, [`http://${POD_IP}:${APP_PORT}/after`]);
    expect(both.raw).toContain('app GET /healthz body=0');
    expect(both.raw).toContain('local GET /after body=0');
    client.close();
    await noRulesLeft(pod);
  });

  it('an unfiltered steal there still takes connections that are not HTTP/1.x whole (HTTP/2, TLS, any protocol)', async () => {
    const client = await pod.connect();
    client.onIncoming(({ socket }) => {
      socket.on('error', () => undefined);
      socket.once('data', (chunk) => socket.end(`stolen whole: ${chunk.toString('latin1', 0, 24)}`));
    });
    await client.subscribe({ port: APP_PORT, mode: 'steal' });
    const send = (text: string) =>
      pod.net.exec(pod.net.workload, 'sh', ['-c', `printf '${text}' | socat -t 5 - TCP:${POD_IP}:${APP_PORT}`]).then(({ stdout }) => stdout);
    expect(await send('HELLO THERE\\r\\n\\r\\n')).toBe('stolen whole: HELLO THERE\r\n\r\n');
    // HTTP/2's connection preface (h2c with prior knowledge).
    expect(await send('PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n')).toBe('stolen whole: PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    // HTTP/1.x still goes request by request: the probe to the app.
    expect((await pod.request('/healthz', PROBE)).body).toBe('app GET /healthz body=0\n');
  });

  it('a filtered steal whose filter the probe matches still leaves the probe with the app', async () => {
    const client = await pod.connect();
    forwardIncoming(client, local.port);
    await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { path: '^/' } });
    expect((await pod.request('/healthz', PROBE)).body).toBe('app GET /healthz body=0\n');
    expect((await pod.request('/healthz?x=1', PROBE)).body).toBe('local GET /healthz?x=1 body=0\n');
  });

  it('the probe is answered while the local process is stopped', async () => {
    const client = await pod.connect();
    // A local server that never answers: a process stopped at a breakpoint.
    client.onIncoming(({ socket }) => socket.on('error', () => undefined));
    await client.subscribe({ port: APP_PORT, mode: 'steal' });
    expect((await pod.request('/healthz', PROBE)).body).toBe('app GET /healthz body=0\n');
    const stuck = await pod.request('/stuck', {}, ['--max-time', '1']).catch((error: Error) => error.message);
    expect(String(stuck)).toMatch(/timed out|Operation timed out|28/);
  });
});
