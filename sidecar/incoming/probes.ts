/**
 * kubelet's HTTP probes of the app: a request to a probed port and path from kubelet (its
 * `User-Agent` is `kube-probe/VERSION`) always reaches the app, in steal mode too, so a
 * breakpoint or a slow laptop never gets the pod restarted or taken out of its Service. The
 * header can be sent by anyone; it only ever keeps a request with the app, where it would go
 * without mirrord.
 */
import type { IncomingMessage } from 'node:http';

/** The probed paths of one port. */
export type ProbedPaths = ReadonlySet<string>;

/** The probed paths by port. */
export function probedPorts(probes: readonly { port: number; path: string }[]): ReadonlyMap<number, ProbedPaths> {
  const ports = new Map<number, Set<string>>();
  for (const { port, path } of probes) ports.set(port, (ports.get(port) ?? new Set()).add(path));
  return ports;
}

export function isKubeletProbe(request: IncomingMessage, paths: ProbedPaths | undefined): boolean {
  return !!paths && request.method === 'GET' && paths.has(request.url ?? '') && (request.headers['user-agent'] ?? '').startsWith('kube-probe/');
}
