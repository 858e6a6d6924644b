/**
 * copy_target and scale_down: a session on a copy of a Job's pod made for it, removed when the
 * session ends; a workload scaled to zero for a copy and back, even when the CLI is killed; a copy
 * that can't be scheduled, and targets that can't be copied, get one clear line and leave nothing.
 */
import { createNamespaces, deleteNamespaces, kubeconfigPath, kubectl, rolledOut, webhookReady } from './cluster';
import { DEMO_IMAGE, demoDeployment, manifests } from './manifests';
import { VERSION } from '../../common/version';
import { eventually, mirrord, type Mirrord } from './mirrord';
import { stoppedAfterEach } from './stopped-after-each';

const namespace = `e2e-copy-${process.pid}`;
const sessions = stoppedAfterEach();

/** `mirrord attach TARGET -n NAMESPACE … FLAGS -- COMMAND`. */
function attach([target, ...rest]: string[], env: NodeJS.ProcessEnv = process.env): Mirrord {
  const session = mirrord(['attach', target!, '-n', namespace, '--kubeconfig', kubeconfigPath(), ...rest], { env });
  sessions.push(session);
  return session;
}

const copies = async () => (await kubectl(['-n', namespace, 'get', 'jobs,pods', '-l', 'mirrord.dev/copy', '-o', 'name'])).trim();
const replicas = async (name: string) =>
  (await kubectl(['-n', namespace, 'get', 'deployment', name, '-o', 'jsonpath={.spec.replicas} {.metadata.labels.mirrord\\.dev/scaled-down}'])).trim();

/** A Job whose pod works a queue (here: serves HTTP) until stopped, with a variable of its own. */
const worker = JSON.stringify({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'worker', namespace },
  spec: {
    template: {
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'worker', image: DEMO_IMAGE, imagePullPolicy: 'Never', args: ['serve'], env: [{ name: 'WHO', value: 'the job' }] }],
      },
    },
  },
});

beforeAll(async () => {
  await webhookReady();
  await createNamespaces({ labeled: [namespace] });
  const probed = JSON.parse(
    demoDeployment(namespace, 'app', { replicas: 2, service: true, terminationGracePeriodSeconds: 5, env: { WHO: 'the app' } }).split('\n---\n')[0]!,
  );
  probed.spec.template.spec.containers[0].readinessProbe = { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 2 };
  // No node has a thousand cores: a copy of it can't be scheduled (nor can its pods, of which it has none).
  const huge = JSON.parse(demoDeployment(namespace, 'huge', { replicas: 0 }));
  huge.spec.template.spec.containers[0].resources = { requests: { cpu: '1000' } };
  // Its init container holds the pod (and so the sidecar, which starts after it) for a minute.
  const slow = JSON.parse(demoDeployment(namespace, 'slow', { replicas: 0 }));
  slow.spec.template.spec.initContainers = [
    { name: 'wait', image: `mirrord-sidecar:${VERSION}`, imagePullPolicy: 'Never', command: ['/bin/bash', '-c', 'read -t 60 < /dev/zero || true'] },
  ];
  await kubectl(['apply', '-f', '-'], { input: manifests(JSON.stringify(probed), JSON.stringify(huge), JSON.stringify(slow), worker) });
  await rolledOut(namespace, 'app', 180);
}, 10 * 60_000);

afterAll(async () => {
  await deleteNamespaces(namespace);
}, 10 * 60_000);

test("a Job's copy runs the session with the Job's environment, without probes or labels, and is deleted when it ends", async () => {
  const session = attach(['job/worker', '--copy-target', '--', 'sh', '-c', 'echo "WHO=$WHO"; echo "host=$(hostname)"; sleep 600']);
  await session.waitFor(/host=\S+\n/, 'stdout', 120_000);
  expect(session.output().stderr).toMatch(/copying job\/worker \(job\/mirrord-copy-[0-9a-f]{8}\)/);
  const [who, host] = session.output().stdout.trim().split('\n');
  expect(who).toBe('WHO=the job');
  const pod = host!.slice('host='.length);
  expect(pod).toMatch(/^mirrord-copy-[0-9a-f]{8}-[a-z0-9]{5}$/);
  // None of the target's labels (its Services and controllers select on them), and no probe.
  const seen = await kubectl([
    '-n',
    namespace,
    'get',
    'pod',
    pod,
    '-o',
    'jsonpath={.metadata.labels.job-name} {.metadata.labels.mirrord\\.dev/copy} {.spec.containers[0].readinessProbe}',
  ]);
  expect(seen.trim()).toBe(`${pod.slice(0, -6)} true`);
  await session.stop();
  await eventually(async () => expect(await copies()).toBe(''), 60_000, 1_000);
}, 240_000);

