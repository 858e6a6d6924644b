/**
 * The pod annotations the webhook reads and writes. One list, so that an annotation a user
 * misspelled is reported instead of being silently ignored.
 */
export const ANNOTATION = {
  /** "false" keeps the pod as it is. */
  inject: 'mirrord.dev/inject',
  /** Which container the sidecar serves (its env and volumes); default: the first one. */
  targetContainer: 'mirrord.dev/target-container',
  /** Set by the webhook to the sidecar's version; its presence means "already injected". */
  injected: 'mirrord.dev/injected',
  /** "true" mounts the app's volumes read-write in the sidecar (never more than the app has). */
  writableVolumes: 'mirrord.dev/writable-volumes',
  agentPort: 'mirrord.dev/agent-port',
  agentImage: 'mirrord.dev/agent-image',
  agentCpuRequest: 'mirrord.dev/agent-cpu-request',
  agentCpuLimit: 'mirrord.dev/agent-cpu-limit',
  agentMemoryRequest: 'mirrord.dev/agent-memory-request',
  agentMemoryLimit: 'mirrord.dev/agent-memory-limit',
} as const;

/** The namespace label the MutatingWebhookConfiguration selects on. */
export const INJECTION_LABEL = 'mirrord.dev/injection';

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
]);

/** mirrord.dev/* annotations we don't know: most likely typos of ones we do. */
export function unknownMirrordAnnotations(annotations: Record<string, string> | undefined, known: ReadonlySet<string> = POD_ANNOTATIONS): string[] {
  return Object.keys(annotations ?? {})
    .filter((key) => key.startsWith('mirrord.dev/') && !known.has(key))
    .sort();
}
