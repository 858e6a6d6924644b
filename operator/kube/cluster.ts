/**
 * Everything the operator asks the API server, in one place: the request-header settings, its
 * signing keys' Secret, the key set published to injected namespaces, the APIService's caBundle,
 * policies, pods and their owners, and the Lease that elects the replica doing once-only work.
 *
 * @kubernetes/client-node is an ES module that jest cannot load: only main.ts imports this file,
 * and the rest of the operator sees the `OperatorCluster` interface.
 */
import {
  ApiregistrationV1Api,
  AppsV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1ConfigMap,
  type V1Pod,
} from '../../common/kube-client';
import { SecretCertificateStore } from '../../common/certs/secret-store';
import { reuseConnections } from '../../common/kube-connections';
import type { CertificateStore } from '../../common/certs/store';
import { statusOf } from '../../common/kube-status';
import { INJECTION_LABEL } from '../../common/pod-contract';
import type { Policy, PolicySpec } from '../policy/spec';
import type { SidecarAccess } from '../sessions/sessions';
import { sidecarAccess } from './sidecars';
import { scaleRestoreCluster } from './scaled-workloads';
import { splitApi, type SplitApi } from './split-cluster';
import { dbBranchCluster, type DbBranchCluster } from './db-branch-cluster';
import type { ScaleRestoreCluster } from '../copies/restore-scale';
import { COPY_OF_ANNOTATION } from '../../common/copy-target';
import { KIND_API, readTargetPath } from '../../common/target-path';

export const POLICY_GROUP = 'mirrord.dev';
export const POLICY_VERSION = 'v1';

/** A stored object and the version a write must be based on. */
export interface Versioned<T> {
  value: T;
  version: string;
}

export interface LeaseRecord {
  holder: string;
  renewedAt: Date;
  durationS: number;
  version: string;
}

export interface OperatorCluster {
  /** kube-system/extension-apiserver-authentication's data. */
  requestHeaderData(): Promise<Record<string, string> | undefined>;
  certificateStore(namespace: string, name: string): CertificateStore;
  publishApiServiceCaBundle(apiService: string, caBundlePem: string): Promise<void>;
  /** A Secret's data value; undefined when the Secret doesn't exist. */
  readSecretValue(namespace: string, name: string, key: string): Promise<Versioned<string> | undefined>;
  /** Writes it against `basedOn` (undefined: create); false when another writer got there first. */
  writeSecretValue(namespace: string, name: string, key: string, value: string, basedOn: string | undefined): Promise<boolean>;
  /** The namespaces the webhook injects into. */
  injectedNamespaces(): Promise<string[]>;
  /** Creates or updates a ConfigMap holding `data`, unless it already holds exactly that. */
  ensureConfigMap(namespace: string, name: string, data: Record<string, string>, labels: Record<string, string>): Promise<'created' | 'updated' | 'unchanged'>;
  policies(namespace: string): Promise<Policy[]>;
  profileExists(namespace: string, name: string): Promise<boolean>;
  readPod(namespace: string, name: string): Promise<V1Pod | undefined>;
  /** A SubjectAccessReview: may this user (with these groups) do `verb` on the operator's `resource` in the namespace? */
  mayDo(user: string, groups: string[], verb: string, group: string, resource: string, namespace: string): Promise<boolean>;
  /** The owner references of a ReplicaSet (to follow a pod up to its Deployment). */
  replicaSetOwners(namespace: string, name: string): Promise<{ kind: string; name: string }[]>;
  /** A Job's controller (a CronJob), or for a copy's Job the target it copies. */
  jobOwners(namespace: string, name: string): Promise<{ kind: string; name: string }[]>;
  /** What restores workloads scaled down for copies whose CLI died. */
  scaleRestore: ScaleRestoreCluster;
  /** Queue splitting's splits, registries, Secrets and workloads. */
  splits: SplitApi;
  /** Database branches' Pods, Services and Secrets, and the Secrets and ConfigMaps sources are read from. */
  dbBranches: DbBranchCluster;
  /** The sidecars, reached with the tickets `ticketFor` signs. */
  sidecars(ticketFor: (pod: V1Pod) => string): SidecarAccess;
  readLease(namespace: string, name: string): Promise<LeaseRecord | undefined>;
  /** Takes or renews the Lease against `basedOn` (undefined: create); false when another replica wrote it first. */
  writeLease(namespace: string, name: string, holder: string, durationS: number, basedOn: LeaseRecord | undefined): Promise<boolean>;
}

