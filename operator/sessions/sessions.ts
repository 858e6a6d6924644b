/**
 * The sessions of the cluster, as `kubectl get mirrordsessions` and `mirrord sessions` list them:
 * asked of each injected pod's sidecar (the sessions live there, and end there), a few pods at a
 * time, each within a deadline. A pod that can't be asked is reported beside the list, not fatal.
 */
import type { V1Pod } from '../../common/kube-client';
import { OPERATOR_API_VERSION, type MirrordSession, type MirrordSessionList } from '../../protocol/operator-api';
import type { Result } from '../../protocol/messages';
import { withinDeadline } from '../deadline';
import { ApiFailure } from '../tickets/api-failure';

type Listed = Result<'sessions'>['sessions'][number];

/** What listing and ending sessions need of the cluster. */
export interface SidecarAccess {
  /** Pods with a ready sidecar, in one namespace or all. */
  injectedPods(namespace: string | undefined): Promise<V1Pod[]>;
  /** The sessions on the pod's sidecar (the operator's own listing session left out). */
  sessionsOf(pod: V1Pod): Promise<Listed[]>;
  /** Ends one; resolves once its rules are gone. */
  endSession(pod: V1Pod, id: string): Promise<void>;
}

/** Pods asked at once: each is a port-forward through the API server. */
const AT_ONCE = 8;
const POD_DEADLINE_MS = 5_000;

async function eachPod<T>(pods: V1Pod[], ask: (pod: V1Pod) => Promise<T>): Promise<{ pod: V1Pod; value?: T; error?: string }[]> {
  const results: { pod: V1Pod; value?: T; error?: string }[] = [];
  for (let i = 0; i < pods.length; i += AT_ONCE) {
    const batch = pods.slice(i, i + AT_ONCE);
    results.push(
      ...(await Promise.all(
        batch.map((pod) =>
          withinDeadline(
            ask(pod),
            POD_DEADLINE_MS,
            () => new Error(`the sidecar of pod ${pod.metadata?.namespace}/${pod.metadata?.name} did not answer within ${POD_DEADLINE_MS / 1000} s`),
          ).then(
            (value) => ({ pod, value }),
            (error: Error) => ({ pod, error: error.message }),
          ),
        ),
      )),
    );
  }
  return results;
}

export function toMirrordSession(pod: V1Pod, session: Listed): MirrordSession {
  return {
    apiVersion: OPERATOR_API_VERSION,
    kind: 'MirrordSession',
    metadata: { name: session.id, namespace: pod.metadata!.namespace!, creationTimestamp: session.since },
    spec: {
      pod: pod.metadata!.name!,
      ...(session.user !== undefined && { user: session.user }),
      ...(session.ticket !== undefined && { ticket: session.ticket }),
      client: session.client,
      ports: session.subscriptions,
    },
  };
}

export async function listSessions(access: SidecarAccess, namespace: string | undefined): Promise<MirrordSessionList> {
  const answers = await eachPod(await access.injectedPods(namespace), (pod) => access.sessionsOf(pod));
  const items = answers.flatMap(({ pod, value }) => (value ?? []).map((session) => toMirrordSession(pod, session)));
  const unreachable = answers
    .filter(({ error }) => error !== undefined)
    .map(({ pod, error }) => ({ namespace: pod.metadata!.namespace!, pod: pod.metadata!.name!, reason: error! }));
  return { apiVersion: OPERATOR_API_VERSION, kind: 'MirrordSessionList', metadata: {}, items, ...(unreachable.length && { unreachable }) };
}

/** The session by name (its id) in the namespace, and the pod it is on; 404 when no sidecar has it. */
export async function findSession(access: SidecarAccess, namespace: string, name: string): Promise<{ pod: V1Pod; session: MirrordSession }> {
  const answers = await eachPod(await access.injectedPods(namespace), (pod) => access.sessionsOf(pod));
  for (const { pod, value } of answers) {
    const found = value?.find((session) => session.id === name);
    if (found) return { pod, session: toMirrordSession(pod, found) };
  }
  const unasked = answers.filter(({ error }) => error !== undefined).map(({ pod }) => pod.metadata?.name);
  throw new ApiFailure(404, `no session ${name} in namespace ${namespace}${unasked.length ? ` (could not ask pods ${unasked.join(', ')})` : ''}`, 'NotFound');
}
