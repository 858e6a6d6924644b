/**
 * The agent through the API server's port-forward to the pod's loopback port: the access a
 * session needs is exactly `pods/portforward` on that pod. The forwarded byte stream carries
 * the session's WebSocket.
 */
import { PortForward, type KubeConfig } from '@kubernetes/client-node';
import { Duplex, PassThrough } from 'node:stream';
import WebSocket from 'ws';
import { SIDECAR_NAME } from '../../common/pod-contract';
import { MAX_FRAME } from '../../protocol/frame';
import { CliError } from '../errors';

export interface PortForwardTransport {
  socket: WebSocket;
  /** What the API server said on the port's error channel, if anything. */
  errors(): string;
  close(): void;
}

export async function connectThroughPortForward(config: KubeConfig, namespace: string, pod: string, port: number): Promise<PortForwardTransport> {
  const fromPod = new PassThrough();
  const toPod = new PassThrough();
  const errorChannel = new PassThrough();
  let errors = '';
  errorChannel.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-2048)));
  const forward = await new PortForward(config).portForward(namespace, pod, [port], fromPod, errorChannel, toPod);
  const tunnel = typeof forward === 'function' ? forward() : forward;
  if (!tunnel) throw new Error('the API server did not open the port-forward');
  const bytes = Duplex.from({ readable: fromPod, writable: toPod });
  const socket = new WebSocket('ws://mirrord-agent/', { createConnection: () => bytes as never, maxPayload: MAX_FRAME, perMessageDeflate: false });
  tunnel.on('close', () => {
    fromPod.end();
    if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
  });
  tunnel.on('error', (error: Error) => socket.emit('error', error));
  socket.once('close', () => tunnel.close());
  return { socket, errors: () => errors.trim(), close: () => tunnel.close() };
}

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
