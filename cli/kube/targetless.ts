/**
 * Targetless sessions: outgoing connections and DNS from a small pod the CLI starts in the
 * namespace (labeled for injection, so the webhook gives it the sidecar), for a program that
 * needs the cluster's network but no workload's traffic, files or environment. The pod is a
 * Job's, deleted when the session ends; if the CLI dies first, the pod's own container ends once
 * no session has used it for a while, and the Job's TTL removes both.
 */
import { randomBytes } from 'node:crypto';
import { BatchV1Api, CoreV1Api, type V1Job } from '../../common/kube-client';
import { INJECTION_LABEL } from '../../common/pod-contract';
import { VERSION } from '../../common/version';
import { CliError } from '../errors';
import { statusOf, type Kube } from './cluster';
import { STARTED_BY_ANNOTATION } from './copy-spec';
import { cleanUpOnInterrupt, waitForJobPod } from './job-pod';
import { agentPortOf } from './pod-choice';

export const TARGETLESS_LABEL = 'mirrord.dev/targetless';
/** How long the pod stays after its last session ends (at least; more when the CLI may still reconnect), and how long it waits for a first one. */
export const IDLE_EXIT_S = 10;
export const UNUSED_EXIT_S = 120;
const READY_TIMEOUT_MS = 60_000;

/**
 * The pod's own container: asks the sidecar (its loopback port, the only one listening there)
 * how many sessions it holds and has opened, every 2 s, and exits once they are gone for
 * IDLE_EXIT_S (or none came within UNUSED_EXIT_S). node is in the sidecar's image, which this
 * pod runs.
 */
const IDLE_EXIT = `
const http = require('http');
const fs = require('fs');
let seen = false, idle = 0;
const port = () => {
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\\n').slice(1)) {
    const [, local, , state] = line.trim().split(/\\s+/);
    if (state === '0A' && local && local.startsWith('0100007F:')) return parseInt(local.slice(9), 16);
  }
};
const idleExit = Number(process.env.MIRRORD_IDLE_EXIT_S) || ${IDLE_EXIT_S};
const tick = ({ sessions = 0, opened = 0 }) => {
  seen = seen || opened > 0;
  if (sessions > 0) idle = 0; else idle += 2;
  if ((seen && idle >= idleExit) || idle >= ${UNUSED_EXIT_S}) process.exit(0);
};
setInterval(() => {
  const request = http.get({ host: '127.0.0.1', port: port(), path: '/healthz', timeout: 2000 }, (response) => {
    let body = '';
    response.on('data', (chunk) => (body += chunk));
    response.on('end', () => { try { tick(JSON.parse(body)); } catch { tick({}); } });
  });
  request.on('error', () => tick({}));
  request.on('timeout', () => request.destroy());
}, 2000);
`;

/** The image of the targetless pod: the sidecar's, which has node (MIRRORD_TARGETLESS_IMAGE where the cluster uses its own registry). */
export function targetlessImage(env: NodeJS.ProcessEnv = process.env): string {
  return env.MIRRORD_TARGETLESS_IMAGE || `mirrord-sidecar:${VERSION}`;
}

/** `idleExitS`: how long the pod stays once its sessions are over (the CLI may be reconnecting meanwhile). */
export function targetlessJob(name: string, image: string, startedBy: string, idleExitS = IDLE_EXIT_S): V1Job {
  const labels = { [TARGETLESS_LABEL]: 'true', 'app.kubernetes.io/managed-by': 'mirrord' };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels, annotations: { [STARTED_BY_ANNOTATION]: startedBy } },
    spec: {
      backoffLimit: 0,
      // The Job and its pod are deleted as soon as the pod's container ends.
      ttlSecondsAfterFinished: 0,
      // However it goes, a day at most.
      activeDeadlineSeconds: 24 * 3600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: 'targetless',
              image,
              imagePullPolicy: 'IfNotPresent',
              command: ['/usr/bin/node', '-e', IDLE_EXIT],
              env: [{ name: 'MIRRORD_IDLE_EXIT_S', value: String(idleExitS) }],
              resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  };
}

export interface TargetlessPod {
  name: string;
  port: number;
  /** Deletes the Job and its pod. */
  remove(): Promise<void>;
}

/** Starts the targetless pod in the namespace and waits until its sidecar is ready. */
export async function startTargetless(kube: Kube, startedBy: string, step: (text: string) => void, reconnectMs: number): Promise<TargetlessPod> {
  const core = kube.config.makeApiClient(CoreV1Api);
  const batch = kube.config.makeApiClient(BatchV1Api);
  const { namespace } = kube;
  const labeled = await core.readNamespace({ name: namespace }).then(
    (ns) => ns.metadata?.labels?.[INJECTION_LABEL] === 'enabled',
    (error: unknown) => (statusOf(error) === 404 ? false : undefined), // not allowed to look: try
  );
  if (labeled === false) {
    throw new CliError(
      `a targetless session runs from a pod the webhook gives the sidecar, and namespace ${namespace} is not labeled for injection`,
      `kubectl label namespace ${namespace} ${INJECTION_LABEL}=enabled, or -n a namespace that is`,
    );
  }
  const name = `mirrord-targetless-${randomBytes(4).toString('hex')}`;
  step(`starting a targetless pod (job/${name}) in namespace ${namespace}…`);
  try {
    // A dropped connection is retried for reconnectMs: the pod must outlast that.
    const idleExitS = Math.max(IDLE_EXIT_S, Math.ceil(reconnectMs / 1000) + IDLE_EXIT_S);
    await batch.createNamespacedJob({ namespace, body: targetlessJob(name, targetlessImage(), startedBy, idleExitS) });
  } catch (error) {
    const code = statusOf(error);
    throw new CliError(
      `cannot start a targetless pod in namespace ${namespace}${code ? ` (HTTP ${code})` : ''}: ${(error as Error).message}`,
      code === 403 ? `kubectl auth can-i create jobs -n ${namespace}: the mirrord-targetless role grants it` : 'check that the cluster is up',
    );
  }
  const remove = async () => {
    await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' }).catch((error: unknown) => {
      if (statusOf(error) !== 404) step(`could not delete job/${name} (${(error as Error).message}); it ends itself once idle`);
    });
  };
  const interrupted = cleanUpOnInterrupt(remove, step);
  try {
    const pod = await waitForJobPod(core, namespace, name, {
      what: 'the targetless pod',
      containerHint: `its image is ${targetlessImage()}; MIRRORD_TARGETLESS_IMAGE names another`,
      timeoutMs: READY_TIMEOUT_MS,
    });
    return { name: pod.metadata?.name ?? '', port: agentPortOf(pod), remove };
  } catch (error) {
    await remove();
    throw error;
  } finally {
    interrupted();
  }
}
