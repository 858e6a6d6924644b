/** A redirected connection nobody takes: on to the app, unchanged. */
import net from 'node:net';
import { pipeBothWays } from '../../protocol/pipe';
import type { Origin } from './origin';

export function passThrough(socket: net.Socket, origin: Origin): void {
  const upstream = net.connect({ host: origin.local.address, port: origin.local.port, allowHalfOpen: true, noDelay: true });
  pipeBothWays(socket, upstream);
}
