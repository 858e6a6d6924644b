/**
 * Incoming traffic through `mirrord attach deploy/...` with the built CLI: steals filtered by
 * header and by path, two filtered sessions sharing one pod, an unfiltered steal that is
 * exclusive, mirroring, and what the pod's clients see when the CLI is killed or the pod is
 * deleted under a session.
 *
 * The local program is fixtures/answer.py (it says who answered and prints what it saw). Most
 * requests come from a client pod running the demo image; requests that need a header come
 * from this machine (the node) to the pod's IP, because the demo client can't set headers —
 * they enter the pod over its interface exactly as another pod's requests do.
 */
import http from 'node:http';
import { join } from 'node:path';
import { run } from '../harness/run';
import { createNamespaces, deleteNamespaces, kubeconfigPath, kubectl, podReady, rolledOut, webhookReady } from './cluster';
import { demoClient, demoDeployment, manifests } from './manifests';
import { eventually, FIXTURES, mirrord, within, type Mirrord } from './mirrord';
import { fromApp, saw } from './answers';
import { stoppedAfterEach } from './stopped-after-each';

const namespace = `e2e-incoming-${process.pid}`;
const ANSWER = join(FIXTURES, 'answer.py');

const target = (workload = 'app') => [`deploy/${workload}`, '-n', namespace, '--kubeconfig', kubeconfigPath()];

const podIps = new Map<string, string>();
const sessions = stoppedAfterEach();

/** The body another pod gets for GET `path` on the workload's pod (the demo client's output minus its status lines). */
async function fromClient(path: string, workload = 'app'): Promise<string> {
  // Retried only when kubectl exec itself fails (an API server hiccup on a loaded machine) or
  // the answer isn't a 200; what the body says is for the test to judge.
  const out = await eventually(
    () => kubectl(['-n', namespace, 'exec', 'client', '--', '/demo', 'get', `http://${podIps.get(workload)}:8080${path}`]),
    30_000,
    250,
  );
  return out.replace(/^resolved .*\nstatus 200\n/, '');
}

/** The body the node gets for GET `path` on the app's pod, with these headers. */
function fromNode(path: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: podIps.get('app'), port: 8080, path, headers, agent: false, timeout: 10_000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => (response.statusCode === 200 ? resolve(body) : reject(new Error(`status ${response.statusCode}: ${body}`))));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${path} timed out`)));
    request.on('error', reject);
  });
}

/** The client address the app saw for GET `path` from this node (its X-Client header). */
function clientSeenByApp(path: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: podIps.get('app'), port: 8080, path, headers, agent: false, timeout: 10_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(String(response.headers['x-client'])));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${path} timed out`)));
    request.on('error', reject);
  });
}

function attach(args: string[], name: string, workload = 'app'): Mirrord {
  const session = mirrord(['attach', ...target(workload), ...args, '--', 'python3', '-u', ANSWER, name, '8080']);
  sessions.push(session);
  return session;
}

/** The pod's port is the app's again: no rule of an ended session is left. */
async function appAnswers(workload = 'app'): Promise<void> {
  await eventually(async () => {
    const body = await fromClient('/app-again', workload);
    if (!/^hello from /.test(body)) throw new Error(`not the app: ${body}`);
  }, 30_000);
}

async function podIpOf(workload: string): Promise<string> {
  return eventually(async () => {
    const ip = (
      await kubectl([
        '-n',
        namespace,
        'get',
        'pods',
        '-l',
        `app=${workload}`,
        '--field-selector=status.phase=Running',
        '-o',
        'jsonpath={.items[0].status.podIP}',
      ])
    ).trim();
    if (!ip) throw new Error(`no running pod of ${workload}`);
    return ip;
  });
}

beforeAll(async () => {
  await webhookReady();
  await createNamespaces({ labeled: [namespace] });
  await kubectl(['apply', '-f', '-'], {
    input: manifests(
      demoDeployment(namespace, 'app', { terminationGracePeriodSeconds: 5 }),
      demoDeployment(namespace, 'victim', { terminationGracePeriodSeconds: 5 }),
      demoClient(namespace),
    ),
  });
  for (const workload of ['app', 'victim']) {
    await rolledOut(namespace, workload, 180);
    podIps.set(workload, await podIpOf(workload));
  }
  await podReady(namespace, 'client', 180);
}, 10 * 60_000);

afterAll(async () => {
  await deleteNamespaces(namespace);
}, 10 * 60_000);

