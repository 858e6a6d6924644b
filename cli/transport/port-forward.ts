/**
 * The agent through the API server's port-forward to the pod's loopback port: the access a
 * session needs is exactly `pods/portforward` on that pod. The forwarded byte stream carries
 * the session's WebSocket.
 */
import type { KubeConfig } from '../../common/kube-client';
import type WebSocket from 'ws';
import { connectThroughPortForward, type PortForwardTransport } from '../../common/kube-port-forward';
import { SIDECAR_NAME } from '../../common/pod-contract';
import { CliError } from '../errors';

export { connectThroughPortForward };

/** A port-forward to a pod's sidecar, with what to say when it fails, as every command shows it. */
export interface SidecarForward {
  socket: WebSocket;
  description: string;
  explain(): Promise<string | undefined>;
  hint: string;
  close(): void;
}

/** Opens the port-forward to `pod`'s sidecar on `port`; a refusal names the permission it lacks. */
export async function forwardToSidecar(config: KubeConfig, namespace: string, pod: string, port: number): Promise<SidecarForward> {
  let forward: PortForwardTransport;
  try {
    forward = await connectThroughPortForward(config, namespace, pod, port);
  } catch (error) {
    const text = (error as Error).message;
    if (/\b403\b|forbidden/i.test(text)) {
      throw new CliError(
        `not allowed to port-forward to pod ${pod} in namespace ${namespace}: mirrord needs the pods/portforward permission`,
        `kubectl auth can-i create pods/portforward -n ${namespace}; ask for a Role granting "create" on "pods/portforward"`,
      );
    }
    throw new CliError(
      `cannot port-forward to pod ${namespace}/${pod}: ${text}`,
      `check that the API server is reachable and the pod runs: kubectl get pod ${pod} -n ${namespace}`,
    );
  }
  return {
    socket: forward.socket,
    description: `pod ${namespace}/${pod} (port-forward to the sidecar's port ${port})`,
    explain: async () => forward.errors() || undefined,
    hint: `check the sidecar: kubectl logs ${pod} -c ${SIDECAR_NAME} -n ${namespace}`,
    close: () => forward.close(),
  };
}
