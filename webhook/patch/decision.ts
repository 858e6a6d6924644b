/**
 * Whether a new pod gets the sidecar. The MutatingWebhookConfiguration's namespaceSelector
 * limits the webhook to labeled namespaces, with the API server's current view of the labels;
 * this re-checks everything the AdmissionReview itself shows, so a too-wide selector still
 * can't inject where it must not. (A re-check of the label from a cache could only be staler
 * than the API server's.)
 */
import type { V1Container, V1Pod } from '../../common/kube-client';
import { ANNOTATION, SIDECAR_NAME } from '../../common/pod-contract';
import { SCRATCH_VOLUMES } from './sidecar-container';
import { chooseTargetContainer } from './target-container';

export type SkipReason =
  | 'protected-namespace'
  | 'opted-out'
  | 'host-network'
  | 'already-injected'
  | 'no-containers'
  | 'target-container-not-found'
  | 'static-pod'
  | 'would-never-complete';

export interface Placement {
  namespace: string;
  webhookNamespace: string;
  nativeSidecar: boolean;
}

export type Decision = { inject: true; target: V1Container } | { inject: false; reason: SkipReason; detail: string };

/** Never inject into the control plane's namespace or the webhook's own pods. */
const ALWAYS_SKIPPED_NAMESPACES = ['kube-system'];

/** The kubelet's copy of a static pod: its spec comes from the node and can't be changed. */
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

export function decideInjection(pod: V1Pod, { namespace, webhookNamespace, nativeSidecar }: Placement): Decision {
  const annotations = pod.metadata?.annotations ?? {};
  if (namespace === webhookNamespace || ALWAYS_SKIPPED_NAMESPACES.includes(namespace)) {
    return skip('protected-namespace', `namespace ${namespace} is never injected`);
  }
  if (annotations[ANNOTATION.inject]?.toLowerCase() === 'false') {
    return skip('opted-out', `the pod has ${ANNOTATION.inject}: "false"`);
  }
  // The sidecar's iptables rules would land in the node's network namespace.
  if (pod.spec?.hostNetwork === true) return skip('host-network', 'the pod uses the host network');
  if (isInjected(pod)) return skip('already-injected', 'the pod already has the mirrord sidecar');
  if (annotations[MIRROR_POD_ANNOTATION] !== undefined) return skip('static-pod', 'static pods are defined on the node');
  // A regular container that never exits would keep a Job's pod running forever; only a
  // native sidecar is stopped when the app's containers finish.
  if (!nativeSidecar && (pod.spec?.restartPolicy ?? 'Always') !== 'Always') {
    return skip('would-never-complete', `a pod with restartPolicy ${pod.spec?.restartPolicy} needs native sidecars (Kubernetes >= 1.29)`);
  }
  const containers = pod.spec?.containers ?? [];
  if (containers.length === 0) return skip('no-containers', 'the pod has no containers');
  const target = chooseTargetContainer(pod);
  if (!target) {
    return skip('target-container-not-found', `${ANNOTATION.targetContainer}: "${annotations[ANNOTATION.targetContainer]}" names no container of the pod`);
  }
  return { inject: true, target };
}

/**
 * Any mark is enough: a copied pod spec can keep the container and lose the annotation, and
 * adding a container or volume whose name is taken would make the API server reject the pod.
 */
export function isInjected(pod: V1Pod): boolean {
  if (pod.metadata?.annotations?.[ANNOTATION.injected] !== undefined) return true;
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  if (all.some((container) => container.name === SIDECAR_NAME)) return true;
  const ours = new Set(SCRATCH_VOLUMES.map(({ volume }) => volume.name));
  return (pod.spec?.volumes ?? []).some((volume) => ours.has(volume.name));
}

function skip(reason: SkipReason, detail: string): Decision {
  return { inject: false, reason, detail };
}
