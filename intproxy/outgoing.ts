/**
 * `connect`: the proxy first makes the connection from the pod (so that a refusal reaches the
 * app's connect() as its errno), then offers a one-shot local endpoint that the layer connects
 * the app's socket to, and joins the two.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { ClientApi } from '../protocol/client';
import type { MuxStream } from '../protocol/stream';
import { pipeBothWays } from '../protocol/pipe';
import type { Reply } from './channel';
import { errorReply } from './errno';

/** How long the app has to connect to the endpoint it was given. */
const ACCEPT_TIMEOUT_MS = 10_000;

export async function connectTcp(client: ClientApi, address: string, port: number): Promise<Reply<'connect'>> {
  let remote;
  try {
    remote = await client.connect('tcp', address, port);
  } catch (error) {
    return errorReply(error);
  }
  const loopback = net.isIPv6(address) ? '::1' : '127.0.0.1';
  const server = net.createServer({ allowHalfOpen: true, noDelay: true });
  const timer = setTimeout(() => {
    server.close();
    remote.stream.destroy();
  }, ACCEPT_TIMEOUT_MS);
  server.once('connection', (socket) => {
    clearTimeout(timer);
    server.close();
    pipeBothWays(socket, remote.stream);
  });
  await new Promise<void>((resolve) => server.listen(0, loopback, resolve));
  const { port: relayPort } = server.address() as net.AddressInfo;
  return { kind: 'redirect', relayPort, podLocal: remote.local };
}

/** A connected UDP socket: a local relay socket whose datagrams travel as DATA frames. */
export async function connectUdp(client: ClientApi, address: string, port: number): Promise<Reply<'connect'>> {
  let remote: { stream: MuxStream; local: { address: string; port: number } };
  try {
    remote = await client.connect('udp', address, port);
  } catch (error) {
    return errorReply(error);
  }
  const relay = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
  let app: { address: string; port: number } | undefined;
  relay.on('message', (datagram, from) => {
    app = { address: from.address, port: from.port };
    if (remote.stream.writableCredit >= datagram.length) remote.stream.write(datagram);
  });
  remote.stream.on('data', (datagram: Buffer) => app && relay.send(datagram, app.port, app.address));
  remote.stream.on('error', () => undefined);
  remote.stream.once('close', () => relay.close());
  relay.on('error', () => remote.stream.destroy());
  await new Promise<void>((resolve) => relay.bind(0, net.isIPv6(address) ? '::1' : '127.0.0.1', resolve));
  return { kind: 'redirect', relayPort: relay.address().port, podLocal: remote.local };
}
