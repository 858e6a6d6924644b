/**
 * Database branches' side of the API server: a branch's Pod, Service and Secret (made together,
 * deleted together), the branch Pods of every namespace, their annotations (written against the
 * Pod's resourceVersion), and the Secrets and ConfigMaps a source's connection is read from.
 */
import { CoreV1Api, type KubeConfig, type V1Pod, type V1Secret, type V1Service } from '../../common/kube-client';
import { statusOf } from '../../common/kube-status';
import { DB_BRANCH_LABEL, dbBranchObjectName } from '../../protocol/db-branch';
import { BranchNameTaken, type BranchObjects } from '../db-branches/branch-objects';
import type { KeyReaders } from '../env/container-variable';

export interface DbBranchCluster {
  readBranch(namespace: string, id: string): Promise<V1Pod | undefined>;
  /**
   * Makes the Pod, the Secret and the Service; `exists` when another request made the Pod first
   * (nothing is then changed); BranchNameTaken when an object not of a branch has the name.
   */
  createBranch(objects: BranchObjects): Promise<'created' | 'exists'>;
  /** Deletes whatever of the three exists. */
  deleteBranch(namespace: string, id: string): Promise<void>;
  /** Every branch Pod, in every namespace. */
  listBranches(): Promise<V1Pod[]>;
  /** Sets (a string) or removes (null) annotations; false when the Pod changed since `basedOn` (or is gone). */
  annotateBranch(namespace: string, id: string, annotations: Record<string, string | null>, basedOn: string): Promise<boolean>;
  keys(namespace: string): Required<KeyReaders>;
}

/** The scheduling gate a branch Pod is created with, removed once its Secret exists. */
const BRANCH_GATE = 'mirrord.dev/db-branch-secret';

export function dbBranchCluster(config: KubeConfig): DbBranchCluster {
  const core = config.makeApiClient(CoreV1Api);
  /**
   * Creates a Secret or Service of branch `id`; one of that name left by an earlier branch of
   * the id (its labels say so) is replaced, anyone else's is not touched.
   */
  const createOwned = async (
    create: () => Promise<unknown>,
    read: () => Promise<V1Secret | V1Service>,
    remove: () => Promise<unknown>,
    id: string,
    what: string,
  ) => {
    try {
      await create();
      return;
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
    if ((await read()).metadata?.labels?.[DB_BRANCH_LABEL.id] !== id) {
      throw new BranchNameTaken(`${what} exists and is not a database branch's: delete it or choose another id`);
    }
    await remove();
    await create();
  };
  const ungate = async (namespace: string, name: string) => {
    for (let attempt = 0; ; attempt++) {
      const current = await core.readNamespacedPod({ namespace, name });
      current.spec!.schedulingGates = (current.spec!.schedulingGates ?? []).filter((gate) => gate.name !== BRANCH_GATE);
      try {
        await core.replaceNamespacedPod({ namespace, name, body: current });
        return;
      } catch (error) {
        if (statusOf(error) !== 409 || attempt >= 4) throw error;
      }
    }
  };
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
      const id = pod.metadata!.labels![DB_BRANCH_LABEL.id]!;
      // The Pod decides who made the branch: created first, held back from scheduling until the
      // Secret it reads exists; the Secret and the Service belong to it (garbage-collected with it).
      let made: V1Pod;
      try {
        made = await core.createNamespacedPod({ namespace, body: { ...pod, spec: { ...pod.spec!, schedulingGates: [{ name: BRANCH_GATE }] } } });
      } catch (error) {
        if (statusOf(error) === 409) return 'exists';
        throw error;
      }
      const ownerReferences = [{ apiVersion: 'v1', kind: 'Pod', name, uid: made.metadata!.uid!, controller: true }];
      try {
        await createOwned(
          () => core.createNamespacedSecret({ namespace, body: { ...secret, metadata: { ...secret.metadata, ownerReferences } } }),
          () => core.readNamespacedSecret({ namespace, name }),
          () => core.deleteNamespacedSecret({ namespace, name }),
          id,
          `Secret ${namespace}/${name}`,
        );
        await createOwned(
          () => core.createNamespacedService({ namespace, body: { ...service, metadata: { ...service.metadata, ownerReferences } } }),
          () => core.readNamespacedService({ namespace, name }),
          () => core.deleteNamespacedService({ namespace, name }),
          id,
          `Service ${namespace}/${name}`,
        );
        await ungate(namespace, name);
      } catch (error) {
        await ignoring([404], () => core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }));
        throw error;
      }
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
