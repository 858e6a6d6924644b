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
import type { Protocol } from './address-filter';
import type { Reply } from './channel';
import { errorReply } from './errno';

/** How long the app has to connect to the endpoint it was given. */
const ACCEPT_TIMEOUT_MS = 10_000;

/** A connection to `address`:`port` made from the pod, and the local endpoint (of `address`'s family) that relays it. */
export async function connectFromPod(client: ClientApi, protocol: Protocol, address: string, port: number): Promise<Reply<'connect'>> {
  let remote;
  try {
    remote = await client.connect(protocol, address, port);
  } catch (error) {
    return errorReply(error);
  }
  const loopback = relayLoopback(address);
  const relayPort = protocol === 'udp' ? await relayUdp(remote.stream, loopback) : await relayTcp(remote.stream, loopback);
  return { kind: 'redirect', relayPort, podLocal: remote.local };
}

/** Where the relay for a destination listens: the loopback address of the destination's family. */
export function relayLoopback(address: string): string {
  return net.isIPv6(address) ? '::1' : '127.0.0.1';
}

/** A one-shot listener on `loopback` whose one connection is joined to `stream`. */
async function relayTcp(stream: MuxStream, loopback: string): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true });
  const timer = setTimeout(() => {
    server.close();
    stream.destroy();
  }, ACCEPT_TIMEOUT_MS);
  server.once('connection', (socket) => {
    clearTimeout(timer);
    server.close();
    pipeBothWays(socket, stream);
  });
  await new Promise<void>((resolve) => server.listen(0, loopback, resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A connected UDP socket: a relay socket on `loopback` whose datagrams travel as DATA frames of `stream`. */
async function relayUdp(stream: MuxStream, loopback: string): Promise<number> {
  const relay = dgram.createSocket(net.isIPv6(loopback) ? 'udp6' : 'udp4');
  let app: { address: string; port: number } | undefined;
  relay.on('message', (datagram, from) => {
    app = { address: from.address, port: from.port };
    if (stream.writableCredit >= datagram.length) stream.write(datagram);
  });
  stream.on('data', (datagram: Buffer) => app && relay.send(datagram, app.port, app.address));
  stream.on('error', () => undefined);
  stream.once('close', () => relay.close());
  relay.on('error', () => stream.destroy());
  await new Promise<void>((resolve) => relay.bind(0, loopback, resolve));
  return relay.address().port;
}
