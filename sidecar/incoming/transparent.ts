/**
 * A connection to the app from the client's own address and port (transparent proxying), so the
 * app's logs, rate limits and allow-lists see who really called. The socket is bound to the
 * client's address (IP_TRANSPARENT) and marked; the pod's rules (iptables.ts) keep it apart from
 * the client's own connection in conntrack (`CT --zone-orig`) and route the app's replies, which
 * are addressed to the client, back to this socket (`CONNMARK`, `ip rule fwmark … lookup …`,
 * `local 0.0.0.0/0 dev lo`). Spike verified; not wired in yet.
 */
import net from 'node:net';
import type { Address } from '../../protocol/messages';
import { native } from '../native';

/** The mark of the sidecar's transparent connections (and of the app's replies to them). */
export const TRANSPARENT_MARK = 0x1e7;

/** A socket to `to` from `from`; throws (EPERM without NET_ADMIN, EADDRINUSE…) for the caller to fall back. */
export function transparentConnect(from: Address, to: Address): net.Socket {
  const fd = native.transparentConnect(from.address, from.port, to.address, to.port, TRANSPARENT_MARK);
  return new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
}
