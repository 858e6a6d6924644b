/**
 * Targetless sessions: a program with no workload behind it reaches a Service by its cluster
 * name from a pod started for it, and nothing of that pod is left afterwards, whether the CLI
 * ends it or dies.
 */
import { createNamespaces, deleteNamespaces, kubeconfigPath, kubectl, rolledOut, webhookReady } from './cluster';
import { demoDeployment } from './manifests';
import { eventually, mirrord, type Mirrord } from './mirrord';
import { stoppedAfterEach } from './stopped-after-each';

const namespace = `e2e-targetless-${process.pid}`;
const unlabeled = `e2e-targetless-off-${process.pid}`;
const sessions = stoppedAfterEach();

const targetless = (ns: string, command: string[]): Mirrord => {
  const session = mirrord(['attach', '--targetless', '-n', ns, '--kubeconfig', kubeconfigPath(), '--', ...command]);
  sessions.push(session);
  return session;
};
const jobs = async (ns: string) => (await kubectl(['-n', ns, 'get', 'jobs,pods', '-l', 'mirrord.dev/targetless', '-o', 'name'])).trim();

beforeAll(async () => {
  await webhookReady();
  await createNamespaces({ labeled: [namespace], unlabeled: [unlabeled] });
  await kubectl(['apply', '-f', '-'], { input: demoDeployment(namespace, 'app', { service: true }) });
  await rolledOut(namespace, 'app', 180);
}, 10 * 60_000);

afterAll(async () => {
  await deleteNamespaces(namespace, unlabeled);
}, 10 * 60_000);

test('a targetless program reaches a Service by its cluster name, and its pod is deleted when it ends', async () => {
  const fetch = `import urllib.request; print(urllib.request.urlopen('http://app.${namespace}.svc.cluster.local/', timeout=10).read().decode().strip())`;
  const run = await targetless(namespace, ['python3', '-c', fetch]).done;
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/^hello from app-/);
  expect(run.stderr).toMatch(/starting a targetless pod \(job\/mirrord-targetless-[0-9a-f]{8}\) in namespace/);
  await eventually(async () => expect(await jobs(namespace)).toBe(''), 60_000, 1_000);
}, 180_000);

test('a targetless pod whose CLI was killed ends itself once no session uses it, and the cluster removes it', async () => {
  const session = targetless(namespace, ['sleep', '120']);
  await session.waitFor(/session \S+ on pod/, 'stderr', 90_000);
  expect(await jobs(namespace)).toMatch(/^job\.batch\/mirrord-targetless-/);
  process.kill(-session.child.pid!, 'SIGKILL');
  // Its sidecar notices the session gone (pings), the pod's container 10 s after, the Job's TTL at once.
  await eventually(async () => expect(await jobs(namespace)).toBe(''), 90_000, 2_000);
}, 180_000);

test('a namespace not labeled for injection gets one clear line, and no Job', async () => {
  const run = await targetless(unlabeled, ['true']).done;
  expect(run.code).not.toBe(0);
  expect(run.stderr).toContain(`namespace ${unlabeled} is not labeled for injection`);
  expect(await jobs(unlabeled)).toBe('');
}, 60_000);
