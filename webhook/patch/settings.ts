/** What the webhook puts in every sidecar, before a pod's own annotations adjust it. */
export interface SidecarResources {
  cpuRequest: string;
  cpuLimit: string;
  memoryRequest: string;
  memoryLimit: string;
}

export interface InjectionSettings {
  image: string;
  pullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  agentPort: number;
  resources: SidecarResources;
  /** Native sidecar (restartable init container); the API server must be >= 1.29. */
  nativeSidecar: boolean;
  /** Written to the pod's mirrord.dev/injected annotation. */
  version: string;
  /** The app's volumes read-write in the sidecar (read-only by default). */
  writableVolumes: boolean;
  /** The whole-container opt-in (annotation mirrord.dev/whole-container, pods only). */
  wholeContainer?: boolean;
  /** A kubernetes.io/tls Secret of the app's certificate (annotation mirrord.dev/tls-secret), mounted into the sidecar. */
  tlsSecret?: string;
  /** Whether the pod's traffic comes through a service mesh's proxy (annotation mirrord.dev/mesh); unset: the sidecar looks. */
  mesh?: boolean;
  /**
   * `required` while the operator is installed: the sidecar accepts only sessions with a ticket
   * the operator signed, verified with the key set the operator publishes in the pod's namespace.
   */
  auth: 'none' | 'required';
  /** With `auth: required`: the operator's key set as the webhook last saw it, given to the sidecar inline. */
  authKeys?: string;
}

/** Small: the sidecar idles until a session attaches, and then mostly relays bytes. */
export const DEFAULT_RESOURCES: SidecarResources = {
  cpuRequest: '10m',
  cpuLimit: '500m',
  memoryRequest: '48Mi',
  memoryLimit: '192Mi',
};
