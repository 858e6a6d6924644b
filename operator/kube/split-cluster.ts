/**
 * Queue splitting's side of the API server: the splits kept in ConfigMaps (one per split
 * workload, in its namespace), the workloads' queue registries, the Secrets and ConfigMap keys
 * they point at, the workload's pod template (read, and annotated to move it onto its split
 * queues or back), the pods still on a split and the workload's pods not on it yet.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
  type V1ConfigMap,
  type V1LabelSelector,
  type V1Pod,
  type V1PodTemplateSpec,
} from '../../common/kube-client';
import { statusOf } from '../../common/kube-status';
import { selectorString } from '../../common/label-selector';
import { ANNOTATION } from '../../common/pod-contract';
import { KIND_API } from '../../common/target-path';
import type { ConfigMapKeyReader } from '../queues/queue-name';
import type { QueueRegistry } from '../queues/registry';
import { decodeSplitState, encodeSplitState, splitStateName, type SplitState, type SplitWorkloadKind } from '../queues/split-state';
import type { SplitStore, StoredSplit } from '../queues/split-store';
import type { SecretKeyReader } from '../queues/connect';
import type { SplitCluster } from '../queues/split-runner';

const SPLIT_LABEL = 'mirrord.dev/queue-split';
const STATE_KEY = 'split.json';
const FIELD_MANAGER = 'mirrord-operator';
const REGISTRY = { group: 'mirrord.dev', version: 'v1', plural: 'mirrordworkloadqueueregistries' };

export interface SplitApi extends Omit<SplitCluster, 'liveSessions'> {
  queueRegistries(namespace: string): Promise<QueueRegistry[]>;
  workloadTemplate(namespace: string, kind: SplitWorkloadKind, name: string): Promise<V1PodTemplateSpec | undefined>;
  configMapKeys(namespace: string): ConfigMapKeyReader;
  /** The names of the workload's pods that may still run without this split annotation (they consume the original queues); undefined when the workload is gone. */
  podsOffSplit(namespace: string, workload: SplitState['workload'], annotation: string): Promise<string[] | undefined>;
}

/** A pod whose containers may still run (and so consume a queue): also one being deleted, for its grace period. */
function mayRun(pod: V1Pod): boolean {
  return pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

export function splitApi(config: KubeConfig): SplitApi {
  const core = config.makeApiClient(CoreV1Api);
  const custom = config.makeApiClient(CustomObjectsApi);
  const objects = KubernetesObjectApi.makeApiClient(config);
  const orUndefined = async <T>(call: Promise<T>): Promise<T | undefined> => {
    try {
      return await call;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  };
  const stored = (map: V1ConfigMap): StoredSplit[] => {
    const state = decodeSplitState(map.data?.[STATE_KEY]);
    return state ? [{ namespace: map.metadata!.namespace!, state, version: map.metadata!.resourceVersion! }] : [];
  };
  const reference = (namespace: string, kind: SplitWorkloadKind, name: string) => ({ ...KIND_API[kind], metadata: { name, namespace } });
  const readWorkload = async (namespace: string, kind: SplitWorkloadKind, name: string) =>
    (await orUndefined(objects.read(reference(namespace, kind, name)))) as { spec?: { template?: V1PodTemplateSpec; selector?: V1LabelSelector } } | undefined;

  const store: SplitStore = {
    read: async (namespace, name) => {
      const map = await orUndefined(core.readNamespacedConfigMap({ namespace, name }));
      return map ? stored(map)[0] : undefined;
    },
    write: async (namespace, state, basedOn) => {
      const name = splitStateName(state.workload);
      const body: V1ConfigMap = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name,
          namespace,
          resourceVersion: basedOn,
          labels: { [SPLIT_LABEL]: 'true', 'app.kubernetes.io/managed-by': 'mirrord-operator', 'app.kubernetes.io/part-of': 'mirrord' },
        },
        data: { [STATE_KEY]: encodeSplitState(state) },
      };
      try {
        if (basedOn === undefined) await core.createNamespacedConfigMap({ namespace, body });
        else await core.replaceNamespacedConfigMap({ namespace, name, body });
        return true;
      } catch (error) {
        if (statusOf(error) === 409) return false;
        throw error;
      }
    },
    remove: async (namespace, name) => void (await orUndefined(core.deleteNamespacedConfigMap({ namespace, name }))),
    list: async () => (await core.listConfigMapForAllNamespaces({ labelSelector: `${SPLIT_LABEL}=true` })).items.flatMap(stored),
  };

  return {
    store,
    queueRegistries: async (namespace) => ((await custom.listNamespacedCustomObject({ ...REGISTRY, namespace })) as { items: QueueRegistry[] }).items,
    registry: (namespace, name) => orUndefined(custom.getNamespacedCustomObject({ ...REGISTRY, namespace, name }) as Promise<QueueRegistry>),
    readSecret:
      (namespace): SecretKeyReader =>
      async (name, key) => {
        const secret = await orUndefined(core.readNamespacedSecret({ namespace, name }));
        const data = secret?.data?.[key];
        return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
      },
    configMapKeys:
      (namespace): ConfigMapKeyReader =>
      async (name, key) =>
        (await orUndefined(core.readNamespacedConfigMap({ namespace, name })))?.data?.[key],
    workloadTemplate: async (namespace, kind, name) => (await readWorkload(namespace, kind, name))?.spec?.template,
    podsOffSplit: async (namespace, workload, annotation) => {
      const found = await readWorkload(namespace, workload.kind, workload.name);
      if (!found) return undefined;
      // apps/v1 and Argo Rollouts require a selector: an empty one matches no pod.
      const labelSelector = selectorString(found.spec?.selector);
      if (!labelSelector) return [];
      return (await core.listNamespacedPod({ namespace, labelSelector })).items
        .filter((pod) => mayRun(pod) && pod.metadata?.annotations?.[ANNOTATION.splitQueues] !== annotation)
        .map((pod) => pod.metadata?.name ?? '');
    },
    // A change of the pod template's annotations rolls the workload out; the webhook sets the variables in the new pods.
    pointWorkload: async (namespace, workload, annotation) => {
      const body = {
        ...reference(namespace, workload.kind, workload.name),
        spec: { template: { metadata: { annotations: { [ANNOTATION.splitQueues]: annotation ?? null } } } },
      };
      await objects.patch(body as KubernetesObject, undefined, undefined, FIELD_MANAGER, undefined, PatchStrategy.MergePatch);
    },
    podsOnSplit: async (namespace, annotation) =>
      (await core.listNamespacedPod({ namespace })).items.filter((pod) => mayRun(pod) && pod.metadata?.annotations?.[ANNOTATION.splitQueues] === annotation)
        .length,
  };
}
