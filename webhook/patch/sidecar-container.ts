/** The mirrord agent container the webhook adds to a pod. */
import type { V1Container, V1EnvVar, V1Volume, V1VolumeMount } from '../../common/kube-client';
import { copyAppEnv, copyAppEnvFrom } from './app-env';
import { appHttpProbes } from './app-probes';
import { appMountPaths, remountAppVolumes } from './app-volumes';
import type { InjectionSettings } from './settings';
import { DEFAULT_APP_ROOT, HEALTH_PATH, OPERATOR_KEYS, SIDECAR_ENV, SIDECAR_NAME, SIDECAR_SCRATCH, TLS_SECRET } from '../../common/pod-contract';

/**
 * Scratch space for a read-only root filesystem: iptables takes its lock in /run
 * (/run/xtables.lock) and fails without it; Node wants a writable /tmp.
 */
export const SCRATCH_VOLUMES: { volume: V1Volume; mount: V1VolumeMount }[] = [
  { volume: { name: SIDECAR_SCRATCH.run, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }, mount: { name: SIDECAR_SCRATCH.run, mountPath: '/run' } },
  { volume: { name: SIDECAR_SCRATCH.tmp, emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } }, mount: { name: SIDECAR_SCRATCH.tmp, mountPath: '/tmp' } },
];

/**
 * The operator's public keys, from the ConfigMap it publishes in the pod's namespace. Optional: a
 * pod created before the operator wrote it still starts (the app must), and its sidecar refuses
 * tickets until the kubelet has brought the keys in.
 */
export const OPERATOR_KEYS_VOLUME: { volume: V1Volume; mount: V1VolumeMount } = {
  volume: { name: OPERATOR_KEYS.volume, configMap: { name: OPERATOR_KEYS.configMap, optional: true } },
  mount: { name: OPERATOR_KEYS.volume, mountPath: OPERATOR_KEYS.mountPath, readOnly: true },
};

/**
 * The app's certificate, from the Secret the pod names. Optional: a pod whose Secret is missing
 * still starts (the app must), and its sidecar tells sessions that TLS reaches the app unfiltered.
 */
export function tlsSecretVolume(secretName: string): { volume: V1Volume; mount: V1VolumeMount } {
  return {
    volume: { name: TLS_SECRET.volume, secret: { secretName, optional: true } },
    mount: { name: TLS_SECRET.volume, mountPath: TLS_SECRET.mountPath, readOnly: true },
  };
}

/** The volumes the sidecar adds to the pod. */
export function sidecarVolumes(settings: InjectionSettings): V1Volume[] {
  return [
    ...SCRATCH_VOLUMES.map(({ volume }) => volume),
    ...(settings.auth === 'required' ? [OPERATOR_KEYS_VOLUME.volume] : []),
    ...(settings.tlsSecret ? [tlsSecretVolume(settings.tlsSecret).volume] : []),
  ];
}