test('scale_down scales the workload to zero for the copy, and the operator scales it back when the CLI is killed', async () => {
  // No reconnection window: the copy ends 30 s after the CLI stops extending its deadline.
  const session = attach(['deploy/app', '--scale-down', '--', 'sleep', '600'], { ...process.env, MIRRORD_RECONNECT_TIMEOUT: '0' });
  await session.waitFor(/session \S+ on pod \S+\/mirrord-copy-/, 'stderr', 120_000);
  expect(session.output().stderr).toContain('scaling deployment/app down from 2 to 0 for the session');
  expect(await replicas('app')).toBe('0 true');
  process.kill(-session.child.pid!, 'SIGKILL');
  await eventually(async () => expect(await copies()).toBe(''), 120_000, 2_000);
  await eventually(async () => expect(await replicas('app')).toBe('2'), 60_000, 2_000);
  await rolledOut(namespace, 'app', 120);
}, 360_000);

test('scale_down ends by itself with the session: the workload is back at once', async () => {
  const run = await attach(['deploy/app', '--scale-down', '--', 'sh', '-c', 'echo "WHO=$WHO"']).done;
  expect(run.code).toBe(0);
  expect(run.stdout).toBe('WHO=the app\n');
  expect(await replicas('app')).toBe('2');
  await eventually(async () => expect(await copies()).toBe(''), 60_000, 1_000);
}, 240_000);

test("a copy that can't be scheduled, and targets that can't be copied: one clear line, nothing left", async () => {
  const unschedulable = await attach(['deploy/huge', '--copy-target', '--', 'true']).done;
  expect(unschedulable.code).not.toBe(0);
  expect(unschedulable.stderr).toMatch(
    /the copy of deployment\/huge \(pod mirrord-copy-[0-9a-f]{8}-\w+\) cannot be scheduled: 0\/1 nodes are available: 1 Insufficient cpu/,
  );
  const cronjob = await attach(['cronjob/nightly', '--', 'true']).done;
  expect(cronjob.stderr).toContain('cronjob/nightly has no pods of its own to attach to');
  const missing = await attach(['cronjob/nightly', '--copy-target', '--', 'true']).done;
  expect(missing.stderr).toContain(`cronjob/nightly not found in namespace ${namespace}`);
  const service = await attach(['svc/app', '--copy-target', '--', 'true']).done;
  expect(service.stderr).toContain('a copy is made of a workload, and service/app is a Service');
  const job = await attach(['job/worker', '--scale-down', '--', 'true']).done;
  expect(job.stderr).toContain('scale_down scales a workload with replicas, and job/worker has none');
  for (const run of [cronjob, missing, service, job]) expect(run.code).not.toBe(0);
  await eventually(async () => expect(await copies()).toBe(''), 60_000, 1_000);
  expect(await replicas('app')).toBe('2');
}, 240_000);

test('Ctrl-C while the copy starts removes it before the CLI exits', async () => {
  const session = attach(['deploy/slow', '--copy-target', '--', 'true']);
  await session.waitFor(/copying deployment\/slow \(job\/mirrord-copy-/, 'stderr', 60_000);
  await eventually(async () => expect(await copies()).toMatch(/^job\.batch\/mirrord-copy-/), 30_000, 500);
  process.kill(session.child.pid!, 'SIGINT');
  const run = await session.done;
  expect(run.code).toBe(130);
  expect(run.stderr).toContain('SIGINT: removing what was started in the cluster');
  // Deleted by the CLI, not by a deadline: gone at once (the pod within its grace period).
  expect((await kubectl(['-n', namespace, 'get', 'jobs', '-l', 'mirrord.dev/copy', '-o', 'name'])).trim()).toBe('');
  await eventually(async () => expect(await copies()).toBe(''), 60_000, 1_000);
}, 180_000);
