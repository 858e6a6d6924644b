/**
 * Targets as kubectl spells them (`pod/NAME`, `deploy/NAME`, `statefulset/NAME`, `rs/NAME`,
 * `svc/NAME`, Argo's `rollout/NAME`, `job/NAME`, `cronjob/NAME`, their long and plural forms,
 * `deployment.apps/NAME`): the
 * CLI reads what the user typed, the operator reads what the CLI sent in a ticket request, by the
 * same rules.
 */
export type TargetKind = 'pod' | 'deployment' | 'statefulset' | 'replicaset' | 'rollout' | 'service' | 'job' | 'cronjob';

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
  job: 'job',
  jobs: 'job',
  cj: 'cronjob',
  cronjob: 'cronjob',
  cronjobs: 'cronjob',
};

/** Each kind as its objects name it (`apiVersion`, and `kind` as an owner reference says it). */
export const KIND_API: Record<TargetKind, { apiVersion: string; kind: string }> = {
  pod: { apiVersion: 'v1', kind: 'Pod' },
  service: { apiVersion: 'v1', kind: 'Service' },
  deployment: { apiVersion: 'apps/v1', kind: 'Deployment' },
  statefulset: { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  replicaset: { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
  rollout: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout' },
  job: { apiVersion: 'batch/v1', kind: 'Job' },
  cronjob: { apiVersion: 'batch/v1', kind: 'CronJob' },
};

export const KUBERNETES_KIND = Object.fromEntries(Object.entries(KIND_API).map(([kind, api]) => [kind, api.kind])) as Record<TargetKind, string>;

/** The API group of a kind: `deployment.apps/NAME` names a Deployment, `deployment.batch/NAME` nothing. */
function groupOf(kind: TargetKind): string {
  const { apiVersion } = KIND_API[kind];
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
}

/** The kind and name `text` names, or undefined when it is no target. */
export function readTargetPath(text: string): { kind: TargetKind; name: string } | undefined {
  const match = /^([a-z]+)(?:\.([a-z.]+))?\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(text.trim());
  const kind = match ? KINDS[match[1]!] : undefined;
  if (!match || !kind) return undefined;
  if (match[2] !== undefined && match[2] !== groupOf(kind)) return undefined;
  return { kind, name: match[3]! };
}
