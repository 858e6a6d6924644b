/**
 * A short session to one pod's sidecar through the API server's port-forward, for the commands
 * that ask the sidecar something (`sessions`, `sessions kill`) rather than attach to it.
 */
import type { V1Pod } from '../../common/kube-client';
import type { Client } from '../../protocol/client';
import type { Kube } from '../kube/cluster';
import { requestTicket } from '../kube/tickets';
import { agentPortOf } from '../kube/pod-choice';
import { startClient } from '../start-client';
import { forwardToSidecar } from '../transport/port-forward';
import { userAtHost } from '../who';

/** `user@host (pid N)`: who runs this command, as sidecar logs and ended sessions show it. */
export function operatorName(): string {
  return `${userAtHost()} (pid ${process.pid})`;
}

/** Runs `use` on a session to the pod's sidecar, and closes it whatever happens. */
export async function withPodClient<T>(kube: Kube, pod: V1Pod, clientName: string, use: (client: Client) => Promise<T>): Promise<T> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? kube.namespace;
  const port = agentPortOf(pod);
  // Where the operator is installed, the sidecar wants a ticket: an admin one (lists and ends
  // sessions, touches nothing of the pod), asked for while the port-forward opens.
  const ticket = requestTicket({ ...kube, namespace }, { target: `pod/${name}`, pod: name, ports: [], fs: 'local', client: clientName, purpose: 'admin' });
  ticket.catch(() => undefined);
  const forward = await forwardToSidecar(kube.config, namespace, name, port);
  forward.socket.on('error', () => undefined);
  let granted;
  try {
    granted = await ticket;
  } catch (error) {
    forward.close();
    throw error;
  }
  const client = await startClient(forward, { client: clientName, ticket: granted?.ticket });
  try {
    return await use(client);
  } finally {
    client.close();
    await Promise.race([client.closed(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    forward.close();
  }
}
