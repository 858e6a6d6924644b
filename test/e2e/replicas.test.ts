/**
 * One attach on every replica of a workload: a filtered steal on a 3-replica Deployment is
 * answered by the local process whichever replica the Service sends a request to, and a rollout
 * during the session moves the sessions to the new pods without stopping the process. kubelet's
 * probes of a stolen port keep reaching the app while the local process is stopped. HTTP/2 and
 * gRPC (grpc-go calling the Go app, grpc-js answering locally) are filtered per request, and so
 * is a mirror.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { createNamespaces, deleteNamespaces, demoProgram, kubeconfigPath, kubectl, rolledOut, webhookReady } from './cluster';
import { demoDeployment, manifests } from './manifests';
import { freePort } from '../harness/free-port';
import { httpGet } from '../harness/http-get';
import { run } from '../harness/run';
import { packagePath } from '../../common/package-root';
import { eventually, FIXTURES, mirrord, type Mirrord } from './mirrord';
import { stoppedAfterEach } from './stopped-after-each';

const { answeredBy: answered } = require('../fixtures/grpc-echo') as { answeredBy(by: string): Record<string, unknown> };

const namespace = `e2e-replicas-${process.pid}`;
const ANSWER = join(FIXTURES, 'answer.py');
const sessions = stoppedAfterEach();
let serviceIp = '';

function attach(target: string, args: string[]): Mirrord {
  const session = mirrord(['attach', target, '-n', namespace, '--kubeconfig', kubeconfigPath(), ...args]);
  sessions.push(session);
  return session;
}

/** `command` under a steal of the requests with the header x-user: me, once `port` is subscribed on all three pods. */
async function stealingMine(port: number, command: string[]): Promise<Mirrord> {
  const session = attach('deploy/app', ['--steal', '--http-header-filter', '^x-user: me$', '--', ...command]);
  await session.waitFor(new RegExp(`port ${port} \\(steal\\) subscribed on each of 3 pods`), 'stderr', 60_000);
  return session;
}

/** The body of GET `path` through the app's Service (kube-proxy picks a replica per connection). */
const throughService = (path: string, headers: Record<string, string> = {}) => httpGet(serviceIp, 80, path, headers);

/** `count` requests carrying the filter's header: how many the local process did not answer, and what they got instead. */
async function missed(count: number): Promise<string[]> {
  const wrong: string[] = [];
  for (let i = 0; i < count; i++) {
    const body = await throughService(`/mine/${i}`, { 'x-user': 'me' });
    if (!body.startsWith('answered by me')) wrong.push(body.trim());
  }
  return wrong;
}

