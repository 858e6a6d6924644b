/**
 * Mirror fan-out: each mirroring session without a filter gets a stream with a copy of what the
 * client sends on a connection that goes on to the app (filtered ones get copies of the requests
 * they match: filtered-mirror.ts). The copies never slow the app: a copy that lacks credit for a
 * chunk (its laptop is slow or gone) is cut off, and the connection to the app goes on.
 */
import { WINDOW, type MuxStream } from '../../protocol/stream';
import type { Origin } from './origin';
import type { IncomingSink } from './subscriber';

/**
 * What a copy reads a connection's client bytes from: the redirected socket itself, or the
 * capture's reassembly of it (capture.ts), which may also say its copy was 'lost'.
 */
export interface ByteSource {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  once(event: 'end' | 'close', listener: () => void): unknown;
  once(event: 'lost', listener: (why: string) => void): unknown;
}

/** A session's copy of some of a connection's bytes. */
export interface Copy {
  sink: IncomingSink;
  stream: MuxStream;
}

export function mirror(socket: ByteSource, origin: Origin, mirrors: readonly IncomingSink[]): void {
  const copies = mirrors
    .map((sink) => ({ sink, stream: sink.openIncoming({ ...origin, mode: 'mirror', kind: 'connection' }) }))
    .filter((copy): copy is Copy => copy.stream !== undefined);
  if (!copies.length) return;
  for (const { stream } of copies) {
    stream.on('error', () => undefined);
    stream.resume(); // the local process's answers to a mirrored connection are dropped
  }
  socket.on('data', (chunk: Buffer) => copies.forEach((copy) => copyOrCutOff(copy, chunk, origin.port)));
  socket.once('end', () => copies.forEach(({ stream }) => stream.end()));
  socket.once('lost', (why) => copies.forEach(({ sink }) => sink.notice('warn', `a mirrored connection on port ${origin.port} was cut off: ${why}`)));
  socket.once('close', () => copies.forEach(({ stream }) => stream.writableEnded || stream.destroy()));
}

/**
 * How far a copy may run ahead of its session's credit, held in the sidecar: a burst (the bytes a
 * client's lost segment held back, all at once when it comes again) is not a slow laptop.
 */
export const COPY_SLACK = WINDOW;

/**
 * Sends `chunk` on `copy` when its stream has the credit for it and `pending` bytes more (written
 * but not yet on the stream), give or take COPY_SLACK; else cuts the copy off and tells its
 * session. False once cut off.
 */
export function copyOrCutOff(copy: Copy, chunk: Buffer, port: number, pending = 0, write = (bytes: Buffer) => copy.stream.write(bytes)): boolean {
  if (copy.stream.destroyed) return false;
  // Never wait for a slow laptop: a copy that can't take the bytes now is cut off.
  if (copy.stream.writableCredit + COPY_SLACK - copy.stream.writableLength >= chunk.length + pending) {
    write(chunk);
    return true;
  }
  return cutOff(copy.sink, port, () => copy.stream.destroy(new Error('mirror copy dropped: the client fell behind')));
}

/** Stops a copy its session can't keep up with (`stop`), and tells the session. */
export function cutOff(sink: IncomingSink, port: number, stop: () => void): false {
  stop();
  sink.notice('warn', `a mirrored connection on port ${port} was cut off because this client could not keep up`);
  return false;
}
