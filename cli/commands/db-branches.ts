/**
 * `mirrord db-branches status [ID...]`: the database branches of a namespace (or all), read from
 * their Pods' labels and annotations. `mirrord db-branches stop ID...|--all`: deletes them (the
 * Pod, the Service and the Secret of each), as the operator does when their TTL passes.
 */
import { CoreV1Api, type V1Pod } from '../../common/kube-client';
import { statusOf } from '../../common/kube-status';
import { DB_BRANCH_LABEL, dbBranchObjectName } from '../../protocol/db-branch';
import type { AdminArgs } from '../admin-args';
import { branchRow, formatBranches } from '../admin/db-branches-view';
import { explainUnreachable } from '../admin/reach';
import { CliError } from '../errors';
import { loadKube, type Kube } from '../kube/cluster';

type ListArgs = Extract<AdminArgs, { kind: 'db-branches' | 'db-branches-stop' }>;

async function branchPods(kube: Kube, args: ListArgs): Promise<V1Pod[]> {
  const core = kube.config.makeApiClient(CoreV1Api);
  const labelSelector = args.ids.length ? `${DB_BRANCH_LABEL.id} in (${args.ids.join(',')})` : DB_BRANCH_LABEL.id;
  const pods = await explainUnreachable(kube, async () =>
    args.allNamespaces
      ? (await core.listPodForAllNamespaces({ labelSelector })).items
      : (await core.listNamespacedPod({ namespace: kube.namespace, labelSelector })).items,
  );
  const found = new Set(pods.map((pod) => pod.metadata?.labels?.[DB_BRANCH_LABEL.id]));
  const missing = args.ids.filter((id) => !found.has(id));
  if (missing.length) {
    throw new CliError(
      `no database branch ${missing.join(', ')} in ${args.allNamespaces ? 'any namespace' : `namespace ${kube.namespace}`}`,
      `mirrord db-branches status${args.allNamespaces ? ' -A' : ` -n ${kube.namespace}`} lists them`,
    );
  }
  return pods;
}

export async function dbBranchStatus(args: Extract<AdminArgs, { kind: 'db-branches' }>): Promise<number> {
  const kube = loadKube(args.kube);
  const rows = (await branchPods(kube, args)).map(branchRow).sort((a, b) => a.namespace.localeCompare(b.namespace) || a.id.localeCompare(b.id));
  process.stdout.write(args.json ? JSON.stringify({ branches: rows }, null, 2) + '\n' : formatBranches(rows, args.allNamespaces));
  return 0;
}

export async function stopDbBranches(args: Extract<AdminArgs, { kind: 'db-branches-stop' }>): Promise<number> {
  const kube = loadKube(args.kube);
  const core = kube.config.makeApiClient(CoreV1Api);
  const rows = (await branchPods(kube, args)).map(branchRow);
  const gone = (call: () => Promise<unknown>) =>
    call().catch((error: unknown) => {
      if (statusOf(error) !== 404) throw error;
    });
  await Promise.all(
    rows.map(({ namespace, id }) => {
      const name = dbBranchObjectName(id);
      return Promise.all([
        gone(() => core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 2 })),
        gone(() => core.deleteNamespacedService({ namespace, name })),
        gone(() => core.deleteNamespacedSecret({ namespace, name })),
      ]);
    }),
  );
  if (args.json) process.stdout.write(JSON.stringify({ stopped: rows.map(({ namespace, id, name }) => ({ namespace, id, name })) }, null, 2) + '\n');
  else
    process.stdout.write(
      rows.length ? rows.map((row) => `stopped database branch ${row.id} (${row.namespace}/${row.name})\n`).join('') : 'no database branches\n',
    );
  return 0;
}
