/**
 * The webhook from manifests/, running in the cluster (`cluster:up` installs it after
 * `npm run build`): the real API server applies every patch it returns, and the kubelet runs
 * the result. Pods of labeled namespaces get the sidecar; unlabeled namespaces, opted-out and
 * hostNetwork pods don't; with the webhook gone, pods are still created (failurePolicy Ignore).
 */
import { join } from 'node:path';
import { createNamespaces, deleteNamespaces, kubectl, podReady, webhookReady } from './cluster';

const repo = join(__dirname, '..', '..');
const suffix = process.pid;
const labeled = `e2e-inject-${suffix}`;
const unlabeled = `e2e-plain-${suffix}`;

interface PodJson {
  metadata: { annotations?: Record<string, string> };
  spec: { containers: { name: string; image: string }[]; initContainers?: { name: string; image: string; restartPolicy?: string }[] };
  status: { containerStatuses?: { name: string; ready: boolean }[]; initContainerStatuses?: { name: string; ready: boolean }[] };
}

function podManifest(namespace: string, name: string, extra: { annotations?: Record<string, string>; hostNetwork?: boolean } = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, annotations: extra.annotations ?? {} },
    spec: {
      hostNetwork: extra.hostNetwork ?? false,
      containers: extra.hostNetwork
        ? // On the host's network a pod must not listen anywhere: pause only sleeps.
          [{ name: 'app', image: 'mirrord.local/pause:3.10', imagePullPolicy: 'Never' }]
        : [{ name: 'app', image: 'mirrord.local/demo:dev', imagePullPolicy: 'Never', args: ['serve'] }],
    },
  });
}

async function createReadyPod(namespace: string, name: string, extra: Parameters<typeof podManifest>[2] = {}): Promise<PodJson> {
  await kubectl(['apply', '-f', '-'], { input: podManifest(namespace, name, extra) });
  await podReady(namespace, name);
  return JSON.parse(await kubectl(['-n', namespace, 'get', 'pod', name, '-o', 'json'])) as PodJson;
}

function sidecars(pod: PodJson): string[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers].filter((c) => c.image.includes('mirrord-sidecar')).map((c) => c.name);
}

beforeAll(async () => {
  await webhookReady().catch((error: Error) => {
    throw new Error(`the webhook from manifests/ is not running (cluster:up installs it after npm ci and npm run build): ${error.message}`);
  });
  await createNamespaces({ labeled: [labeled], unlabeled: [unlabeled] });
}, 10 * 60_000);

afterAll(async () => {
  await deleteNamespaces(labeled, unlabeled);
}, 10 * 60_000);

test('a pod in a labeled namespace runs with the sidecar Ready', async () => {
  const pod = await createReadyPod(labeled, 'injected');
  expect(pod.metadata.annotations?.['mirrord.dev/injected']).toBeDefined();
  const names = sidecars(pod);
  expect(names).toHaveLength(1);
  const statuses = [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])];
  expect(statuses.find((s) => s.name === names[0])?.ready).toBe(true);
}, 180_000);

test('a pod in an unlabeled namespace runs without it', async () => {
  const pod = await createReadyPod(unlabeled, 'plain');
  expect(sidecars(pod)).toEqual([]);
  expect(pod.metadata.annotations?.['mirrord.dev/injected']).toBeUndefined();
}, 180_000);

test('an opted-out pod runs without it', async () => {
  const pod = await createReadyPod(labeled, 'opted-out', { annotations: { 'mirrord.dev/inject': 'false' } });
  expect(sidecars(pod)).toEqual([]);
}, 180_000);

test('a hostNetwork pod is untouched', async () => {
  const pod = await createReadyPod(labeled, 'host-network', { hostNetwork: true });
  expect(sidecars(pod)).toEqual([]);
  expect(pod.spec.containers.map((c) => c.name)).toEqual(['app']);
}, 180_000);

test('without the webhook Deployment, new pods are still created', async () => {
  await kubectl(['-n', 'mirrord-system', 'delete', 'deployment', 'mirrord-webhook', '--wait=true'], { timeoutMs: 120_000 });
  try {
    await kubectl(['-n', 'mirrord-system', 'wait', '--for=delete', 'pod', '-l', 'app.kubernetes.io/name=mirrord-webhook', '--timeout=60s'], {
      timeoutMs: 70_000,
    });
    const pod = await createReadyPod(labeled, 'webhook-gone');
    expect(sidecars(pod)).toEqual([]);
  } finally {
    await kubectl(['apply', '-k', join(repo, 'manifests')], { timeoutMs: 120_000 });
    await webhookReady();
  }
}, 400_000);
