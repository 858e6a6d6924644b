/**
 * Where traffic enters the sidecar's nat chain, with and without a service mesh.
 *
 * Without a mesh, clients' connections enter the pod and pass PREROUTING: one jump there, first.
 *
 * With a mesh (Istio, Linkerd), the mesh's own PREROUTING rules send every inbound connection to
 * its proxy container, which ends the mesh's mTLS and connects to the app over loopback: that
 * connection is made in the pod, so it passes OUTPUT, not PREROUTING. A jump at the top of
 * OUTPUT, for loopback traffic of every process but the sidecar's own (its connections to the app
 * and on behalf of sessions must not come back to it), intercepts what the proxy hands the app,
 * in cleartext, as the app sees it. A second jump, appended to PREROUTING after the mesh's,
 * still intercepts ports the mesh lets through untouched (Istio's excludeInboundPorts, Linkerd's
 * skip-inbound-ports): the mesh's REDIRECT ends the others' way through PREROUTING first.
 */
export interface Jump {
  hook: 'PREROUTING' | 'OUTPUT';
  /** What a packet must match to take the jump. */
  match: string[];
  /** Inserted at the top of the hook (before anyone else's rules), or appended after them. */
  first: boolean;
}

/** `auto`: look for a mesh's rules in the pod's nat table each time the chain is made. */
export type MeshMode = 'auto' | 'on' | 'off';

/** Chains a mesh's init container (or CNI plugin) makes in the pod's nat table, and whose they are. */
const MESH_CHAINS: Record<string, string> = {
  ISTIO_INBOUND: 'Istio',
  PROXY_INIT_REDIRECT: 'Linkerd',
};

/** The mesh whose chains `natRules` (`iptables -t nat -S`) holds, if any. */
export function meshIn(natRules: string): string | undefined {
  const chains = new Set(natRules.split('\n').flatMap((line) => (line.startsWith('-N ') ? [line.slice(3).trim()] : [])));
  return Object.entries(MESH_CHAINS).find(([chain]) => chains.has(chain))?.[1];
}

/** The jumps to make; `gid` is the sidecar's own group, whose traffic stays out. */
export function jumpsFor(mesh: string | undefined, gid: number): Jump[] {
  if (mesh === undefined) return [{ hook: 'PREROUTING', match: [], first: true }];
  return [
    { hook: 'OUTPUT', match: ['-o', 'lo', '-m', 'owner', '!', '--gid-owner', String(gid)], first: true },
    { hook: 'PREROUTING', match: [], first: false },
  ];
}

/** Decides, from the mode and the pod's nat rules, whether the pod has a mesh, and names it. */
export async function meshOf(mode: MeshMode, natRules: () => Promise<string>): Promise<string | undefined> {
  if (mode === 'off') return undefined;
  return meshIn(await natRules()) ?? (mode === 'on' ? 'a service mesh' : undefined);
}
