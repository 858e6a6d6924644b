/** The mirrord agent container the webhook adds to a pod. */
import type { V1Container, V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { copyAppEnv, copyAppEnvFrom } from './app-env';
import { appMountPaths, remountAppVolumes } from './app-volumes';
import type { InjectionSettings } from './settings';
import { DEFAULT_APP_ROOT, SIDECAR_ENV, SIDECAR_NAME } from '../../common/pod-contract';

/**
 * Scratch space for a read-only root filesystem: iptables takes its lock in /run
 * (/run/xtables.lock) and fails without it; Node wants a writable /tmp.
 */
export const SCRATCH_VOLUMES: { volume: V1Volume; mount: V1VolumeMount }[] = [
  { volume: { name: 'mirrord-agent-run', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }, mount: { name: 'mirrord-agent-run', mountPath: '/run' } },
  { volume: { name: 'mirrord-agent-tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } }, mount: { name: 'mirrord-agent-tmp', mountPath: '/tmp' } },
];

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
      // root even in a pod that asks for non-root, with nothing else.
      runAsUser: 0,
      runAsNonRoot: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    readinessProbe: {
      // The agent listens on 127.0.0.1 only (it is reached through port-forward), while a
      // tcpSocket or httpGet probe connects from the kubelet to the pod IP and would always
      // fail. An exec probe runs inside the pod's network namespace, where loopback is ours.
      exec: { command: ['node', '-e', loopbackConnectScript(settings.agentPort)] },
      initialDelaySeconds: 1,
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
    },
    volumeMounts: [...SCRATCH_VOLUMES.map(({ mount }) => mount), ...remountAppVolumes(app, settings.writableVolumes)],
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
    { name: SIDECAR_ENV.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: SIDECAR_ENV.podNamespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: SIDECAR_ENV.podIp, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
  ];
}

/** Exits 0 when something accepts a TCP connection on 127.0.0.1:port, 1 otherwise. */
export function loopbackConnectScript(port: number): string {
  return (
    `const s=require('net').connect(${port},'127.0.0.1');` +
    `s.setTimeout(2000,()=>process.exit(1));` +
    `s.on('connect',()=>{s.destroy();process.exit(0)});` +
    `s.on('error',()=>process.exit(1))`
  );
}
