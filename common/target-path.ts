/**
 * Targets as kubectl spells them (`pod/NAME`, `deploy/NAME`, `statefulset/NAME`, `rs/NAME`,
 * `svc/NAME`, Argo's `rollout/NAME`, their long and plural forms, `deployment.apps/NAME`): the
 * CLI reads what the user typed, the operator reads what the CLI sent in a ticket request, by the
 * same rules.
 */
export type TargetKind = 'pod' | 'deployment' | 'statefulset' | 'replicaset' | 'rollout' | 'service';

const KINDS: Record<string, TargetKind> = {
  po: 'pod',
  pod: 'pod',
  pods: 'pod',
  deploy: 'deployment',
  deployment: 'deployment',
  deployments: 'deployment',
  sts: 'statefulset',
  statefulset: 'statefulset',
  statefulsets: 'statefulset',
  rs: 'replicaset',
  replicaset: 'replicaset',
  replicasets: 'replicaset',
  ro: 'rollout',
  rollout: 'rollout',
  rollouts: 'rollout',
  svc: 'service',
  service: 'service',
  services: 'service',
};

/** Each kind as Kubernetes names it in objects (an owner reference's `kind`). */
export const KUBERNETES_KIND: Record<TargetKind, string> = {
  pod: 'Pod',
  deployment: 'Deployment',
  statefulset: 'StatefulSet',
  replicaset: 'ReplicaSet',
  rollout: 'Rollout',
  service: 'Service',
};

/** The kind and name `text` names, or undefined when it is no target. */
export function readTargetPath(text: string): { kind: TargetKind; name: string } | undefined {
  const match = /^([a-z]+)(?:\.apps|\.argoproj\.io)?\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(text.trim());
  const kind = match ? KINDS[match[1]!] : undefined;
  return match && kind ? { kind, name: match[2]! } : undefined;
}
