/**
 * A socket as a stream that first gives back bytes already read from it (read to tell which
 * protocol the peer speaks). Node's HTTP/2 session reads a socket's own handle, past anything put
 * back in its JavaScript buffer with unshift(), but reads any other duplex stream through that
 * stream: hand it this.
 */
import type net from 'node:net';
import { Duplex } from 'node:stream';

/**
 * `socket` is paused, the bytes read from it put back (unshift) or given as `first`. Every chunk
 * read goes through `passOn` (which may hold bytes back, or add some) on its way.
 */
export function replayedSocket(socket: net.Socket, first?: Buffer, passOn: (chunk: Buffer) => Buffer = (chunk) => chunk): Duplex {
  const duplex = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _encoding, done) => void socket.write(chunk, done),
    final: (done) => void socket.end(done),
    destroy: (error, done) => {
      socket.destroy(error ?? undefined);
      done(error);
    },
  });
  const push = (chunk: Buffer) => duplex.push(passOn(chunk));
  if (first) push(first);
  let chunk: Buffer | null;
  while ((chunk = socket.read() as Buffer | null) !== null) push(chunk);
  socket.on('data', (data: Buffer) => {
    if (!push(data)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('error', (error) => duplex.destroy(error));
  socket.on('close', () => duplex.destroy());
  return duplex;
}