test('a header-filtered steal: requests with the header reach the local process, the others the app', async () => {
  await appAnswers();
  const node = await clientSeenByApp('/who');
  const alice = attach(['--http-header-filter', '^x-debug: alice$'], 'alice');
  await alice.waitFor(/subscribed port 8080 \(steal, HTTP filter\)/);

  expect(await fromNode('/with-header', { 'x-debug': 'alice' })).toBe('answered by alice (GET /with-header)\n');
  expect(await fromNode('/other-value', { 'x-debug': 'bob' })).toMatch(fromApp('/other-value'));
  expect(await fromNode('/no-header')).toMatch(fromApp('/no-header'));
  expect(await fromClient('/from-client')).toMatch(fromApp('/from-client'));
  // The requests the sidecar passes on reach the app from the client's own address, not the pod's.
  expect(await clientSeenByApp('/who', { 'x-debug': 'bob' })).toBe(node);
  expect(node).not.toBe(podIps.get('app'));
  await saw(alice, 'alice', ['GET /with-header']);

  await alice.stop();
  await appAnswers();
}, 180_000);

test('a path-filtered steal: matching paths reach the local process, the others the app', async () => {
  await appAnswers();
  const alice = attach(['--http-path-filter', '^/alice(/|$)'], 'alice');
  await alice.waitFor(/subscribed port 8080 \(steal, HTTP filter\)/);

  expect(await fromClient('/alice/cart')).toBe('answered by alice (GET /alice/cart)\n');
  expect(await fromClient('/bob/cart')).toMatch(fromApp('/bob/cart'));
  expect(await fromClient('/alicex')).toMatch(fromApp('/alicex'));
  await saw(alice, 'alice', ['GET /alice/cart']);

  await alice.stop();
  await appAnswers();
}, 180_000);

test('two sessions on one pod with different filters each get their own requests', async () => {
  await appAnswers();
  const alice = attach(['--http-header-filter', '^x-debug: alice$'], 'alice');
  const bob = attach(['--http-path-filter', '^/bob(/|$)'], 'bob');
  await Promise.all([alice, bob].map((session) => session.waitFor(/subscribed port 8080 \(steal, HTTP filter\)/)));

  expect(await fromNode('/for-alice', { 'x-debug': 'alice' })).toBe('answered by alice (GET /for-alice)\n');
  expect(await fromClient('/bob/for-bob')).toBe('answered by bob (GET /bob/for-bob)\n');
  expect(await fromNode('/for-nobody')).toMatch(fromApp('/for-nobody'));
  expect(await fromClient('/for-nobody-either')).toMatch(fromApp('/for-nobody-either'));
  await saw(alice, 'alice', ['GET /for-alice']);
  await saw(bob, 'bob', ['GET /bob/for-bob']);

  // One session leaving doesn't take the other's requests with it.
  await alice.stop();
  expect(await fromClient('/bob/still-bob')).toBe('answered by bob (GET /bob/still-bob)\n');
  expect(await fromNode('/alice-gone', { 'x-debug': 'alice' })).toMatch(fromApp('/alice-gone'));

  await bob.stop();
  await appAnswers();
}, 180_000);

test('a second unfiltered steal is refused with a clear error while the first keeps the port', async () => {
  await appAnswers();
  const first = attach(['--steal'], 'first');
  await first.waitFor(/subscribed port 8080 \(steal\)/);
  expect(await fromClient('/one')).toBe('answered by first (GET /one)\n');

  // The second program's listen() fails as on a port in use, so it stops rather than wait for traffic it won't get.
  const second = await attach(['--steal'], 'second').done;
  expect(second.code).not.toBe(0);
  expect(second.stderr).toMatch(
    /mirrord: error: could not steal port 8080: port 8080 is already stolen without a filter by session \w+; an unfiltered steal is exclusive/,
  );
  expect(second.stderr).toMatch(/Address already in use/);
  expect(second.stdout).toBe('');

  // The refused session ending must not remove the first one's rules.
  expect(await fromClient('/two')).toBe('answered by first (GET /two)\n');
  await saw(first, 'first', ['GET /one', 'GET /two']);

  await first.stop();
  await appAnswers();
}, 180_000);

