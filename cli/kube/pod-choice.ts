/**
 * Which pod of a workload a session attaches to, and — when none carries the sidecar — why,
 * and the commands that fix it. Pure functions over API objects, so they are tested without a
 * cluster.
 */
import type { V1Namespace, V1Pod } from '../../common/kube-client';
import { ANNOTATION, INJECTION_LABEL } from '../../common/pod-contract';
import { agentPortOf, sidecarOf, sidecarReady } from '../../common/pod-sidecar';
import { CliError } from '../errors';
import { describeTarget, type Target } from './target';

// The names the webhook injects under (the pod contract): the CLI looks for what it put there.
export { INJECTION_LABEL, agentPortOf, sidecarOf, sidecarReady };
export const OPT_OUT_ANNOTATION = ANNOTATION.inject;

function isReady(pod: V1Pod): boolean {
  return (
    pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/**
 * The oldest Running, Ready pod with a ready sidecar (then by name), so that repeated attaches
 * land on the same pod; `wanted` picks one by name.
 */
export type Choice = { pod: V1Pod } | { withoutSidecar: V1Pod };

export function choosePod(target: Target, pods: V1Pod[], namespace: string, wanted?: string): Choice {
  const candidates = wanted ? pods.filter((p) => p.metadata?.name === wanted) : pods;
  if (wanted && !candidates.length) {
    throw new CliError(`pod ${wanted} is not one of ${describeTarget(target)}'s pods in namespace ${namespace}`, `kubectl get pods -n ${namespace}`);
  }
  if (!candidates.length) {
    const list = target.kind === 'selector' ? `kubectl get pods -l '${target.name}'` : `kubectl get ${describeTarget(target)}`;
    throw new CliError(`${describeTarget(target)} has no pods in namespace ${namespace}`, `${list} -n ${namespace}`);
  }
  const usable = usablePods(candidates);
  if (usable.length) return { pod: usable[0] };
  const injected = candidates.filter((p) => sidecarOf(p));
  if (injected.length) {
    const pod = injected[0];
    throw new CliError(
      `pod ${pod.metadata?.name} of ${describeTarget(target)} carries the sidecar but is not ready (${pod.status?.phase ?? 'unknown phase'})`,
      `kubectl describe pod ${pod.metadata?.name} -n ${namespace}`,
    );
  }
  return { withoutSidecar: candidates[0] };
}

/** The pods a session may attach to (Running, Ready, not going away, with a ready sidecar), oldest first, then by name. */
export function usablePods(pods: V1Pod[]): V1Pod[] {
  return pods.filter((p) => isReady(p) && sidecarReady(p)).sort((a, b) => time(a) - time(b) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/** What the cluster says about injection, looked up only when a pod lacks the sidecar. */
export interface InjectionContext {
  namespace?: V1Namespace;
  webhookInstalled: boolean;
}

export function explainMissingSidecar(target: Target, pod: V1Pod, namespace: string, context: InjectionContext): CliError {
  const name = describeTarget(target);
  const restart =
    target.kind === 'pod'
      ? `kubectl delete pod ${target.name} -n ${namespace} (and let its controller recreate it)`
      : target.kind === 'service' || target.kind === 'selector'
        ? `kubectl rollout restart the workload behind ${name} -n ${namespace} (e.g. deploy/NAME)`
        : `kubectl rollout restart ${name} -n ${namespace}`;
  if (pod.spec?.hostNetwork) {
    return new CliError(
      `${name} uses the host's network (hostNetwork), and such pods are never given the sidecar`,
      'mirrord can only attach to pods with their own network namespace',
    );
  }
  if (pod.metadata?.annotations?.[OPT_OUT_ANNOTATION] === 'false') {
    return new CliError(
      `${name} opts out of injection (annotation ${OPT_OUT_ANNOTATION}: "false")`,
      `remove the annotation from the pod template, then: ${restart}`,
    );
  }
  if (!context.webhookInstalled) {
    return new CliError(
      `${name} has no mirrord sidecar: the mirrord webhook is not installed in this cluster`,
      `mirrord install, then: kubectl label namespace ${namespace} ${INJECTION_LABEL}=enabled --overwrite && ${restart}`,
    );
  }
  if (context.namespace && context.namespace.metadata?.labels?.[INJECTION_LABEL] !== 'enabled') {
    return new CliError(
      `${name} has no mirrord sidecar: namespace ${namespace} is not labeled for injection`,
      `kubectl label namespace ${namespace} ${INJECTION_LABEL}=enabled && ${restart}`,
    );
  }
  return new CliError(`${name} has no mirrord sidecar: its pod was created before namespace ${namespace} was labeled (or while the webhook was down)`, restart);
}

function time(pod: V1Pod): number {
  const created = pod.metadata?.creationTimestamp;
  return created ? new Date(created).getTime() : 0;
}
