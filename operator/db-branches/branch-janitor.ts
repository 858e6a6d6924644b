/**
 * The leader's round over the branches: a branch none of whose sessions is listed on any sidecar
 * is marked idle, and deleted its TTL later (common/db-branch-pod.ts); a branch that failed is deleted
 * once a waiting ticket has had time to report why; one never ready is given up. A namespace whose
 * sidecars could not all be asked deletes nothing: a session there may still be on.
 */
import type { V1Pod } from '../../common/kube-client';
import type { Logger } from '../../common/log';
import { DB_BRANCH_ANNOTATION, DB_BRANCH_LABEL } from '../../protocol/db-branch';
import { branchPodState, deleteAt, FAILED_KEEP_MS, idleSinceOf, sessionsOf, STARTING_LIMIT_MS } from '../../common/db-branch-pod';

export interface JanitorCluster {
  listBranches(): Promise<V1Pod[]>;
  deleteBranch(namespace: string, id: string): Promise<void>;
  annotateBranch(namespace: string, id: string, annotations: Record<string, string | null>, basedOn: string): Promise<boolean>;
  /** The ticket session ids listed on the namespace's sidecars; undefined when some could not be asked. */
  liveSessions(namespace: string): Promise<Set<string> | undefined>;
}

export async function sweepBranches(cluster: JanitorCluster, log: Logger, now: number = Date.now()): Promise<void> {
  const live = new Map<string, Promise<Set<string> | undefined>>();
  const liveIn = (namespace: string) => {
    if (!live.has(namespace)) live.set(namespace, cluster.liveSessions(namespace));
    return live.get(namespace)!;
  };
  for (const pod of await cluster.listBranches()) {
    const namespace = pod.metadata?.namespace ?? '';
    const id = pod.metadata?.labels?.[DB_BRANCH_LABEL.id] ?? '';
    const name = `${namespace}/${pod.metadata?.name}`;
    const state = branchPodState(pod);
    const made = new Date(pod.metadata?.creationTimestamp ?? now).getTime();
    const remove = async (why: string) => {
      log.info('deleting a database branch', { branch: name, why });
      await cluster.deleteBranch(namespace, id);
    };
    if (pod.metadata?.deletionTimestamp) continue;
    if (state.phase === 'failed') {
      const finished = pod.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt;
      if (now - new Date(finished ?? made).getTime() >= FAILED_KEEP_MS) await remove(`it failed: ${state.message}`);
      continue;
    }
    if (state.phase === 'starting') {
      if (now - made >= STARTING_LIMIT_MS) await remove('it was never ready');
      continue;
    }
    const listed = await liveIn(namespace);
    if (!listed) continue;
    const on = sessionsOf(pod).some((session) => listed.has(session));
    const idleSince = idleSinceOf(pod);
    const version = pod.metadata?.resourceVersion ?? '';
    if (on) {
      if (idleSince) await cluster.annotateBranch(namespace, id, { [DB_BRANCH_ANNOTATION.idleSince]: null }, version);
    } else if (!idleSince) {
      await cluster.annotateBranch(namespace, id, { [DB_BRANCH_ANNOTATION.idleSince]: new Date(now).toISOString() }, version);
    } else if (now >= deleteAt(pod, idleSince)) {
      await remove('its TTL passed since its last session');
    }
  }
}
