/**
 * What the syscall mode knows of the program's sockets, by inode (a descriptor's number is the
 * program's and may be reused; the socket's inode stays while it is open): what a connected or
 * listening socket stands for in the pod, and which of an UDP socket's datagrams go where. It
 * can't see a socket close (close isn't trapped), so a program that opens sockets for ever would
 * grow the records for ever: past MAX_RECORDS sockets, the oldest are forgotten (one still open
 * then reports the relay's address, not the pod-side one).
 */
import type { Endpoint } from '../../layer/syscall/native';

const MAX_RECORDS = 16_384;

export interface Known {
  /** The pod-side destination a connect asked for. */
  peer?: Endpoint;
  /** The pod-side source (a relayed connection), or the address a bind asked for (an intercepted listener). */
  local?: Endpoint;
  /** An intercepted bind's port (the pod's), until listen subscribes it. */
  bound?: number;
}

/** An UDP socket's datagrams to destinations in the pod, sent to endpoints of this machine that stand for them. */
export interface DatagramRoutes {
  /** By destination: where its datagrams go instead, or 'local' (where they were sent). */
  to: Map<string, Endpoint | 'local'>;
  /** By endpoint standing for a destination: the destination, which its answers say they come from. */
  from: Map<string, Endpoint>;
}

export const endpointKey = ({ address, port }: Endpoint): string => `${address}:${port}`;

export class SocketRecords {
  private readonly known = new Map<number, Known>();
  private readonly datagrams = new Map<number, DatagramRoutes>();

  get(inode: number): Known | undefined {
    return this.known.get(inode);
  }

  remember(inode: number, what: Known): void {
    bounded(this.known).set(inode, what);
  }

  /** The socket's datagram routes, made empty on first use when `create`. */
  routes(inode: number, create: true): DatagramRoutes;
  routes(inode: number, create?: false): DatagramRoutes | undefined;
  routes(inode: number, create = false): DatagramRoutes | undefined {
    let routes = this.datagrams.get(inode);
    if (!routes && create) bounded(this.datagrams).set(inode, (routes = { to: new Map(), from: new Map() }));
    return routes;
  }
}

/** `map`, its oldest entry dropped when it is full. */
function bounded<K, V>(map: Map<K, V>): Map<K, V> {
  if (map.size >= MAX_RECORDS) map.delete(map.keys().next().value as K);
  return map;
}
