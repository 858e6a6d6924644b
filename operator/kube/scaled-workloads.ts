/**
 * The cluster side of scale_down's safety net (operator/copies/restore-scale.ts): the workloads
 * labeled as scaled down, in every namespace, the state of their copies' Jobs, and the patch
 * that restores them.
 */
import { AppsV1Api, BatchV1Api, CustomObjectsApi, type KubeConfig, type V1ObjectMeta } from '../../common/kube-client';
import { readScaleDown, restoreIfStillScaled, SCALED_DOWN_ANNOTATION, SCALED_DOWN_LABEL } from '../../common/copy-target';
import { workloadApi } from '../../common/kube-merge-patch';
import { statusOf } from '../../common/kube-status';
import { KIND_API } from '../../common/target-path';
import type { ScaleRestoreCluster, ScaledWorkload } from '../copies/restore-scale';

const FIELD_MANAGER = 'mirrord-operator';

export function scaleRestoreCluster(config: KubeConfig): ScaleRestoreCluster {
  const apps = config.makeApiClient(AppsV1Api);
  const batch = config.makeApiClient(BatchV1Api);
  const custom = config.makeApiClient(CustomObjectsApi);
  const workloads = workloadApi(config, FIELD_MANAGER);
  const labelSelector = `${SCALED_DOWN_LABEL}=true`;
  const recorded = (api: { apiVersion: string; kind: string }, items: { metadata?: V1ObjectMeta }[]): ScaledWorkload[] =>
    items.flatMap(({ metadata }) => {
      const record = readScaleDown(metadata?.annotations?.[SCALED_DOWN_ANNOTATION]);
      return record && metadata?.name && metadata.namespace ? [{ ...api, namespace: metadata.namespace, name: metadata.name, record }] : [];
    });
  return {
    scaledDown: async () => {
      const [deployments, statefulsets, replicasets, rollouts] = await Promise.all([
        apps.listDeploymentForAllNamespaces({ labelSelector }),
        apps.listStatefulSetForAllNamespaces({ labelSelector }),
        apps.listReplicaSetForAllNamespaces({ labelSelector }),
        // Argo Rollouts' CRD may not be installed: then there are none.
        custom
          .listClusterCustomObject({ group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts', labelSelector })
          .then((list) => (list as { items: { metadata?: V1ObjectMeta }[] }).items)
          .catch((error: unknown) => {
            if (statusOf(error) === 404) return [];
            throw error;
          }),
      ]);
      return [
        ...recorded(KIND_API.deployment, deployments.items),
        ...recorded(KIND_API.statefulset, statefulsets.items),
        ...recorded(KIND_API.replicaset, replicasets.items),
        ...recorded(KIND_API.rollout, rollouts),
      ];
    },
    copyState: async (namespace, name) => {
      try {
        const job = await batch.readNamespacedJob({ namespace, name });
        const over = job.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
        return over || job.metadata?.deletionTimestamp ? 'finished' : 'running';
      } catch (error) {
        if (statusOf(error) === 404) return 'gone';
        throw error;
      }
    },
    restore: async ({ apiVersion, kind, namespace, name, record }) => {
      await restoreIfStillScaled(workloads, { apiVersion, kind, metadata: { name, namespace } }, record);
    },
  };
}
