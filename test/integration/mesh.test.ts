/**
 * A pod whose inbound traffic reaches the app through a service mesh's proxy container: the
 * mesh's rules (as Istio's init container makes them) send every connection to the proxy, which
 * connects to the app over loopback. The sidecar must intercept that loopback hop, and ports the
 * mesh leaves alone as in any pod, and leave the mesh's rules as it found them.
 */
import { noRulesLeft, podSuite } from './suite';
import { POD_IP, WORKLOAD_IP, waitForOutput } from '../harness/netns';
import { APP_PORT, forwardIncoming } from '../harness/pod';
import { eventually } from '../harness/eventually';
import { packagePath } from '../../common/package-root';

const PROXY_PORT = 15006;
/** A second app port the mesh lets through untouched (Istio's excludeInboundPorts). */
const EXCLUDED_PORT = 9090;
const PROXY_ADDRESS = '127.0.0.6';

const MESH_RULES = [
  ['-N', 'ISTIO_INBOUND'],
  ['-N', 'ISTIO_IN_REDIRECT'],
  ['-A', 'PREROUTING', '-p', 'tcp', '-j', 'ISTIO_INBOUND'],
  ['-A', 'ISTIO_INBOUND', '-p', 'tcp', '--dport', String(EXCLUDED_PORT), '-j', 'RETURN'],
  ['-A', 'ISTIO_INBOUND', '-p', 'tcp', '-j', 'ISTIO_IN_REDIRECT'],
  ['-A', 'ISTIO_IN_REDIRECT', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(PROXY_PORT)],
];

