/** Unfiltered steal: the whole connection goes to the session, as a new stream both ways. */
import type net from 'node:net';
import { pipeBothWays } from '../../protocol/pipe';
import type { Origin } from './origin';
import type { IncomingSink } from './subscriber';

/** Hands `socket` to `thief`; false when the session is gone and the connection is still the caller's. */
export function steal(socket: net.Socket, origin: Origin, thief: IncomingSink): boolean {
  const stream = thief.openIncoming({ ...origin, mode: 'steal', kind: 'connection' });
  if (!stream) return false;
  // A stream cut short (the session ended or stopped answering) resets the client's connection,
  // so it fails at once and can retry, instead of reading a clean end of an answer never sent.
  stream.once('close', () => (stream.errored || !stream.readableEnded) && socket.resetAndDestroy());
  pipeBothWays(socket, stream);
  return true;
}