test('a mirror session sees the requests while the clients get the app’s answers unchanged', async () => {
  await appAnswers();
  const watcher = attach(['--mirror'], 'watcher');
  await watcher.waitFor(/subscribed port 8080 \(mirror\)/);

  for (const path of ['/mirrored/1', '/mirrored/2', '/mirrored/3']) {
    expect(await fromClient(path)).toMatch(fromApp(path));
  }
  // The copies travel to the laptop independently of the app's answers.
  await saw(watcher, 'watcher', ['GET /mirrored/1', 'GET /mirrored/2', 'GET /mirrored/3']);
  // Copied off the path: the sidecar captured them, the app's connections went straight to it.
  expect(await kubectl(['-n', namespace, 'logs', 'deploy/app', '-c', 'mirrord-agent'])).toMatch(
    /"msg":"mirrored by packet capture","component":"incoming","port":8080/,
  );

  await watcher.stop();
  await appAnswers();
}, 180_000);

/**
 * Cuts every TCP connection of process `pid` (its API calls and its port-forward), as a network
 * blip between laptop and cluster would: the kernel aborts them (`ss -K`).
 */
async function dropConnectionsOf(pid: number): Promise<number> {
  const { stdout } = await run('ss', ['-tnpH', 'state', 'established']);
  const locals = stdout
    .split('\n')
    .filter((line) => line.includes(`pid=${pid},`))
    .map((line) => line.trim().split(/\s+/)[2]);
  for (const local of locals) {
    const cut = local.lastIndexOf(':');
    await run('ss', ['-K', 'src', local.slice(0, cut).replace(/^\[|\]$/g, ''), 'sport', '=', `:${local.slice(cut + 1)}`]);
  }
  return locals.length;
}

test('a dropped port-forward: mirrord reconnects to the same pod, and the local program keeps the port', async () => {
  await appAnswers();
  const survivor = attach(['--steal'], 'survivor');
  await survivor.waitFor(/subscribed port 8080 \(steal\)/);
  expect(await fromClient('/before-drop')).toBe('answered by survivor (GET /before-drop)\n');
  const pod = /session \w+ on pod [\w-]+\/(app-[\w-]+)/.exec(survivor.output().stderr)?.[1];

  expect(await dropConnectionsOf(survivor.child.pid!)).toBeGreaterThan(0);
  await survivor.waitFor(
    new RegExp(`reconnected after \\d+ attempts?: session \\w+ on pod ${namespace}/${pod}; connections open before the drop were reset`),
    'stderr',
    60_000,
  );
  expect(survivor.output().stderr).toMatch(/warning: lost the connection to the pod \(.+\); reconnecting…/);
  expect(await fromClient('/after-drop')).toBe('answered by survivor (GET /after-drop)\n');
  await saw(survivor, 'survivor', ['GET /before-drop', 'GET /after-drop']);

  await survivor.stop();
  await appAnswers();
}, 180_000);

test('after `mirrord` is killed with SIGKILL during a steal, the app answers its clients again within seconds', async () => {
  await appAnswers();
  const doomed = attach(['--steal'], 'doomed');
  await doomed.waitFor(/subscribed port 8080 \(steal\)/);
  expect(await fromClient('/stolen')).toBe('answered by doomed (GET /stolen)\n');

  // Only the CLI dies: its local program lives on (stop() ends it after the test), so what
  // gives the port back is the sidecar noticing that the session is gone.
  process.kill(doomed.child.pid!, 'SIGKILL');
  const killedAt = Date.now();
  await eventually(
    async () => {
      const body = await fromClient('/after-kill');
      if (!/^hello from app-/.test(body)) throw new Error(`still not the app: ${body}`);
    },
    30_000,
    250,
  );
  expect(Date.now() - killedAt).toBeLessThan(20_000);
}, 180_000);

// A workload's session moves to the pods that replace a deleted one (replicas.test.ts, a
// rollout); a session on a named pod has nowhere to go.
test('deleting the pod under an active pod/NAME session: the CLI says so and exits non-zero', async () => {
  await appAnswers('victim');
  const pod = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=victim', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  const session = mirrord(['attach', `pod/${pod}`, ...target('victim').slice(1), '--steal', '--', 'python3', '-u', ANSWER, 'victim', '8080']);
  sessions.push(session);
  await session.waitFor(/subscribed port 8080 \(steal\)/);
  expect(await fromClient('/stolen', 'victim')).toBe('answered by victim (GET /stolen)\n');

  await kubectl(['-n', namespace, 'delete', 'pod', pod!, '--wait=false']);
  const ended = await within(session.done, 60_000, () => `mirrord still runs 60 s after its pod was deleted:\n${session.output().stderr}`);
  expect(ended.code).toBe(1);
  expect(ended.stderr).toMatch(
    new RegExp(`\nmirrord: session \\w+ on pod ${namespace}/${pod} ended while the command ran \\(.+\\); the command was stopped\nhint: `),
  );
}, 180_000);
