/** Unfiltered steal: the whole connection goes to the session, as a new stream both ways. */
import type net from 'node:net';
import { pipeBothWays } from '../../protocol/pipe';
import type { Origin } from './origin';
import type { IncomingSink } from './subscriber';

/** Hands `socket` to `thief`; false when the session is gone and the connection is still the caller's. */
export function steal(socket: net.Socket, origin: Origin, thief: IncomingSink): boolean {
  const stream = thief.openIncoming({ ...origin, mode: 'steal', kind: 'connection' });
  if (!stream) return false;
  pipeBothWays(socket, stream);
  return true;
}
