/**
 * The syscall mode on the cluster: the demo app's static Go binary (what the cluster's image
 * runs) as the local program under `mirrord attach deploy/app`, which picks the syscall mode for
 * it (`auto`). It sees the pod spec's environment and a file of the pod's ConfigMap volume,
 * reaches the app's Service by its short name with Go's own resolver (the pod's search domains),
 * has a child process covered too, and answers the Service's requests with the filter's header.
 */
import { createNamespaces, deleteNamespaces, demoProgram, kubeconfigPath, kubectl, rolledOut, webhookReady } from './cluster';
import { demoDeployment, manifests } from './manifests';
import { httpGet } from '../harness/http-get';
import { eventually, mirrord, type Mirrord } from './mirrord';
import { stoppedAfterEach } from './stopped-after-each';

const namespace = `e2e-syscall-${process.pid}`;
const sessions = stoppedAfterEach();
let serviceIp = '';

function attach(args: string[], command: string[]): Mirrord {
  const session = mirrord(['attach', 'deploy/app', '-n', namespace, '--kubeconfig', kubeconfigPath(), ...args, '--', ...command]);
  sessions.push(session);
  return session;
}

beforeAll(async () => {
  await webhookReady();
  await createNamespaces({ labeled: [namespace] });
  const app = JSON.parse(demoDeployment(namespace, 'app', { env: { GREETING: 'hello from the pod spec' } }).split('\n---\n')[0]!);
  app.spec.template.spec.volumes = [{ name: 'config', configMap: { name: 'app-config' } }];
  app.spec.template.spec.containers[0].volumeMounts = [{ name: 'config', mountPath: '/etc/demo' }];
  const config = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config', namespace }, data: { 'greeting.txt': 'a file of the pod\n' } };
  const service = demoDeployment(namespace, 'app', { service: true }).split('\n---\n')[1]!;
  await kubectl(['apply', '-f', '-'], { input: manifests(JSON.stringify(config), JSON.stringify(app), service) });
  await rolledOut(namespace, 'app', 180);
  serviceIp = (await kubectl(['-n', namespace, 'get', 'service', 'app', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  await eventually(() => httpGet(serviceIp, 80, '/ready'), 60_000);
}, 10 * 60_000);

afterAll(async () => {
  await deleteNamespaces(namespace);
}, 10 * 60_000);

const run = async (command: string[]) => {
  const result = await attach([], [demoProgram(), ...command]).done;
  expect(result.stderr).not.toMatch(/warning|could not/);
  expect(result.code).toBe(0);
  return result.stdout;
};

test("a static Go program sees the pod spec's environment, its host name and the pod's files, with no warning", async () => {
  expect(await run(['env', 'GREETING'])).toBe('GREETING=hello from the pod spec\n');
  const pod = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  expect(await run(['read', '/proc/sys/kernel/hostname'])).toBe(`${pod}\n`);
  expect(await run(['read', '/etc/demo/greeting.txt'])).toBe('a file of the pod\n');
}, 120_000);

test("it reaches the app's Service by its short name with Go's resolver, and so does a process it starts", async () => {
  expect(await run(['get', 'http://app/from-go'])).toMatch(
    new RegExp(`^resolved app to \\[${serviceIp.replace(/\./g, '\\.')}\\]\nstatus 200\nhello from app-\\S+ \\(GET /from-go\\)\n$`),
  );
  expect(await run(['child', 'get', 'http://app/from-child'])).toMatch(
    /^child: resolved app to \[.*\]\nstatus 200\nhello from app-\S+ \(GET \/from-child\)\n$/,
  );
}, 120_000);

test('a static Go server answers the requests with the filter’s header; the others reach the app', async () => {
  // Started by env (dynamically linked): --interception syscall covers what it execs.
  const session = attach(
    ['--steal', '--http-header-filter', '^x-user: me$', '--interception', 'syscall'],
    ['env', 'PORT=8080', 'GRPC_PORT=0', 'DEMO_NAME=laptop', demoProgram(), 'serve'],
  );
  await session.waitFor(/subscribed port 8080/, 'stderr', 60_000);
  expect(await httpGet(serviceIp, 80, '/mine', { 'x-user': 'me' })).toBe('hello from laptop (GET /mine)\n');
  expect(await httpGet(serviceIp, 80, '/theirs')).toMatch(/^hello from app-\S+ \(GET \/theirs\)\n$/);
}, 120_000);
