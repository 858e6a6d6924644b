/** A redirected connection nobody takes: on to the app, unchanged, from the client's own address where the pod allows it. */
import net from 'node:net';
import type { Logger } from '../../common/log';
import { pipeBothWays } from '../../protocol/pipe';
import type { Origin } from './origin';
import { transparentConnect } from './transparent';

export function passThrough(socket: net.Socket, origin: Origin, log: Logger): void {
  pipeBothWays(socket, connectToApp(origin, log));
}

/** A connection to the app from the client's address, or from the pod's when that can't be had. */
export function connectToApp(origin: Origin, log: Logger): net.Socket {
  try {
    return transparentConnect(origin.remote, origin.local);
  } catch (error) {
    const socket = fromClientAddressOnly(origin);
    if (socket) return socket;
    // Debug only: when the pod lacks the rules, iptables.ts has already warned once.
    log.debug("connecting to the app from the pod's address", { client: origin.remote, error: (error as Error).message });
    return net.connect({ host: origin.local.address, port: origin.local.port, allowHalfOpen: true, noDelay: true });
  }
}

/**
 * A client in the pod itself (a service mesh's proxy, mesh.ts) holds that very address and port
 * to the app's address already: its connection is only redirected. The app sees its address then,
 * from another port.
 */
function fromClientAddressOnly(origin: Origin): net.Socket | undefined {
  try {
    return transparentConnect({ address: origin.remote.address, port: 0 }, origin.local);
  } catch {
    return undefined;
  }
}
