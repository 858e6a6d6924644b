/**
 * The injected sidecar as a pod shows it: the container, its loopback port, whether it is ready.
 * The CLI picks pods by it, the operator finds the sidecars whose sessions it lists.
 */
import type { V1Pod } from './kube-client';
import { DEFAULT_AGENT_PORT, SIDECAR_ENV, SIDECAR_NAME } from './pod-contract';

export function sidecarOf(pod: V1Pod) {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === SIDECAR_NAME);
}

/** The loopback port the pod's sidecar listens on. */
export function agentPortOf(pod: V1Pod): number {
  const value = sidecarOf(pod)?.env?.find((e) => e.name === SIDECAR_ENV.agentPort)?.value;
  return value ? Number(value) : DEFAULT_AGENT_PORT;
}

/** The pod carries the sidecar and it is ready. */
export function sidecarReady(pod: V1Pod): boolean {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  return !!sidecarOf(pod) && statuses.some((s) => s.name === SIDECAR_NAME && s.ready);
}
