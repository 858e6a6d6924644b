/**
 * A connection to the app from the client's own address and port (transparent proxying), so the
 * app's logs, rate limits and allow-lists see who really called. The socket is bound to the
 * client's address (IP_TRANSPARENT) and marked; the pod's rules (iptables.ts) keep it apart from
 * the client's own connection in conntrack (`CT --zone-orig`) and route the app's replies, which
 * are addressed to the client, back to this socket (`CONNMARK`, `ip rule fwmark … lookup …`,
 * `local 0.0.0.0/0 dev lo`).
 */
import net from 'node:net';
import type { Address } from '../../protocol/messages';
import { native } from '../native';

/** The mark of the sidecar's transparent connections (and of the app's replies to them). */
export const TRANSPARENT_MARK = 0x1e7;
/** The routing table that sends the app's replies to transparent connections to the local socket. */
export const TRANSPARENT_ROUTE_TABLE = '231';

/**
 * Whether the pod's rules for transparent connections are all in place (iptables.ts says so).
 * Without the routes, a connection from the client's address would still be made but the app's
 * replies would leave the pod for the real client: no transparent connection is made then.
 * The rules belong to the pod's network namespace, one per process: so does this flag, one per
 * IP family (iptables and ip6tables are separate rule sets).
 */
const routed = { 4: false, 6: false };

export function transparentRouting(family: 4 | 6, ready: boolean): void {
  routed[family] = ready;
}

/** A socket to `to` from `from`; throws (rules missing, EPERM without NET_ADMIN, EADDRINUSE…) for the caller to fall back. */
export function transparentConnect(from: Address, to: Address): net.Socket {
  if (!routed[net.isIPv6(from.address) ? 6 : 4]) throw new Error("the pod's rules for transparent connections are not in place");
  const fd = native.transparentConnect(from.address, from.port, to.address, to.port, TRANSPARENT_MARK);
  return new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
}
