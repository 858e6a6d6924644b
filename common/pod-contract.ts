/**
 * The pod contract: every name and default the webhook writes into a pod and the sidecar, the
 * CLI (and later the operator) read. The webhook injects by these names, the sidecar configures
 * itself from them, and the CLI finds and reaches the sidecar by them; none of them imports
 * another for it.
 */

/** The injected container (a native sidecar where the cluster supports it). */
export const SIDECAR_NAME = 'mirrord-agent';

/** The sidecar's in-memory scratch volumes (its /run and /tmp): a copy of an injected pod drops them with the sidecar. */
export const SIDECAR_SCRATCH = { run: 'mirrord-agent-run', tmp: 'mirrord-agent-tmp' };

/** The sidecar's session port on the pod's loopback. */
export const DEFAULT_AGENT_PORT = 61234;

/** Where the sidecar sees the app container's volumes, at their original mount paths. */
export const DEFAULT_APP_ROOT = '/mirrord/app';

/** The sidecar's environment, as the webhook writes it. */
export const SIDECAR_ENV = {
  agentPort: 'MIRRORD_AGENT_PORT',
  appRoot: 'MIRRORD_APP_ROOT',
  /** The app's mount paths, comma-separated: the only paths the sidecar serves files under. */
  appMounts: 'MIRRORD_APP_MOUNTS',
  /** "true": the sidecar serves every path beneath the app root, not only the mounts (the whole-container opt-in). */
  wholeRoot: 'MIRRORD_SERVE_WHOLE_ROOT',
  /** "true": files beneath the app container's own root (/proc/PID/root) and env from its process (the whole-container opt-in). */
  wholeContainer: 'MIRRORD_WHOLE_CONTAINER',
  podName: 'MIRRORD_POD_NAME',
  podNamespace: 'MIRRORD_POD_NAMESPACE',
  podIp: 'MIRRORD_POD_IP',
  /** The pod's UID (downward API `metadata.uid`): tickets are bound to it. */
  podUid: 'MIRRORD_POD_UID',
  /** `none` (default): any client may attach; `required`: a hello needs a ticket signed by the operator. */
  auth: 'MIRRORD_AUTH',
  /** A JSON Web Key Set of the operator's Ed25519 public keys, re-read when it changes (a mounted ConfigMap or Secret). */
  authKeysFile: 'MIRRORD_AUTH_KEYS_FILE',
  /**
   * The same key set as the webhook saw it when it admitted the pod: a pod created before the
   * kubelet could mount the namespace's copy still verifies tickets. The file adds later keys.
   */
  authKeys: 'MIRRORD_AUTH_KEYS',
  logLevel: 'MIRRORD_LOG_LEVEL',
  heartbeatMs: 'MIRRORD_HEARTBEAT_MS',
  helloTimeoutMs: 'MIRRORD_HELLO_TIMEOUT_MS',
  /** How long one file operation may take before its client gets ETIMEDOUT. */
  fsTimeoutMs: 'MIRRORD_FS_TIMEOUT_MS',
  /** How long the event loop may stall before the watchdog sends new connections to the app. */
  watchdogMs: 'MIRRORD_WATCHDOG_MS',
  /** How long a stealing session may stay silent before its stolen traffic goes back to the app. */
  unresponsiveMs: 'MIRRORD_UNRESPONSIVE_MS',
  /**
   * The app's HTTP probes (kubelet's `httpGet`, scheme HTTP), as JSON: `[{"port":8080,"path":"/healthz"}]`.
   * Their requests always reach the app, in steal mode too.
   */
  probes: 'MIRRORD_PROBES',
  /**
   * A directory holding the app's TLS certificate and key as a `kubernetes.io/tls` Secret's files
   * (`tls.crt`, `tls.key`): filtered steals terminate the app's TLS with them.
   */
  tlsDir: 'MIRRORD_TLS_DIR',
  chain: 'MIRRORD_CHAIN',
  /** The iptables binary (tests point it at the network namespace's own). */
  iptables: 'MIRRORD_IPTABLES',
  /** `false`: connections passed on to the app come from the pod's address, not the client's. */
  keepClientAddress: 'MIRRORD_KEEP_CLIENT_ADDRESS',
  /** `false`: mirrored connections pass through the sidecar instead of being copied by packet capture. */
  mirrorCapture: 'MIRRORD_MIRROR_CAPTURE',
  /** `auto` (default), `true` or `false`: whether the pod has a service mesh (annotation mirrord.dev/mesh). */
  mesh: 'MIRRORD_MESH',
} as const;

/** The sidecar answers GET on this path of its agent port while its event loop runs (the liveness probe). */
export const HEALTH_PATH = '/healthz';

/** The app container's own variables, copied into the sidecar under this prefix. */
export const APP_ENV_PREFIX = 'MIRRORD_APP_ENV_';

/**
 * The operator's public keys in each injected namespace: a ConfigMap the operator writes (its
 * `jwks.json`), mounted into the sidecar when the operator is installed, so the sidecar learns
 * new keys from the kubelet without Kubernetes credentials.
 */
export const OPERATOR_KEYS = {
  configMap: 'mirrord-operator-keys',
  file: 'jwks.json',
  mountPath: '/mirrord/operator-keys',
  volume: 'mirrord-operator-keys',
} as const;

/** Where the Secret named by the `mirrord.dev/tls-secret` annotation is mounted in the sidecar. */
export const TLS_SECRET = { volume: 'mirrord-agent-tls', mountPath: '/mirrord/tls' } as const;

/** The namespace label that makes the webhook inject into the namespace's new pods. */
export const INJECTION_LABEL = 'mirrord.dev/injection';

/** The pod annotations the webhook reads and writes. */
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
  /**
   * "true": the sidecar serves the app container's whole root filesystem (files baked into the
   * image) and its processes' environment, not only its volumes and spec env. The pod then shares
   * one PID namespace, and the sidecar gets CAP_SYS_PTRACE to reach into the app's processes.
   */
  wholeContainer: 'mirrord.dev/whole-container',
  /**
   * A `kubernetes.io/tls` Secret of the pod's namespace holding the certificate the app serves:
   * mounted into the sidecar, so filtered steals can read the app's HTTPS (and HTTP/2 over TLS)
   * requests. Without it, TLS connections reach the app unfiltered.
   */
  tlsSecret: 'mirrord.dev/tls-secret',
  /**
   * Set by the operator on a workload's pod template while it splits queues the workload consumes
   * (docs/queue-splitting.md): `{"CONTAINER": {"VARIABLE": "QUEUE"}}`, the variables that name the
   * queues, pointed at the workload's temporary ones. The webhook sets them in the pods it injects.
   */
  splitQueues: 'mirrord.dev/split-queues',
  /**
   * "true": the pod's traffic reaches the app through a service mesh's proxy container (Istio,
   * Linkerd), and the sidecar intercepts what that proxy hands the app over loopback; "false":
   * never; unset ("auto"): the sidecar looks for a mesh's rules in the pod (docs/sidecar.md).
   */
  mesh: 'mirrord.dev/mesh',
} as const;

/**
 * Set by the webhook in the app container's environment under the whole-container opt-in: how the
 * sidecar tells the app's processes from the others of the shared PID namespace.
 */
export const APP_CONTAINER_MARK = 'MIRRORD_APP_CONTAINER';
