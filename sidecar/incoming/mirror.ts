/**
 * Mirror fan-out: each mirroring session gets a stream with a copy of what the client sends on
 * a connection that goes on to the app. The copies never slow the app: a copy that lacks credit
 * for a chunk (its laptop is slow or gone) is cut off, and the connection to the app goes on.
 */
import type net from 'node:net';
import type { MuxStream } from '../../protocol/stream';
import type { Origin } from './origin';
import type { IncomingSink } from './subscriber';

interface Copy {
  sink: IncomingSink;
  stream: MuxStream;
}

export function mirror(socket: net.Socket, origin: Origin, mirrors: readonly IncomingSink[]): void {
  const copies = mirrors
    .map((sink) => ({ sink, stream: sink.openIncoming({ ...origin, mode: 'mirror', kind: 'connection' }) }))
    .filter((copy): copy is Copy => copy.stream !== undefined);
  if (!copies.length) return;
  for (const { stream } of copies) {
    stream.on('error', () => undefined);
    stream.resume(); // the local process's answers to a mirrored connection are dropped
  }
  socket.on('data', (chunk: Buffer) => {
    for (const copy of copies) {
      if (copy.stream.destroyed) continue;
      // Never wait for a slow laptop: a copy that can't take the bytes now is cut off.
      if (copy.stream.writableCredit >= chunk.length) copy.stream.write(chunk);
      else {
        copy.stream.destroy(new Error('mirror copy dropped: the client fell behind'));
        copy.sink.notice('warn', `a mirrored connection on port ${origin.port} was cut off because this client could not keep up`);
      }
    }
  });
  socket.once('end', () => copies.forEach(({ stream }) => stream.end()));
  socket.once('close', () => copies.forEach(({ stream }) => stream.writableEnded || stream.destroy()));
}
