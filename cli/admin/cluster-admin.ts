/**
 * The API calls behind install, uninstall and the listings: apply and delete objects, wait for
 * a Deployment, list and restart workloads. Thin on purpose: the decisions are in the pure
 * modules beside it, which the unit tests cover; @kubernetes/client-node can't load under jest.
 */
import {
  AppsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
  type V1Deployment,
  type V1Pod,
  type V1ReplicaSet,
} from '../../common/kube-client';
import { statusOf, type Kube } from '../kube/cluster';
import { sidecarOf } from '../kube/pod-choice';
import type { Workloads } from './inventory';
import type { KubeObject } from './manifests';
import { restartPatch, type Workload } from './restart';

const FIELD_MANAGER = 'mirrord';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

/**
 * Server-side apply, forcing ownership of the fields we set: a re-install takes over what an
 * earlier `kubectl apply` set, and leaves fields others own (the webhook's caBundle) alone.
 */
export async function applyObject(kube: Kube, object: KubeObject): Promise<ApplyOutcome> {
  const api = KubernetesObjectApi.makeApiClient(kube.config);
  const before = await api.read(object as KubernetesObject & { metadata: { name: string } }).catch((error: unknown) => {
    if (statusOf(error) === 404) return undefined;
    throw error;
  });
  const after = await api.patch(object as KubernetesObject, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  if (!before) return 'created';
  return before.metadata?.resourceVersion === after.metadata?.resourceVersion ? 'unchanged' : 'configured';
}

/** With `dryRun`, the API server checks the deletion (existence, permissions) without doing it. */
export async function deleteObject(kube: Kube, object: KubeObject, dryRun = false): Promise<'deleted' | 'absent'> {
  const api = KubernetesObjectApi.makeApiClient(kube.config);
  try {
    await api.delete(object as KubernetesObject, undefined, dryRun ? 'All' : undefined, undefined, undefined, 'Background');
    return 'deleted';
  } catch (error) {
    if (statusOf(error) === 404) return 'absent';
    throw error;
  }
}

export function isAvailable(deployment: V1Deployment | undefined): boolean {
  const generation = deployment?.metadata?.generation ?? 0;
  const observed = deployment?.status?.observedGeneration ?? 0;
  const available = (deployment?.status?.conditions ?? []).some((c) => c.type === 'Available' && c.status === 'True');
  return available && observed >= generation && (deployment?.status?.updatedReplicas ?? 0) >= (deployment?.spec?.replicas ?? 1);
}

/** Polls until the Deployment is Available with its current template, or the time is up. */
export async function waitAvailable(kube: Kube, namespace: string, name: string, timeoutMs: number): Promise<boolean> {
  const apps = kube.config.makeApiClient(AppsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const deployment = await apps.readNamespacedDeployment({ name, namespace }).catch(() => undefined);
    if (isAvailable(deployment)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Pods in one namespace, or in all (`namespace` undefined). */
export async function listPods(kube: Kube, namespace?: string): Promise<V1Pod[]> {
  const core = kube.config.makeApiClient(CoreV1Api);
  return (namespace ? await core.listNamespacedPod({ namespace }) : await core.listPodForAllNamespaces()).items;
}

/**
 * Deletes the public key sets the operator wrote into injected namespaces (they outlive it: the
 * operator can't remove them once it is gone). Returns them as NAMESPACE/NAME.
 */
export async function deletePublishedKeys(kube: Kube, dryRun = false): Promise<string[]> {
  const core = kube.config.makeApiClient(CoreV1Api);
  const { items } = await core.listConfigMapForAllNamespaces({ labelSelector: 'app.kubernetes.io/name=mirrord-operator,app.kubernetes.io/component=keys' });
  const deleted: string[] = [];
  for (const map of items) {
    const { name, namespace } = map.metadata as { name: string; namespace: string };
    try {
      await core.deleteNamespacedConfigMap({ name, namespace, ...(dryRun && { dryRun: 'All' }) });
      deleted.push(`${namespace}/${name}`);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }
  return deleted;
}

/** Pods carrying the sidecar, in one namespace or all. */
export async function injectedPods(kube: Kube, namespace?: string): Promise<V1Pod[]> {
  return (await listPods(kube, namespace)).filter((p) => sidecarOf(p));
}

/** Deployments, StatefulSets and pods, in one namespace or all. */
export async function listWorkloads(kube: Kube, namespace?: string): Promise<Workloads> {
  const apps = kube.config.makeApiClient(AppsV1Api);
  const [deployments, statefulsets, pods] = await Promise.all([
    namespace ? apps.listNamespacedDeployment({ namespace }) : apps.listDeploymentForAllNamespaces(),
    namespace ? apps.listNamespacedStatefulSet({ namespace }) : apps.listStatefulSetForAllNamespaces(),
    listPods(kube, namespace),
  ]);
  return { deployments: deployments.items, statefulsets: statefulsets.items, pods };
}

/** ReplicaSets in all namespaces: what leads a pod to its Deployment. */
export async function listReplicaSets(kube: Kube): Promise<V1ReplicaSet[]> {
  return (await kube.config.makeApiClient(AppsV1Api).listReplicaSetForAllNamespaces()).items;
}

export async function restartWorkload(kube: Kube, workload: Workload, now = new Date()): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kube.config);
  await api.patch(restartPatch(workload, now), undefined, undefined, FIELD_MANAGER, undefined, PatchStrategy.StrategicMergePatch);
}
