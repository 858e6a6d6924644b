/**
 * Which workloads `mirrord uninstall --restart-workloads` restarts: the Deployments and
 * StatefulSets owning pods that carry the sidecar (a Deployment owns its pods through a
 * ReplicaSet). Bare pods have no controller to recreate them; they are reported, not deleted.
 * Pure, tested without a cluster.
 */
import type { V1OwnerReference, V1Pod, V1ReplicaSet } from '../../common/kube-client';
import { sidecarOf } from '../kube/pod-choice';

export interface Workload {
  kind: 'Deployment' | 'StatefulSet';
  namespace: string;
  name: string;
}

export interface RestartPlan {
  workloads: Workload[];
  /** Injected pods no Deployment or StatefulSet owns ("namespace/name"). */
  unowned: string[];
}

const controller = (refs: V1OwnerReference[] | undefined) => refs?.find((r) => r.controller) ?? refs?.[0];

export function restartPlan(pods: V1Pod[], replicasets: V1ReplicaSet[]): RestartPlan {
  const workloads = new Map<string, Workload>();
  const unowned: string[] = [];
  for (const pod of pods.filter((p) => sidecarOf(p))) {
    const namespace = pod.metadata?.namespace ?? '';
    const owner = controller(pod.metadata?.ownerReferences);
    let workload: Workload | undefined;
    if (owner?.kind === 'StatefulSet') workload = { kind: 'StatefulSet', namespace, name: owner.name };
    if (owner?.kind === 'ReplicaSet') {
      const rs = replicasets.find((r) => r.metadata?.namespace === namespace && r.metadata?.name === owner.name);
      const deployment = controller(rs?.metadata?.ownerReferences);
      if (deployment?.kind === 'Deployment') workload = { kind: 'Deployment', namespace, name: deployment.name };
    }
    if (workload) workloads.set(`${workload.kind}/${namespace}/${workload.name}`, workload);
    else unowned.push(`${namespace}/${pod.metadata?.name}`);
  }
  const sorted = [...workloads.values()].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  return { workloads: sorted, unowned: unowned.sort() };
}

/** The patch `kubectl rollout restart` sends: a changed pod template makes the controller roll its pods. */
export function restartPatch(workload: Workload, now: Date) {
  return {
    apiVersion: 'apps/v1',
    kind: workload.kind,
    metadata: { name: workload.name, namespace: workload.namespace },
    spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': now.toISOString() } } } },
  };
}
