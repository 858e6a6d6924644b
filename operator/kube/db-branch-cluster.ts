/**
 * Database branches' side of the API server: a branch's Pod, Service and Secret (made together,
 * deleted together), the branch Pods of every namespace, their annotations (written against the
 * Pod's resourceVersion), and the Secrets and ConfigMaps a source's connection is read from.
 */
import { CoreV1Api, type KubeConfig, type V1Pod } from '../../common/kube-client';
import { statusOf } from '../../common/kube-status';
import { DB_BRANCH_LABEL, dbBranchObjectName } from '../../protocol/db-branch';
import type { BranchObjects } from '../db-branches/branch-objects';
import type { KeyReaders } from '../env/container-variable';

export interface DbBranchCluster {
  readBranch(namespace: string, id: string): Promise<V1Pod | undefined>;
  /** Makes the Secret, the Pod and the Service; `exists` when another request made the Pod first (nothing is then changed). */
  createBranch(objects: BranchObjects): Promise<'created' | 'exists'>;
  /** Deletes whatever of the three exists. */
  deleteBranch(namespace: string, id: string): Promise<void>;
  /** Every branch Pod, in every namespace. */
  listBranches(): Promise<V1Pod[]>;
  /** Sets (a string) or removes (null) annotations; false when the Pod changed since `basedOn` (or is gone). */
  annotateBranch(namespace: string, id: string, annotations: Record<string, string | null>, basedOn: string): Promise<boolean>;
  keys(namespace: string): Required<KeyReaders>;
}

export function dbBranchCluster(config: KubeConfig): DbBranchCluster {
  const core = config.makeApiClient(CoreV1Api);
  const ignoring = async <T>(codes: number[], call: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await call();
    } catch (error) {
      if (codes.includes(statusOf(error) ?? 0)) return undefined;
      throw error;
    }
  };
  return {
    readBranch: (namespace, id) => ignoring([404], () => core.readNamespacedPod({ namespace, name: dbBranchObjectName(id) })),
    createBranch: async ({ secret, pod, service }) => {
      const namespace = pod.metadata!.namespace!;
      const name = pod.metadata!.name!;
      // The Pod decides who made the branch: the Secret it reads is written first (replaced if a failed attempt left one).
      if (await ignoring([404], () => core.readNamespacedPod({ namespace, name }))) return 'exists';
      await ignoring([404], () => core.deleteNamespacedSecret({ namespace, name }));
      await core.createNamespacedSecret({ namespace, body: secret });
      try {
        await core.createNamespacedPod({ namespace, body: pod });
      } catch (error) {
        if (statusOf(error) === 409) return 'exists';
        throw error;
      }
      await ignoring([409], () => core.createNamespacedService({ namespace, body: service }));
      return 'created';
    },
    deleteBranch: async (namespace, id) => {
      const name = dbBranchObjectName(id);
      await Promise.all([
        ignoring([404], () => core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 2 })),
        ignoring([404], () => core.deleteNamespacedService({ namespace, name })),
        ignoring([404], () => core.deleteNamespacedSecret({ namespace, name })),
      ]);
    },
    listBranches: async () => (await core.listPodForAllNamespaces({ labelSelector: DB_BRANCH_LABEL.id })).items,
    annotateBranch: async (namespace, id, annotations, basedOn) => {
      const name = dbBranchObjectName(id);
      const pod = await ignoring([404], () => core.readNamespacedPod({ namespace, name }));
      if (!pod || pod.metadata?.resourceVersion !== basedOn) return false;
      const next = { ...(pod.metadata.annotations ?? {}) };
      for (const [key, value] of Object.entries(annotations)) {
        if (value === null) delete next[key];
        else next[key] = value;
      }
      pod.metadata.annotations = next;
      // A replace carries the resourceVersion: a concurrent change makes it fail rather than be lost.
      return (await ignoring([404, 409], () => core.replaceNamespacedPod({ namespace, name, body: pod }))) !== undefined;
    },
    keys: (namespace) => ({
      secret: async (name, key) => {
        const data = (await ignoring([404], () => core.readNamespacedSecret({ namespace, name })))?.data?.[key];
        return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
      },
      configMap: async (name, key) => (await ignoring([404], () => core.readNamespacedConfigMap({ namespace, name })))?.data?.[key],
    }),
  };
}