beforeAll(async () => {
  await webhookReady();
  await createNamespaces({ labeled: [namespace] });
  const probed = JSON.parse(demoDeployment(namespace, 'probed', { terminationGracePeriodSeconds: 5 }));
  probed.spec.template.spec.containers[0].livenessProbe = {
    httpGet: { path: '/healthz', port: 8080 },
    periodSeconds: 1,
    timeoutSeconds: 1,
    failureThreshold: 2,
  };
  await kubectl(['apply', '-f', '-'], {
    input: manifests(demoDeployment(namespace, 'app', { replicas: 3, service: true, terminationGracePeriodSeconds: 5 }), JSON.stringify(probed)),
  });
  await Promise.all([rolledOut(namespace, 'app', 180), rolledOut(namespace, 'probed', 180)]);
  serviceIp = (await kubectl(['-n', namespace, 'get', 'service', 'app', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  // Rolled out is not yet routed: kube-proxy programs the Service's endpoints a moment later
  // (until then it refuses, or reaches only some replicas). Wait until all three answer.
  const answering = new Set<string>();
  await eventually(
    async () => {
      answering.add(/^hello from (app-\S+)/.exec(await throughService('/ready'))?.[1] ?? 'none');
      expect([...answering].filter((app) => app.startsWith('app-'))).toHaveLength(3);
    },
    60_000,
    50,
  );
}, 10 * 60_000);

afterAll(async () => {
  await deleteNamespaces(namespace);
}, 10 * 60_000);

test('a filtered steal on 3 replicas answers every matching request locally, and a rollout moves it to the new pods', async () => {
  const session = attach('deploy/app', ['--steal', '--http-header-filter', '^x-user: me$', '--', 'python3', '-u', ANSWER, 'me', '8080']);
  await session.waitFor(/sessions on 3 pods of the workload: app-/, 'stderr', 60_000);
  await session.waitFor(/port 8080 \(steal\) subscribed on each of 3 pods/, 'stderr', 60_000);

  expect(await missed(100)).toEqual([]);
  // The others reach the app, on every replica: the requests above did go to all three.
  const apps = new Set<string>();
  for (let i = 0; i < 60 && apps.size < 3; i++) apps.add(/^hello from (app-\S+)/.exec(await throughService(`/theirs/${i}`))?.[1] ?? 'none');
  expect([...apps].filter((app) => app.startsWith('app-'))).toHaveLength(3);

  const before = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[*].metadata.name}'])).trim().split(' ');
  await kubectl(['-n', namespace, 'rollout', 'restart', 'deployment/app']);
  await rolledOut(namespace, 'app', 180);
  const after = (
    await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=app', '--field-selector=status.phase=Running', '-o', 'jsonpath={.items[*].metadata.name}'])
  )
    .trim()
    .split(' ')
    .filter((pod) => !before.includes(pod));
  // Every new pod joined (the listing runs every 2 s), and the old ones left; the process never stopped.
  await eventually(async () => {
    for (const pod of after) expect(session.output().stderr).toContain(`pod ${pod} joined`);
  }, 30_000);
  expect(session.output().code).toBeNull();
  expect(await missed(100)).toEqual([]);
}, 300_000);

test('HTTP/2 (h2c) through a filtered steal on every replica: each request by its header, on the same connection', async () => {
  await stealingMine(8080, [process.execPath, join(FIXTURES, 'h2-answer.js'), 'me', '8080']);
  // Each client connection lands on one replica (kube-proxy picks it); its two requests share it.
  for (let i = 0; i < 12; i++) {
    const { stdout } = await run(process.execPath, [
      packagePath('test/fixtures/h2-client.js'),
      `http://${serviceIp}:80`,
      JSON.stringify([{ path: `/mine/${i}`, headers: { 'x-user': 'me' } }, { path: `/theirs/${i}` }]),
    ]);
    const [mine, theirs] = (JSON.parse(stdout) as { body: string; trailers: Record<string, string> }[]).map(({ body, trailers }) => ({
      body: body.trim(),
      trailer: trailers['x-answered-by'],
    }));
    expect(mine).toEqual({ body: `answered by me (GET /mine/${i})`, trailer: 'me' });
    expect(theirs?.body).toMatch(new RegExp(`^hello from app-\\S+ \\(GET /theirs/${i}\\)$`));
  }
  // curl, with prior knowledge, one request per connection.
  const curl = async (headers: string[]) =>
    (await run('curl', ['-sS', '--http2-prior-knowledge', '--max-time', '10', ...headers, `http://${serviceIp}/curl`])).stdout.trim();
  expect(await curl(['-H', 'x-user: me'])).toBe('answered by me (GET /curl)');
  expect(await curl([])).toMatch(/^hello from app-\S+ \(GET \/curl\)$/);
}, 120_000);

test('gRPC through a filtered steal on every replica: the calls of grpc-go with the header answered by the local grpc-js server, the others by the Go app', async () => {
  await stealingMine(50051, [process.execPath, packagePath('test/fixtures/grpc-echo.js'), 'me', '50051']);
  const calls = async (user: string) => JSON.parse((await run(demoProgram(), ['grpc-call', `${serviceIp}:50051`, user])).stdout) as Record<string, unknown>;
  // Each call's connection lands on one replica (kube-proxy picks it): six of each, to reach them all.
  for (let i = 0; i < 6; i++) {
    expect(await calls('me')).toEqual(answered('me'));
    const theirs = await calls('you');
    const app = (theirs.unary as { from: string }).from;
    expect(app).toMatch(/^app-/);
    expect(theirs).toEqual(answered(app));
  }
}, 120_000);

test('a filtered mirror on every replica: the app answers everything, the local process sees a copy of each matching request', async () => {
  const session = attach('deploy/app', ['--mirror', '--http-header-filter', '^x-user: me$', '--', 'python3', '-u', ANSWER, 'me', '8080']);
  await session.waitFor(/port 8080 \(mirror\) subscribed on each of 3 pods/, 'stderr', 60_000);
  for (let i = 0; i < 10; i++) {
    expect(await throughService(`/copied/${i}`, { 'x-user': 'me' })).toMatch(new RegExp(`^hello from app-\\S+ \\(GET /copied/${i}\\)`));
    expect(await throughService(`/not-copied/${i}`)).toMatch(new RegExp(`^hello from app-\\S+ \\(GET /not-copied/${i}\\)`));
  }
  await eventually(
    async () =>
      expect(
        session
          .output()
          .stdout.match(/^me saw .*$/gm)
          ?.sort(),
      ).toEqual(Array.from({ length: 10 }, (_, i) => `me saw GET /copied/${i}`).sort()),
    10_000,
  );
}, 120_000);

test('--selector attaches to every pod the label selector matches; a selector the API server refuses is one clear line', async () => {
  const session = mirrord([
    'attach',
    '--selector',
    'app=app',
    '-n',
    namespace,
    '--kubeconfig',
    kubeconfigPath(),
    '--steal',
    '--http-header-filter',
    '^x-user: me$',
    '--',
    'python3',
    '-u',
    ANSWER,
    'me',
    '8080',
  ]);
  sessions.push(session);
  await session.waitFor(/port 8080 \(steal\) subscribed on each of 3 pods/, 'stderr', 60_000);
  expect(session.output().stderr).toMatch(/resolving selector\/app=app in namespace/);
  expect(await missed(30)).toEqual([]);
  const bad = await mirrord(['attach', '--selector', 'app==(', '-n', namespace, '--kubeconfig', kubeconfigPath(), '--', 'true']).done;
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('"app==(" is not a label selector the API server accepts');
  const none = await mirrord(['attach', '--selector', 'app=nothing-here', '-n', namespace, '--kubeconfig', kubeconfigPath(), '--', 'true']).done;
  expect(none.code).not.toBe(0);
  expect(none.stderr).toContain(`selector/app=nothing-here has no pods in namespace ${namespace}`);
}, 180_000);

test("kubelet's liveness probe of a stolen port reaches the app while the local process is stopped past the failure threshold", async () => {
  const name = `probed-${process.pid}`;
  const session = attach('deploy/probed', ['--steal', '--', 'python3', '-u', ANSWER, name, '8080']);
  await session.waitFor(/subscribed port 8080 \(steal\)/, 'stderr', 60_000);
  const pod = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=probed', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  const restarts = async () =>
    Number(await kubectl(['-n', namespace, 'get', 'pod', pod, '-o', 'jsonpath={.status.containerStatuses[?(@.name=="app")].restartCount}']));
  expect(await restarts()).toBe(0);
  // A process stopped at a breakpoint: its port stays stolen, it answers nothing.
  const local = execFileSync('pgrep', ['-f', `${ANSWER} ${name} 8080`])
    .toString()
    .trim()
    .split('\n');
  for (const pid of local) process.kill(Number(pid), 'SIGSTOP');
  try {
    // 2 failures a second apart would restart the app: give it four times that.
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    expect(await restarts()).toBe(0);
  } finally {
    for (const pid of local) process.kill(Number(pid), 'SIGCONT');
  }
  expect(session.output().code).toBeNull();
}, 180_000);

test('mirrord port-forward both ways: a Service by its cluster name from the pod, and the app port of every replica to a local server', async () => {
  const [local, forwarded] = [await freePort(), await freePort()];
  const server = http.createServer((req, res) => res.end(`local ${req.url}\n`));
  await new Promise<void>((resolve) => server.listen(local, '127.0.0.1', resolve));
  const session = mirrord([
    'port-forward',
    'deploy/app',
    '-n',
    namespace,
    '--kubeconfig',
    kubeconfigPath(),
    '-L',
    `${forwarded}:app.${namespace}.svc.cluster.local:80`,
    '-R',
    `${local}:8080`,
    '--http-header-filter',
    '^x-user: pf$',
  ]);
  sessions.push(session);
  try {
    await session.waitFor(new RegExp(`pod port 8080 \\(steal, HTTP filter\\) -> 127.0.0.1:${local}`), 'stderr', 60_000);
    const viaPod = await httpGet('127.0.0.1', forwarded, '/pf');
    expect(viaPod).toMatch(/^hello from app-/);
    for (let i = 0; i < 20; i++) expect(await throughService(`/pf/${i}`, { 'x-user': 'pf' })).toBe(`local /pf/${i}\n`);
  } finally {
    server.close();
  }
  const stopped = await session.stop();
  expect(stopped.code).toBe(0);
}, 180_000);

test("svc/NAME means the pods its selector matches: a filtered steal there catches the Service's requests", async () => {
  const session = attach('svc/app', ['--steal', '--http-header-filter', '^x-user: me$', '--', 'python3', '-u', ANSWER, 'me', '8080']);
  await session.waitFor(/sessions on 3 pods of the workload: app-/, 'stderr', 60_000);
  await session.waitFor(/port 8080 \(steal\) subscribed on each of 3 pods/, 'stderr', 60_000);
  expect(await missed(30)).toEqual([]);
}, 180_000);

test("Argo's rollout/NAME, where its CRD is installed: the pods of the ReplicaSets it owns, tickets included", async () => {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'rollouts.argoproj.io' },
    spec: {
      group: 'argoproj.io',
      names: { kind: 'Rollout', plural: 'rollouts', singular: 'rollout', shortNames: ['ro'] },
      scope: 'Namespaced',
      versions: [
        { name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
      ],
    },
  };
  const absent = await attach('rollout/canary', ['--mirror', '--', 'true']).done;
  expect(absent.code).not.toBe(0);
  expect(absent.stderr).toContain(`rollout/canary not found in namespace ${namespace}`);
  await kubectl(['apply', '-f', '-'], { input: JSON.stringify(crd) });
  try {
    await eventually(
      () =>
        kubectl(['get', 'crd', 'rollouts.argoproj.io', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']).then((s) =>
          expect(s).toBe('True'),
        ),
      60_000,
      1_000,
    );
    const labels = { app: 'canary' };
    await kubectl(['-n', namespace, 'apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'canary' }, spec: { selector: { matchLabels: labels } } }),
    });
    const uid = (await kubectl(['-n', namespace, 'get', 'rollout', 'canary', '-o', 'jsonpath={.metadata.uid}'])).trim();
    // What Argo's controller would make: a ReplicaSet the Rollout controls.
    const pods = JSON.parse(demoDeployment(namespace, 'canary')).spec;
    await kubectl(['-n', namespace, 'apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'canary-1', ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'canary', uid, controller: true }] },
        spec: { replicas: 1, selector: pods.selector, template: pods.template },
      }),
    });
    await eventually(
      () =>
        kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=canary', '-o', 'jsonpath={.items[*].status.containerStatuses[*].ready}']).then((s) =>
          expect(s).toMatch(/^true( true)*$/),
        ),
      120_000,
      1_000,
    );
    const run = await attach('rollout/canary', ['--mirror', '--', 'true']).done;
    expect(run.stderr).toMatch(new RegExp(`session \\S+ on pod ${namespace}/canary-1-`));
    expect(run.code).toBe(0);
  } finally {
    await kubectl(['-n', namespace, 'delete', 'rollout', 'canary', '--ignore-not-found']).catch(() => undefined);
    await kubectl(['delete', 'crd', 'rollouts.argoproj.io', '--ignore-not-found']);
  }
}, 300_000);
