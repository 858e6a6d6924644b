/**
 * A session's WebSocket through the API server's port-forward to a pod's loopback port: the
 * access it needs is exactly `pods/portforward` on that pod. The CLI attaches this way, and the
 * operator reaches sidecars this way to list and end sessions.
 *
 * @kubernetes/client-node is an ES module jest can't load: only code that main.ts loads imports
 * this file.
 */
import { PortForward, type KubeConfig } from './kube-client';
import { Duplex, PassThrough } from 'node:stream';
import WebSocket from 'ws';
import { clientSocketOptions } from '../protocol/socket-options';

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
  const socket = new WebSocket('ws://mirrord-agent/', { createConnection: () => bytes as never, ...clientSocketOptions({ privateStream: true }) });
  tunnel.on('close', () => {
    fromPod.end();
    if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
  });
  tunnel.on('error', (error: Error) => socket.emit('error', error));
  socket.once('close', () => tunnel.close());
  return { socket, errors: () => errors.trim(), close: () => tunnel.close() };
}
