/** A redirected connection nobody takes: on to the app, unchanged, from the client's own address where the pod allows it. */
import net from 'node:net';
import { pipeBothWays } from '../../protocol/pipe';
import type { Origin } from './origin';
import { transparentConnect } from './transparent';

export function passThrough(socket: net.Socket, origin: Origin): void {
  pipeBothWays(socket, connectToApp(origin));
}

/** A connection to the app from the client's address, or from the pod's when that can't be had. */
export function connectToApp(origin: Origin): net.Socket {
  try {
    return transparentConnect(origin.remote, origin.local);
  } catch {
    return net.connect({ host: origin.local.address, port: origin.local.port, allowHalfOpen: true, noDelay: true });
  }
}