export function buildSidecarContainer(app: V1Container, settings: InjectionSettings): V1Container {
  const container: V1Container = {
    name: SIDECAR_NAME,
    image: settings.image,
    imagePullPolicy: settings.pullPolicy,
    env: [...ownEnv(app, settings), ...copyAppEnv(app)],
    resources: {
      requests: { cpu: settings.resources.cpuRequest, memory: settings.resources.memoryRequest },
      limits: { cpu: settings.resources.cpuLimit, memory: settings.resources.memoryLimit },
    },
    securityContext: {
      // iptables needs CAP_NET_ADMIN (rules) and CAP_NET_RAW (its raw sockets), effective;
      // Kubernetes makes added capabilities effective only for uid 0, so the sidecar runs as
      // root even in a pod that asks for non-root, with nothing else. The whole-container opt-in
      // adds CAP_SYS_PTRACE: the kernel lets a process into another's /proc/PID/root and
      // /proc/PID/environ only with it (the app's capabilities are not a subset of ours).
      runAsUser: 0,
      runAsNonRoot: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW', ...(settings.wholeContainer ? ['SYS_PTRACE'] : [])], drop: ['ALL'] },
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    // The agent listens on 127.0.0.1 only (it is reached through port-forward), while a tcpSocket
    // or httpGet probe connects from the kubelet to the pod IP and would always fail. An exec
    // probe runs inside the pod's network namespace, where loopback is ours. The probes are bash
    // (its /dev/tcp), not node: what a probe runs counts against the sidecar's memory limit.
    readinessProbe: {
      exec: { command: ['bash', '-c', readinessScript(settings.agentPort)] },
      initialDelaySeconds: 1,
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
    },
    // Restarts a sidecar whose event loop no longer runs (the watchdog has already sent the app's
    // traffic around it by then; see docs/sidecar.md): the health answer comes from the loop.
    livenessProbe: {
      exec: { command: ['bash', '-c', livenessScript(settings.agentPort)] },
      initialDelaySeconds: 5,
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
    },
    volumeMounts: [
      ...SCRATCH_VOLUMES.map(({ mount }) => mount),
      ...(settings.auth === 'required' ? [OPERATOR_KEYS_VOLUME.mount] : []),
      ...(settings.tlsSecret ? [tlsSecretVolume(settings.tlsSecret).mount] : []),
      ...remountAppVolumes(app, settings.writableVolumes),
    ],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  const envFrom = copyAppEnvFrom(app);
  if (envFrom.length > 0) container.envFrom = envFrom;
  // A restartable init container runs beside the app for the pod's whole life, starts before
  // it and stops after it (Kubernetes >= 1.29).
  if (settings.nativeSidecar) container.restartPolicy = 'Always';
  return container;
}

function ownEnv(app: V1Container, settings: InjectionSettings): V1EnvVar[] {
  return [
    { name: SIDECAR_ENV.agentPort, value: String(settings.agentPort) },
    { name: SIDECAR_ENV.appRoot, value: DEFAULT_APP_ROOT },
    { name: SIDECAR_ENV.appMounts, value: appMountPaths(app).join(',') },
    ...probesEnv(app),
    ...(settings.wholeContainer ? [{ name: SIDECAR_ENV.wholeContainer, value: 'true' }] : []),
    ...(settings.tlsSecret ? [{ name: SIDECAR_ENV.tlsDir, value: TLS_SECRET.mountPath }] : []),
    ...(settings.mesh !== undefined ? [{ name: SIDECAR_ENV.mesh, value: String(settings.mesh) }] : []),
    { name: SIDECAR_ENV.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: SIDECAR_ENV.podNamespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: SIDECAR_ENV.podIp, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    // Tickets are bound to the pod's UID (a pod recreated under the same name is another pod).
    { name: SIDECAR_ENV.podUid, valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
    ...(settings.auth === 'required'
      ? [
          { name: SIDECAR_ENV.auth, value: 'required' },
          { name: SIDECAR_ENV.authKeysFile, value: `${OPERATOR_KEYS.mountPath}/${OPERATOR_KEYS.file}` },
          ...(settings.authKeys ? [{ name: SIDECAR_ENV.authKeys, value: settings.authKeys }] : []),
        ]
      : []),
  ];
}

/** The app's HTTP probes, when it has any: their requests always reach the app. */
function probesEnv(app: V1Container): V1EnvVar[] {
  const probes = appHttpProbes(app);
  return probes.length ? [{ name: SIDECAR_ENV.probes, value: JSON.stringify(probes) }] : [];
}

/** Exits 0 when something accepts a TCP connection on 127.0.0.1:port, 1 otherwise. */
export function readinessScript(port: number): string {
  return `exec 3<>/dev/tcp/127.0.0.1/${port} || exit 1`;
}

/** Exits 0 when the agent answers GET /healthz with 200 within 2 s, 1 otherwise. */
export function livenessScript(port: number): string {
  return [
    `exec 3<>/dev/tcp/127.0.0.1/${port} || exit 1`,
    `printf 'GET ${HEALTH_PATH} HTTP/1.0\\r\\n\\r\\n' >&3`,
    `IFS= read -r -t 2 status <&3 || exit 1`,
    `[[ $status == 'HTTP/1.1 200 '* ]]`,
  ].join('\n');
}
