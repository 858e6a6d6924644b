/**
 * `mirrord attach deploy/app` as a user runs it: the built CLI resolves the Deployment to its
 * injected pod, reaches the sidecar through the API server's port-forward, and runs a real local
 * program under the layer. Another pod's requests reach that program; it reaches a cluster-only
 * Service by name; it sees the pod spec's environment. A Deployment in an unlabeled namespace
 * gets the explanation and the fix.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespaces, deleteNamespaces, kubeconfigPath, kubectl, podReady, rolledOut, webhookReady } from './cluster';
import { demoClient, demoDeployment, manifests } from './manifests';
import { eventually, mirrord } from './mirrord';

const namespace = `e2e-attach-${process.pid}`;
const unlabeled = `e2e-bare-${process.pid}`;

let podIp = '';
const target = () => ['deploy/app', '-n', namespace, '--kubeconfig', kubeconfigPath()];
const fromClient = (path: string) => kubectl(['-n', namespace, 'exec', 'client', '--', '/demo', 'get', `http://${podIp}:8080${path}`]);

beforeAll(async () => {
  await webhookReady();
  await createNamespaces({ labeled: [namespace], unlabeled: [unlabeled] });
  await kubectl(['apply', '-f', '-'], {
    input: manifests(demoDeployment(namespace, 'app', { env: { GREETING: 'hello from the pod spec' }, service: true }), demoClient(namespace)),
  });
  await kubectl(['apply', '-f', '-'], { input: demoDeployment(unlabeled, 'app', { service: true }) });
  await rolledOut(namespace, 'app');
  await podReady(namespace, 'client');
  podIp = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();
}, 10 * 60_000);

afterAll(async () => {
  await deleteNamespaces(namespace, unlabeled);
}, 10 * 60_000);

test('a local server under `mirrord attach deploy/app --steal` answers the pod’s traffic, and the app gets it back after', async () => {
  expect(await eventually(() => fromClient('/before'))).toContain('hello from');
  const dir = mkdtempSync(join(tmpdir(), 'mirrord-e2e-'));
  writeFileSync(join(dir, 'marker.txt'), 'served from the laptop\n');
  const session = mirrord(['attach', ...target(), '--steal', '--', 'python3', '-u', '-m', 'http.server', '8080'], { cwd: dir });
  try {
    const answer = await eventually(async () => {
      const out = await fromClient('/marker.txt');
      if (!out.includes('served from the laptop')) throw new Error(`not stolen yet: ${out}\n${session.output().stderr}`);
      return out;
    });
    expect(answer).toContain('served from the laptop');
    expect(session.output().stderr).toMatch(/session \w+ on pod e2e-attach-\d+\/app-/);
  } finally {
    session.child.kill('SIGTERM');
  }
  await session.done;
  expect(
    await eventually(async () => {
      const out = await fromClient('/after');
      if (!out.includes('hello from')) throw new Error(out);
      return out;
    }),
  ).toContain('hello from');
}, 120_000);

test("the local process reaches a cluster-only Service by name and sees the pod spec's environment", async () => {
  const run = await mirrord(['attach', ...target(), '--', 'sh', '-c', 'echo "$GREETING"; curl -sS --max-time 10 http://app/from-laptop']).done;
  expect(run.stderr).not.toMatch(/mirrord: could not/);
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/^hello from the pod spec\nhello from app-[\w-]+ \(GET \/from-laptop\)\n$/);
}, 60_000);

test('a workload in an unlabeled namespace gets the reason and the commands that fix it', async () => {
  const run = await mirrord(['attach', 'deploy/app', '-n', unlabeled, '--kubeconfig', kubeconfigPath(), '--', 'true']).done;
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(new RegExp(`mirrord: deployment/app has no mirrord sidecar: namespace ${unlabeled} is not labeled for injection`));
  expect(run.stderr).toMatch(
    new RegExp(`hint: kubectl label namespace ${unlabeled} mirrord.dev/injection=enabled && kubectl rollout restart deployment/app -n ${unlabeled}`),
  );
}, 60_000);
