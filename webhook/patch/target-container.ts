/** The app container the sidecar serves: its env and volumes are the ones handed to clients. */
import type { V1Container, V1Pod } from '../../common/kube-client';
import { ANNOTATION } from '../../common/pod-contract';
import { KUBECTL_DEFAULT_CONTAINER } from '../annotations';

/**
 * Our annotation, else kubectl's default-container (what `kubectl exec` would pick), else the
 * first container. Undefined when our annotation names a container the pod doesn't have:
 * guessing another one would hand the developer the wrong environment.
 */
export function chooseTargetContainer(pod: V1Pod): V1Container | undefined {
  const containers = pod.spec?.containers ?? [];
  const annotations = pod.metadata?.annotations ?? {};
  const asked = annotations[ANNOTATION.targetContainer];
  if (asked !== undefined) return containers.find((container) => container.name === asked);
  const kubectlDefault = annotations[KUBECTL_DEFAULT_CONTAINER];
  return containers.find((container) => container.name === kubectlDefault) ?? containers[0];
}
