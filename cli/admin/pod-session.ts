/**
 * A short session to one pod's sidecar through the API server's port-forward, for the commands
 * that ask the sidecar something (`sessions`, `sessions kill`) rather than attach to it.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { hostname, userInfo } from 'node:os';
import type { Client } from '../../protocol/client';
import { CliError } from '../errors';
import type { Kube } from '../kube/cluster';
import { agentPortOf } from '../kube/pod-choice';
import { startSession } from '../session';
import { connectThroughPortForward } from '../transport/port-forward';
import { SIDECAR_NAME } from '../../common/pod-contract';

/** `user@host (pid N)`: who runs this command, as sidecar logs and ended sessions show it. */
export function operatorName(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container's arbitrary uid): the host and pid still say who
  }
  return `${user}@${hostname()} (pid ${process.pid})`;
}

/** Runs `use` on a session to the pod's sidecar, and closes it whatever happens. */
export async function withPodSession<T>(kube: Kube, pod: V1Pod, clientName: string, use: (client: Client) => Promise<T>): Promise<T> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? kube.namespace;
  const port = agentPortOf(pod);
  let forward;
  try {
    forward = await connectThroughPortForward(kube.config, namespace, name, port);
  } catch (error) {
    const text = (error as Error).message;
    if (/\b403\b|forbidden/i.test(text)) {
      throw new CliError(`not allowed to port-forward to pod ${namespace}/${name}`, `kubectl auth can-i create pods/portforward -n ${namespace}`);
    }
    throw new CliError(`cannot port-forward to pod ${namespace}/${name}: ${text}`, `kubectl get pod ${name} -n ${namespace}`);
  }
  forward.socket.on('error', () => undefined);
  const client = await startSession(
    {
      socket: forward.socket,
      description: `pod ${namespace}/${name}`,
      explain: async () => forward.errors() || undefined,
      hint: `check the sidecar: kubectl logs ${name} -c ${SIDECAR_NAME} -n ${namespace}`,
      close: () => forward.close(),
    },
    clientName,
  );
  try {
    return await use(client);
  } finally {
    client.close();
    await Promise.race([client.closed(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    forward.close();
  }
}
