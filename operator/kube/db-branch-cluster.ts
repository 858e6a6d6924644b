/**
 * Database branches' side of the API server: a branch's Pod, Service and Secret (made together,
 * deleted together), the branch Pods of every namespace, their annotations (written against the
 * Pod's resourceVersion), and the Secrets and ConfigMaps a source's connection is read from.
 */
import { CoreV1Api, KubernetesObjectApi, type KubeConfig, type KubernetesObject, type V1Pod } from '../../common/kube-client';
import { statusOf } from '../../common/kube-status';
import { DB_BRANCH_LABEL, dbBranchObjectName } from '../../protocol/db-branch';
import { BranchNameTaken, type BranchObjects } from '../db-branches/branch-objects';
import type { KeyReaders } from '../env/container-variable';

export interface DbBranchCluster {
  readBranch(namespace: string, id: string): Promise<V1Pod | undefined>;
  /**
   * Makes the Pod, the Secret and the Service, and answers the branch's Pod: the one made, or the
   * one another request made first (nothing of it is then changed; undefined if it went
   * meanwhile). BranchNameTaken when an object not of a branch has the name.
   */
  createBranch(objects: BranchObjects): Promise<V1Pod | undefined>;
  /** Deletes whatever of the three exists. */
  deleteBranch(namespace: string, id: string): Promise<void>;
  /** Every branch Pod, in every namespace. */
  listBranches(): Promise<V1Pod[]>;
  /** Sets (a string) or removes (null) annotations; false when the Pod changed since `basedOn` (or is gone). */
  annotateBranch(namespace: string, id: string, annotations: Record<string, string | null>, basedOn: string): Promise<boolean>;
  /** Readers of the namespace's Secrets and ConfigMaps for one ticket: each object is read once. */
  keys(namespace: string): Required<KeyReaders>;
}

/** The scheduling gate a branch Pod is created with, removed once its Secret exists. */
const BRANCH_GATE = 'mirrord.dev/db-branch-secret';

export function dbBranchCluster(config: KubeConfig): DbBranchCluster {
  const core = config.makeApiClient(CoreV1Api);
  const objects = KubernetesObjectApi.makeApiClient(config);
  const ignoring = async <T>(codes: number[], call: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await call();
    } catch (error) {
      if (codes.includes(statusOf(error) ?? 0)) return undefined;
      throw error;
    }
  };
  /**
   * Reads the Pod, changes it and replaces it: the replace carries the resourceVersion read, so a
   * concurrent change makes it fail rather than be lost. The Pod as replaced; undefined when it is
   * gone, changed meanwhile, or not at `basedOn`.
   */
  const replacePod = async (namespace: string, name: string, change: (pod: V1Pod) => void, basedOn?: string): Promise<V1Pod | undefined> => {
    const pod = await ignoring([404], () => core.readNamespacedPod({ namespace, name }));
    if (!pod || (basedOn !== undefined && pod.metadata?.resourceVersion !== basedOn)) return undefined;
    change(pod);
    return ignoring([404, 409], () => core.replaceNamespacedPod({ namespace, name, body: pod }));
  };
  /**
   * Creates a Secret or Service of branch `id`; one of that name left by an earlier branch of
   * the id (its labels say so) is replaced, anyone else's is not touched.
   */
  const createOwned = async (object: KubernetesObject, id: string) => {
    try {
      await objects.create(object);
      return;
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
    const { apiVersion, kind } = object;
    const reference = { apiVersion, kind, metadata: { name: object.metadata!.name!, namespace: object.metadata!.namespace! } };
    if ((await objects.read(reference)).metadata?.labels?.[DB_BRANCH_LABEL.id] !== id) {
      throw new BranchNameTaken(
        `${kind} ${reference.metadata.namespace}/${reference.metadata.name} exists and is not a database branch's: delete it or choose another id`,
      );
    }
    await objects.delete(reference);
    await objects.create(object);
  };
  /** Lets the scheduler have the branch Pod; the Pod as it then is. */
  const ungate = async (namespace: string, name: string): Promise<V1Pod> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const ungated = await replacePod(namespace, name, (pod) => {
        pod.spec!.schedulingGates = (pod.spec!.schedulingGates ?? []).filter((gate) => gate.name !== BRANCH_GATE);
      });
      if (ungated) return ungated;
    }
    throw new Error(`the branch Pod ${namespace}/${name} kept changing (or went) while its scheduling gate was removed`);
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
        if (statusOf(error) !== 409) throw error;
        return ignoring([404], () => core.readNamespacedPod({ namespace, name }));
      }
      const ownerReferences = [{ apiVersion: 'v1', kind: 'Pod', name, uid: made.metadata!.uid!, controller: true }];
      try {
        for (const object of [secret, service]) await createOwned({ ...object, metadata: { ...object.metadata, ownerReferences } }, id);
        return await ungate(namespace, name);
      } catch (error) {
        await ignoring([404], () => core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }));
        throw error;
      }
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
      const annotate = (pod: V1Pod) => {
        const next = { ...(pod.metadata!.annotations ?? {}) };
        for (const [key, value] of Object.entries(annotations)) {
          if (value === null) delete next[key];
          else next[key] = value;
        }
        pod.metadata!.annotations = next;
      };
      return (await replacePod(namespace, dbBranchObjectName(id), annotate, basedOn)) !== undefined;
    },
    keys: (namespace) => {
      // One read per object for the ticket these readers serve: its sources name several keys of
      // one Secret (user, password, a URL whose $(NAME)s lead to more), and each is asked alone.
      const secrets = new Map<string, Promise<Record<string, string> | undefined>>();
      const maps = new Map<string, Promise<Record<string, string> | undefined>>();
      const once = (cache: typeof secrets, name: string, read: () => Promise<Record<string, string> | undefined>) => {
        if (!cache.has(name)) cache.set(name, read());
        return cache.get(name)!;
      };
      return {
        secret: async (name, key) => {
          const data = (await once(secrets, name, async () => (await ignoring([404], () => core.readNamespacedSecret({ namespace, name })))?.data))?.[key];
          return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
        },
        configMap: async (name, key) =>
          (await once(maps, name, async () => (await ignoring([404], () => core.readNamespacedConfigMap({ namespace, name })))?.data))?.[key],
      };
    },
  };
}
