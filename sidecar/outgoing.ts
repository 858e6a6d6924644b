/** Outgoing connections made from the pod's network namespace on the client's behalf. */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Params, Result } from '../protocol/messages';
import { MAX_DATA } from '../protocol/frame';
import type { MuxStream } from '../protocol/stream';
import { pipeBothWays } from '../protocol/pipe';
import { resolveOne, type LookupTurns } from './dns';

/**
 * Where every outgoing connection's reads land, one at a time: each is framed (copied into the
 * DATA frame) before the next read, so one buffer serves them all, and a bulk download makes no
 * garbage per read (a fresh 64 KiB per read is what Node does otherwise, and V8 answers every few
 * tens of MiB of it with a full collection).
 */
const readBuffer = Buffer.allocUnsafe(MAX_DATA);

/** Connects TCP and joins it to `stream`; resolves once the connection is up. */
export async function connectTcp(params: Params<'connect'>, stream: MuxStream, turns: LookupTurns): Promise<Result<'connect'>> {
  const host = net.isIP(params.host) ? params.host : (await resolveOne(params.host, turns)).address;
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host,
      port: params.port,
      allowHalfOpen: true,
      noDelay: true,
      onread: { buffer: readBuffer, callback: (bytes) => forward(bytes) },
    });
    const forward = (bytes: number): boolean => {
      const chunk = readBuffer.subarray(0, bytes);
      // With nothing queued and the credit for it, the stream frames the bytes at once; otherwise
      // they wait in the stream, so they are copied, and reading stops until it drains.
      if (stream.writableLength === 0 && stream.writableCredit >= bytes) stream.write(chunk);
      else if (!stream.write(Buffer.from(chunk))) {
        socket.pause();
        stream.once('drain', () => socket.resume());
      }
      return true;
    };
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      // Ends and aborts as a pipe both ways; the bytes read come through `forward`.
      pipeBothWays(socket, stream);
      resolve({
        local: { address: socket.localAddress ?? '', port: socket.localPort ?? 0 },
        remote: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
      });
    });
  });
}

/**
 * A connected UDP socket: each DATA frame on `stream` is one datagram out, each datagram in
 * is one DATA frame back. Datagrams that find no flow-control credit are dropped, as UDP may.
 */
export async function connectUdp(params: Params<'connect'>, stream: MuxStream, turns: LookupTurns): Promise<Result<'connect'>> {
  const { address, family } = await resolveOne(params.host, turns);
  const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (error) => {
      socket.close();
      reject(error);
    });
    socket.connect(params.port, address, () => {
      socket.removeAllListeners('error');
      resolve();
    });
  });
  socket.on('error', () => stream.destroy());
  socket.on('message', (datagram) => {
    if (stream.writableCredit >= datagram.length) stream.write(datagram);
  });
  stream.on('data', (datagram: Buffer) => socket.send(datagram));
  stream.on('error', () => undefined);
  stream.once('close', () => socket.close());
  stream.once('end', () => stream.end());
  const local = socket.address();
  const remote = socket.remoteAddress();
  return { local: { address: local.address, port: local.port }, remote: { address: remote.address, port: remote.port } };
}
