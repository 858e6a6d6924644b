/**
 * What `mirrord ls` shows: the targets of a namespace (Deployments, StatefulSets, pods) and
 * whether their pods carry the sidecar. Pure functions over API objects, tested without a cluster.
 */
import type { V1Deployment, V1LabelSelector, V1Pod, V1StatefulSet } from '../../common/kube-client';
import { renderTable } from '../table';
import { sidecarOf, sidecarReady } from '../kube/pod-choice';

/**
 * `injected`: every pod carries the sidecar and it is ready; `starting`: they carry it, not all
 * ready yet; `partly`: only some pods carry it (some were created before injection was on);
 * `no`: none does; `no pods`: nothing to attach to.
 */
export type SidecarState = 'injected' | 'starting' | 'partly' | 'no' | 'no pods';

export interface TargetRow {
  namespace: string;
  target: string;
  pods: number;
  /** Pods carrying the sidecar, and those whose sidecar is ready. */
  withSidecar: number;
  sidecarReady: number;
  sidecar: SidecarState;
}

export interface Workloads {
  deployments: V1Deployment[];
  statefulsets: V1StatefulSet[];
  pods: V1Pod[];
}

/** Whether `labels` match `selector` (matchLabels and matchExpressions, as the API server does). */
export function matches(selector: V1LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return false;
  const { matchLabels = {}, matchExpressions = [] } = selector;
  if (!Object.keys(matchLabels).length && !matchExpressions.length) return false;
  if (!Object.entries(matchLabels).every(([k, v]) => labels[k] === v)) return false;
  return matchExpressions.every(({ key, operator, values = [] }) => {
    switch (operator) {
      case 'In':
        return key in labels && values.includes(labels[key]);
      case 'NotIn':
        return !(key in labels) || !values.includes(labels[key]);
      case 'Exists':
        return key in labels;
      case 'DoesNotExist':
        return !(key in labels);
      default:
        return false;
    }
  });
}

function row(namespace: string, target: string, pods: V1Pod[]): TargetRow {
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
  const withSidecar = live.filter((p) => sidecarOf(p)).length;
  const ready = live.filter(sidecarReady).length;
  const sidecar: SidecarState = !live.length
    ? 'no pods'
    : withSidecar === 0
      ? 'no'
      : withSidecar < live.length
        ? 'partly'
        : ready < live.length
          ? 'starting'
          : 'injected';
  return { namespace, target, pods: live.length, withSidecar, sidecarReady: ready, sidecar };
}

/** One row per Deployment, StatefulSet and pod, sorted by namespace, then kind, then name. */
export function inventory({ deployments, statefulsets, pods }: Workloads): TargetRow[] {
  const podsOf = (namespace: string, selector?: V1LabelSelector) =>
    pods.filter((p) => p.metadata?.namespace === namespace && matches(selector, p.metadata?.labels));
  const rows = [
    ...deployments.map((d) => row(d.metadata?.namespace ?? '', `deployment/${d.metadata?.name}`, podsOf(d.metadata?.namespace ?? '', d.spec?.selector))),
    ...statefulsets.map((s) => row(s.metadata?.namespace ?? '', `statefulset/${s.metadata?.name}`, podsOf(s.metadata?.namespace ?? '', s.spec?.selector))),
    // A terminating pod is no target any more (its workload's row already leaves it out).
    ...pods.filter((p) => !p.metadata?.deletionTimestamp).map((p) => row(p.metadata?.namespace ?? '', `pod/${p.metadata?.name}`, [p])),
  ];
  const order = (t: string) => ['deployment', 'statefulset', 'pod'].indexOf(t.split('/')[0]);
  return rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || order(a.target) - order(b.target) || a.target.localeCompare(b.target));
}

export function formatInventory(rows: TargetRow[], allNamespaces: boolean): string {
  if (!rows.length) return 'no targets\n';
  const header = [...(allNamespaces ? ['NAMESPACE'] : []), 'TARGET', 'PODS', 'SIDECAR'];
  return renderTable(
    header,
    rows.map((r) => [
      ...(allNamespaces ? [r.namespace] : []),
      r.target,
      String(r.pods),
      r.sidecar === 'injected' || r.sidecar === 'no pods' || r.sidecar === 'no'
        ? r.sidecar
        : `${r.sidecar} (${r.withSidecar} with sidecar, ${r.sidecarReady} ready)`,
    ]),
  );
}