/** In a pod: its service account; elsewhere: the usual kubeconfig. */
export function connectToCluster(): OperatorCluster {
  const config = reuseConnections(new KubeConfig());
  config.loadFromDefault();
  const core = config.makeApiClient(CoreV1Api);
  const apps = config.makeApiClient(AppsV1Api);
  const batch = config.makeApiClient(BatchV1Api);
  const registration = config.makeApiClient(ApiregistrationV1Api);
  const custom = config.makeApiClient(CustomObjectsApi);
  const coordination = config.makeApiClient(CoordinationV1Api);
  const authorization = config.makeApiClient(AuthorizationV1Api);
  const notFoundAs = async <T>(call: Promise<T>, fallback: T): Promise<T> => {
    try {
      return await call;
    } catch (error) {
      if (statusOf(error) === 404) return fallback;
      throw error;
    }
  };
  const conflictAsFalse = async (call: Promise<unknown>): Promise<boolean> => {
    try {
      await call;
      return true;
    } catch (error) {
      // 409: AlreadyExists on create, Conflict on a stale resourceVersion.
      if (statusOf(error) === 409) return false;
      throw error;
    }
  };

  return {
    requestHeaderData: async () => (await core.readNamespacedConfigMap({ namespace: 'kube-system', name: 'extension-apiserver-authentication' })).data,
    certificateStore: (namespace, name) => new SecretCertificateStore(core, namespace, name, 'mirrord-operator'),
    publishApiServiceCaBundle: async (name, caBundlePem) => {
      const caBundle = Buffer.from(caBundlePem).toString('base64');
      for (let attempt = 1; ; attempt++) {
        const service = await registration.readAPIService({ name });
        if (service.spec?.caBundle === caBundle) return;
        service.spec = { ...service.spec!, caBundle };
        if (await conflictAsFalse(registration.replaceAPIService({ name, body: service }))) return;
        if (attempt >= 5) throw new Error(`APIService ${name} kept changing while its caBundle was written`);
      }
    },
    readSecretValue: async (namespace, name, key) => {
      const secret = await notFoundAs(core.readNamespacedSecret({ namespace, name }), undefined);
      if (!secret) return undefined;
      const data = secret.data?.[key];
      return { value: data === undefined ? '' : Buffer.from(data, 'base64').toString('utf8'), version: secret.metadata?.resourceVersion ?? '' };
    },
    writeSecretValue: (namespace, name, key, value, basedOn) => {
      const body = {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: {
          name,
          namespace,
          resourceVersion: basedOn,
          labels: { 'app.kubernetes.io/name': 'mirrord-operator', 'app.kubernetes.io/part-of': 'mirrord' },
        },
        data: { [key]: Buffer.from(value).toString('base64') },
      };
      return conflictAsFalse(
        basedOn === undefined ? core.createNamespacedSecret({ namespace, body }) : core.replaceNamespacedSecret({ namespace, name, body }),
      );
    },
    injectedNamespaces: async () =>
      (await core.listNamespace({ labelSelector: `${INJECTION_LABEL}=enabled` })).items.map((namespace) => namespace.metadata!.name!),
    ensureConfigMap: async (namespace, name, data, labels) => {
      const existing = await notFoundAs(core.readNamespacedConfigMap({ namespace, name }), undefined);
      if (existing && JSON.stringify(existing.data ?? {}) === JSON.stringify(data)) return 'unchanged';
      const body: V1ConfigMap = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace, labels, resourceVersion: existing?.metadata?.resourceVersion },
        data,
      };
      if (existing) await core.replaceNamespacedConfigMap({ namespace, name, body });
      else await core.createNamespacedConfigMap({ namespace, body });
      return existing ? 'updated' : 'created';
    },
    policies: async (namespace) => {
      type Listed = { items: { metadata: { name: string; namespace?: string }; spec?: PolicySpec }[] };
      const [namespaced, cluster] = await Promise.all([
        custom.listNamespacedCustomObject({ group: POLICY_GROUP, version: POLICY_VERSION, namespace, plural: 'mirrordpolicies' }) as Promise<Listed>,
        custom.listClusterCustomObject({ group: POLICY_GROUP, version: POLICY_VERSION, plural: 'mirrordclusterpolicies' }) as Promise<Listed>,
      ]);
      return [
        ...namespaced.items.map((item): Policy => ({ kind: 'MirrordPolicy', namespace, name: item.metadata.name, spec: item.spec ?? {} })),
        ...cluster.items.map((item): Policy => ({ kind: 'MirrordClusterPolicy', name: item.metadata.name, spec: item.spec ?? {} })),
      ];
    },
    profileExists: async (namespace, name) => {
      const ask = { group: POLICY_GROUP, version: POLICY_VERSION, name };
      const [namespaced, cluster] = await Promise.all([
        notFoundAs(custom.getNamespacedCustomObject({ ...ask, namespace, plural: 'mirrordprofiles' }), undefined),
        notFoundAs(custom.getClusterCustomObject({ ...ask, plural: 'mirrordclusterprofiles' }), undefined),
      ]);
      return namespaced !== undefined || cluster !== undefined;
    },
    readPod: (namespace, name) => notFoundAs(core.readNamespacedPod({ namespace, name }), undefined),
    sidecars: (ticketFor) => sidecarAccess(config, core, ticketFor),
    mayDo: async (user, groups, verb, group, resource, namespace) => {
      const review = await authorization.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: { user, groups, resourceAttributes: { verb, group, resource, namespace } },
        },
      });
      return review.status?.allowed === true;
    },
    replicaSetOwners: async (namespace, name) => {
      const set = await notFoundAs(apps.readNamespacedReplicaSet({ namespace, name }), undefined);
      return (set?.metadata?.ownerReferences ?? []).map((owner) => ({ kind: owner.kind, name: owner.name }));
    },
    jobOwners: async (namespace, name) => {
      const job = await notFoundAs(batch.readNamespacedJob({ namespace, name }), undefined);
      const copied = readTargetPath(job?.metadata?.annotations?.[COPY_OF_ANNOTATION] ?? '');
      return [
        ...(job?.metadata?.ownerReferences ?? []).filter((owner) => owner.controller).map((owner) => ({ kind: owner.kind, name: owner.name })),
        ...(copied ? [{ kind: KIND_API[copied.kind].kind, name: copied.name }] : []),
      ];
    },
    scaleRestore: scaleRestoreCluster(config),
    splits: splitApi(config),
    dbBranches: dbBranchCluster(config),
    readLease: async (namespace, name) => {
      const lease = await notFoundAs(coordination.readNamespacedLease({ namespace, name }), undefined);
      if (!lease) return undefined;
      const renewed = lease.spec?.renewTime ?? lease.spec?.acquireTime;
      return {
        holder: lease.spec?.holderIdentity ?? '',
        renewedAt: renewed ? new Date(renewed) : new Date(0),
        durationS: lease.spec?.leaseDurationSeconds ?? 0,
        version: lease.metadata?.resourceVersion ?? '',
      };
    },
    writeLease: (namespace, name, holder, durationS, basedOn) => {
      // A Lease's times are MicroTime: the API server wants six fractional digits.
      const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
      const body = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace, resourceVersion: basedOn?.version },
        spec: {
          holderIdentity: holder,
          leaseDurationSeconds: durationS,
          renewTime: now,
          ...(basedOn?.holder === holder ? {} : { acquireTime: now }),
        },
      };
      return conflictAsFalse(
        basedOn === undefined ? coordination.createNamespacedLease({ namespace, body }) : coordination.replaceNamespacedLease({ namespace, name, body }),
      );
    },
  };
}
