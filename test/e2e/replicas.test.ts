/**
 * One attach on every replica of a workload: a filtered steal on a 3-replica Deployment is
 * answered by the local process whichever replica the Service sends a request to, and a rollout
 * during the session moves the sessions to the new pods without stopping the process.
 */
import http from 'node:http';
import { join } from 'node:path';
import { createNamespaces, deleteNamespaces, kubectl, rolledOut, webhookReady } from './cluster';
import { demoDeployment } from './manifests';
import { eventually, FIXTURES, mirrord, type Mirrord } from './mirrord';

const namespace = `e2e-replicas-${process.pid}`;
const ANSWER = join(FIXTURES, 'answer.py');
const sessions: Mirrord[] = [];
let serviceIp = '';

/** The body of GET `path` through the app's Service (kube-proxy picks a replica per connection). */
function throughService(path: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: serviceIp, port: 80, path, headers, agent: false, timeout: 10_000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${path} timed out`)));
    request.on('error', reject);
  });
}

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
  await kubectl(['apply', '-f', '-'], { input: demoDeployment(namespace, 'app', { replicas: 3, service: true, terminationGracePeriodSeconds: 5 }) });
  await rolledOut(namespace, 'app', 180);
  serviceIp = (await kubectl(['-n', namespace, 'get', 'service', 'app', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
}, 10 * 60_000);

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.stop()));
});

afterAll(async () => {
  await deleteNamespaces(namespace);
}, 10 * 60_000);

test('a filtered steal on 3 replicas answers every matching request locally, and a rollout moves it to the new pods', async () => {
  const session = mirrord([
    'attach',
    'deploy/app',
    '-n',
    namespace,
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
  await session.waitFor(/sessions on 3 pods of the workload: app-/, 'stderr', 60_000);
  await session.waitFor(/port 8080 \(steal\) on 3 pods/, 'stderr', 60_000);

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
