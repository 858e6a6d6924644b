/** `mirrord ls`: the targets of a namespace (or all) and whether their pods carry the sidecar. */
import type { AdminArgs } from '../admin-args';
import { listWorkloads } from '../admin/cluster-admin';
import { formatInventory, inventory } from '../admin/inventory';
import { explainUnreachable } from '../admin/reach';
import { loadKube } from '../kube/cluster';

export async function ls(args: Extract<AdminArgs, { kind: 'ls' }>): Promise<number> {
  const kube = loadKube(args.kube);
  const namespace = args.allNamespaces ? undefined : kube.namespace;
  const workloads = await explainUnreachable(kube, () => listWorkloads(kube, namespace));
  const rows = inventory(workloads);
  process.stdout.write(args.json ? JSON.stringify({ targets: rows }, null, 2) + '\n' : formatInventory(rows, args.allNamespaces));
  return 0;
}
