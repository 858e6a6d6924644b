/**
 * Reaching the sidecars as a client does, through the API server's port-forward, with an admin
 * ticket the operator signs for itself: to list the sessions of a pod and end one.
 */
import type { CoreV1Api, KubeConfig, V1Pod } from '../../common/kube-client';
import { connectThroughPortForward } from '../../common/kube-port-forward';
import { agentPortOf, sidecarReady } from '../../common/pod-sidecar';
import { ANNOTATION } from '../../common/pod-contract';
import { Client } from '../../protocol/client';
import type { SidecarAccess } from '../sessions/sessions';

const CLIENT_NAME = 'mirrord-operator';

export function sidecarAccess(config: KubeConfig, core: CoreV1Api, ticketFor: (pod: V1Pod) => string): SidecarAccess {
  const withClient = async <T>(pod: V1Pod, use: (client: Client) => Promise<T>): Promise<T> => {
    const forward = await connectThroughPortForward(config, pod.metadata!.namespace!, pod.metadata!.name!, agentPortOf(pod));
    forward.socket.on('error', () => undefined);
    try {
      const client = await Client.start(forward.socket, { client: CLIENT_NAME, ticket: ticketFor(pod) });
      try {
        return await use(client);
      } finally {
        client.close();
      }
    } finally {
      forward.close();
    }
  };
  return {
    injectedPods: async (namespace) => {
      const { items } = namespace ? await core.listNamespacedPod({ namespace }) : await core.listPodForAllNamespaces();
      return items.filter((pod) => pod.metadata?.annotations?.[ANNOTATION.injected] && sidecarReady(pod) && !pod.metadata.deletionTimestamp);
    },
    sessionsOf: (pod) =>
      withClient(pod, async (client) => (await client.call('sessions', {})).result.sessions.filter((session) => session.id !== client.info.sessionId)),
    endSession: (pod, id) =>
      withClient(pod, async (client) => {
        await client.call('sessions.kill', { id });
      }),
  };
}