describe('a pod with a service mesh', () => {
  const suite = podSuite();
  let meshRules = '';
  /** The pod's nat rules, without iptables-save's dated comments. */
  const natRules = async () => (await suite.pod.net.natRules()).replace(/^#.*\n/gm, '');

  beforeAll(async () => {
    const { net } = suite.pod;
    const proxy = net.spawn(net.pod, process.execPath, [packagePath('test/fixtures/mesh-proxy.js'), String(PROXY_PORT), String(APP_PORT)]);
    const second = net.spawn(net.pod, process.execPath, [packagePath('test/fixtures/app.js')], { PORT: String(EXCLUDED_PORT) });
    await Promise.all([waitForOutput(proxy, /mesh proxy listening on \d+ as 1337:1337/), waitForOutput(second, /app listening/)]);
    for (const rule of MESH_RULES) await net.exec(net.pod, 'iptables', ['-w', '5', '-t', 'nat', ...rule]);
    meshRules = await natRules();
  });

  const whoami = (port = APP_PORT, headers: string[] = []) =>
    suite.pod.net.exec(suite.pod.net.workload, 'curl', ['-sS', '--max-time', '10', ...headers.flatMap((h) => ['-H', h]), `http://${POD_IP}:${port}/whoami`]);

  it("reaches the app through the mesh's proxy without a session", async () => {
    expect((await whoami()).stdout).toBe(`app peer ${PROXY_ADDRESS}\n`);
    expect((await whoami(EXCLUDED_PORT)).stdout).toBe(`app peer ${WORKLOAD_IP}\n`);
  });

  it("finds the mesh, and a filtered steal takes what the proxy hands the app: the matches to the laptop, the rest to the app from the proxy's address", async () => {
    const client = await suite.pod.connect();
    forwardIncoming(client, suite.local.port);
    await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-user: alice$' } });
    expect((await whoami(APP_PORT, ['x-user: alice'])).stdout).toBe('local GET /whoami body=0\n');
    expect((await whoami(APP_PORT, ['x-user: bob'])).stdout).toBe(`app peer ${PROXY_ADDRESS}\n`);
    expect(suite.pod.sidecarLog).toMatch(/Istio in the pod: intercepting the connections its proxy makes to the app over loopback/);

    // Loopback traffic of everyone but the sidecar's group at the top of OUTPUT; PREROUTING after the mesh's jump.
    const rules = (await natRules()).split('\n');
    const output = rules.filter((line) => line.startsWith('-A OUTPUT'));
    expect(output[0]).toBe('-A OUTPUT -o lo -m owner ! --gid-owner 0 -j MIRRORD_INCOMING');
    const prerouting = rules.filter((line) => line.startsWith('-A PREROUTING'));
    expect(prerouting).toEqual(['-A PREROUTING -p tcp -j ISTIO_INBOUND', '-A PREROUTING -j MIRRORD_INCOMING']);

    client.close();
    await client.closed();
    await noRulesLeft(suite.pod);
    // The mesh's own rules are as they were, and the app is reached through the proxy again.
    expect(await natRules()).toBe(meshRules);
    expect((await whoami()).stdout).toBe(`app peer ${PROXY_ADDRESS}\n`);
  });

  it("steals a whole port and mirrors one through the mesh's proxy", async () => {
    const thief = await suite.pod.connect();
    forwardIncoming(thief, suite.local.port);
    await thief.subscribe({ port: APP_PORT, mode: 'steal' });
    expect((await whoami()).stdout).toBe('local GET /whoami body=0\n');
    thief.close();
    await thief.closed();

    const mirror = await suite.pod.connect();
    const copies: string[] = [];
    mirror.onIncoming(({ socket }) => {
      const index = copies.push('') - 1;
      socket.on('data', (chunk: Buffer) => (copies[index] += chunk.toString()));
      socket.on('error', () => undefined);
      socket.end();
    });
    await mirror.subscribe({ port: APP_PORT, mode: 'mirror' });
    expect((await whoami()).stdout).toBe(`app peer ${PROXY_ADDRESS}\n`);
    await eventually(async () => expect(copies.join('')).toMatch(/^GET \/whoami HTTP\/1\.1\r\n/));
  });

  it('intercepts a port the mesh lets through as in a pod without a mesh', async () => {
    const client = await suite.pod.connect();
    forwardIncoming(client, suite.local.port);
    await client.subscribe({ port: EXCLUDED_PORT, mode: 'steal' });
    expect((await whoami(EXCLUDED_PORT)).stdout).toBe('local GET /whoami body=0\n');
  });

  it("while the sidecar's event loop is stalled, the watchdog removes both jumps (the mesh's proxy reaches the app), and puts them back", async () => {
    const client = await suite.pod.connect({ heartbeatMs: 60_000 });
    forwardIncoming(client, suite.local.port);
    await client.subscribe({ port: APP_PORT, mode: 'steal' });
    const jumps = async () => (await natRules()).split('\n').filter((line) => line.endsWith('-j MIRRORD_INCOMING'));
    expect(await jumps()).toHaveLength(2);
    await suite.pod.stallSidecar(5000);
    await eventually(async () => expect(await jumps()).toEqual([]), 4000, 50);
    expect((await whoami()).stdout).toBe(`app peer ${PROXY_ADDRESS}\n`);
    await eventually(async () => expect(await jumps()).toHaveLength(2), 10_000);
    expect((await whoami()).stdout).toBe('local GET /whoami body=0\n');
    expect(suite.pod.sidecarLog).toMatch(/the event loop has not run for \d+ ms: removed 3 jump/); // IPv4's two, IPv6's (no mesh there)
  }, 20_000);

  it("leaves the proxy's hop alone when told there is no mesh", async () => {
    await suite.pod.restartSidecar({ MIRRORD_MESH: 'false' });
    try {
      const client = await suite.pod.connect();
      forwardIncoming(client, suite.local.port);
      await client.subscribe({ port: EXCLUDED_PORT, mode: 'steal' });
      expect((await natRules()).split('\n').filter((line) => line.startsWith('-A OUTPUT'))).toEqual([]);
      expect((await whoami(EXCLUDED_PORT)).stdout).toBe('local GET /whoami body=0\n');
      client.close();
      await client.closed();
      await noRulesLeft(suite.pod);
    } finally {
      await suite.pod.restartSidecar();
    }
  });
});
