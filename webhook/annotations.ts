/**
 * The annotations the webhook accepts (their names are the pod contract's). One list, so that
 * an annotation a user misspelled is reported instead of being silently ignored.
 */
import { ANNOTATION } from '../common/pod-contract';

/** kubectl's own choice of default container; honoured after ours. */
export const KUBECTL_DEFAULT_CONTAINER = 'kubectl.kubernetes.io/default-container';

export const POD_ANNOTATIONS: ReadonlySet<string> = new Set(Object.values(ANNOTATION));

/** The sidecar settings a namespace's annotations may set for all of its pods. */
export const NAMESPACE_ANNOTATIONS: ReadonlySet<string> = new Set([
  ANNOTATION.agentPort,
  ANNOTATION.agentImage,
  ANNOTATION.agentCpuRequest,
  ANNOTATION.agentCpuLimit,
  ANNOTATION.agentMemoryRequest,
  ANNOTATION.agentMemoryLimit,
  ANNOTATION.writableVolumes,
  ANNOTATION.tlsSecret,
  ANNOTATION.mesh,
]);

/** mirrord.dev/* annotations we don't know: most likely typos of ones we do. */
export function unknownMirrordAnnotations(annotations: Record<string, string> | undefined, known: ReadonlySet<string> = POD_ANNOTATIONS): string[] {
  return Object.keys(annotations ?? {})
    .filter((key) => key.startsWith('mirrord.dev/') && !known.has(key))
    .sort();
}
