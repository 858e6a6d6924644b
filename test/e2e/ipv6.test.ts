/**
 * A dual-stack cluster (kind/cluster.yaml, kind/assembled: IPv4 first, every pod an IPv6 address
 * too): a session steals, filters and mirrors what reaches the pod over IPv6 as over IPv4, the
 * app sees an IPv6 client's own address for what the filter passes on, and the local process
 * resolves a Service's IPv6 address in the pod and reaches it from there.
 *
 * Requests come from a client pod (`/demo get`), or from this machine (the node) when they need
 * a header; both enter the pod over its interface.
 */
import http from 'node:http';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { createNamespaces, deleteNamespaces, kubeconfigPath, kubectl, podReady, rolledOut, webhookReady } from './cluster';
import { demoClient, demoDeployment, manifests } from './manifests';
import { fromApp, saw } from './answers';
import { eventually, FIXTURES, mirrord, type Mirrord } from './mirrord';
import { stoppedAfterEach } from './stopped-after-each';

const namespace = `e2e-ipv6-${process.pid}`;
const sessions = stoppedAfterEach();
const pod = { ipv4: '', ipv6: '' };

/** `mirrord attach deploy/app` in this suite's namespace, with `args` (options, then `--` and the command). */
const attachApp = (args: string[]) => mirrord(['attach', 'deploy/app', '-n', namespace, '--kubeconfig', kubeconfigPath(), ...args]);

function attach(args: string[], name: string): Mirrord {
  const session = attachApp([...args, '--', 'python3', '-u', join(FIXTURES, 'answer.py'), name, '8080']);
  sessions.push(session);
  return session;
}

const url = (ip: string, path: string) => `http://${isIPv6(ip) ? `[${ip}]` : ip}:8080${path}`;

/** The body the client pod gets for GET `path` on the app's pod at `ip` (the demo client's status lines cut). */
async function fromClient(ip: string, path: string): Promise<string> {
  const out = await eventually(() => kubectl(['-n', namespace, 'exec', 'client', '--', '/demo', 'get', url(ip, path)]), 30_000, 250);
  return out.replace(/^resolved .*\nstatus 200\n/, '');
}

/** What this node gets for GET `path` on the app's pod over IPv6: the body and the client address the app saw. */
function fromNode(path: string, headers: Record<string, string> = {}): Promise<{ body: string; client: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: pod.ipv6, family: 6, port: 8080, path, headers, agent: false, timeout: 10_000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ body, client: String(response.headers['x-client']) }));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${path} timed out`)));
    request.on('error', reject);
  });
}

/** The app answers over both families again: no rule of an ended session is left. */
async function appAnswers(): Promise<void> {
  for (const ip of [pod.ipv4, pod.ipv6]) {
    await eventually(async () => {
      const body = await fromClient(ip, '/app-again');
      if (!/^hello from /.test(body)) throw new Error(`not the app: ${body}`);
    });
  }
}

beforeAll(async () => {
  await webhookReady();
  await createNamespaces({ labeled: [namespace] });
  await kubectl(['apply', '-f', '-'], {
    input: manifests(demoDeployment(namespace, 'app', { terminationGracePeriodSeconds: 5, dualStackService: true }), demoClient(namespace)),
  });
  await rolledOut(namespace, 'app', 180);
  await podReady(namespace, 'client', 180);
  const ips = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[0].status.podIPs[*].ip}'])).trim().split(' ');
  pod.ipv4 = ips[0];
  pod.ipv6 = ips.find(isIPv6) ?? '';
}, 10 * 60_000);

afterAll(async () => {
  await deleteNamespaces(namespace);
}, 10 * 60_000);

test('the pod has an address of each family, IPv4 first', () => {
  expect(pod.ipv4).toMatch(/^10\.244\./);
  expect(pod.ipv6).toMatch(/^fd00:10:244:/);
});

test('an unfiltered steal takes the IPv6 clients as the IPv4 ones, and the app has both back after', async () => {
  await appAnswers();
  const local = attach(['--steal'], 'local');
  await local.waitFor(/subscribed port 8080 \(steal\)/);

  expect(await fromClient(pod.ipv6, '/six')).toBe('answered by local (GET /six)\n');
  expect(await fromClient(pod.ipv4, '/four')).toBe('answered by local (GET /four)\n');
  await saw(local, 'local', ['GET /six', 'GET /four']);

  await local.stop();
  await appAnswers();
}, 180_000);

test("a header-filtered steal over IPv6: matching requests reach the local process, the others the app from the client's own address", async () => {
  await appAnswers();
  const before = await fromNode('/who');
  expect(isIPv6(before.client)).toBe(true);
  const alice = attach(['--http-header-filter', '^x-debug: alice$'], 'alice');
  await alice.waitFor(/subscribed port 8080 \(steal, HTTP filter\)/);

  expect((await fromNode('/mine', { 'x-debug': 'alice' })).body).toBe('answered by alice (GET /mine)\n');
  const passed = await fromNode('/theirs', { 'x-debug': 'bob' });
  expect(passed.body).toMatch(fromApp('/theirs'));
  expect(passed.client).toBe(before.client);
  await saw(alice, 'alice', ['GET /mine']);

  await alice.stop();
  await appAnswers();
}, 180_000);

test('a mirror session gets copies of IPv6 requests, captured off the path', async () => {
  await appAnswers();
  const watcher = attach(['--mirror'], 'watcher');
  await watcher.waitFor(/subscribed port 8080 \(mirror\)/);

  expect(await fromClient(pod.ipv6, '/mirrored/six')).toMatch(fromApp('/mirrored/six'));
  await saw(watcher, 'watcher', ['GET /mirrored/six']);
  expect(await kubectl(['-n', namespace, 'logs', 'deploy/app', '-c', 'mirrord-agent'])).toMatch(
    /"msg":"mirrored by packet capture","component":"incoming","port":8080/,
  );

  await watcher.stop();
  await appAnswers();
}, 180_000);

test("the local process resolves a Service's IPv6 address in the pod and reaches it from there", async () => {
  const serviceIps = (await kubectl(['-n', namespace, 'get', 'service', 'app', '-o', 'jsonpath={.spec.clusterIPs[*]}'])).trim().split(' ');
  const serviceIpv6 = serviceIps.find(isIPv6);
  expect(serviceIpv6).toMatch(/^fd00:10:96:/);
  const run = await attachApp(['-q', '--', 'curl', '-6', '-sS', '--max-time', '10', '-w', 'via %{remote_ip}\\n', 'http://app/over-ipv6']).done;
  expect(run.stderr).toBe('');
  expect(run.stdout).toMatch(new RegExp(`^hello from app-[\\w-]+ \\(GET /over-ipv6\\)\\nvia ${serviceIpv6}\\n$`));
}, 60_000);
