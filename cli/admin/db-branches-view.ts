/** `mirrord db-branches status`: a branch Pod as a row of the listing, and the listing as a table or JSON. */
import type { V1Pod } from '../../common/kube-client';
import { branchPodState, deleteAt, idleSinceOf, sessionsOf } from '../../common/db-branch-pod';
import { DB_BRANCH_ANNOTATION, DB_BRANCH_DEFAULT_TTL_S, DB_BRANCH_LABEL } from '../../protocol/db-branch';
import { renderTable } from '../table';

export interface BranchRow {
  namespace: string;
  id: string;
  name: string;
  type: string;
  owner: string;
  source: string;
  target: string;
  copy: string;
  state: 'making' | 'ready' | 'failed';
  message?: string;
  sessions: number;
  ttlSecs: number;
  /** When its last session was seen gone (RFC 3339): it is deleted its TTL later. */
  idleSince?: string;
  /** When an idle branch is deleted (RFC 3339). */
  deleteAt?: string;
  created: string;
}

export function branchRow(pod: V1Pod): BranchRow {
  const annotations = pod.metadata?.annotations ?? {};
  const state = branchPodState(pod);
  const idle = idleSinceOf(pod);
  return {
    namespace: pod.metadata?.namespace ?? '',
    id: pod.metadata?.labels?.[DB_BRANCH_LABEL.id] ?? '',
    name: pod.metadata?.name ?? '',
    type: pod.metadata?.labels?.[DB_BRANCH_LABEL.type] ?? '',
    owner: annotations[DB_BRANCH_ANNOTATION.owner] ?? '',
    source: annotations[DB_BRANCH_ANNOTATION.source] ?? '',
    target: annotations[DB_BRANCH_ANNOTATION.target] ?? '',
    copy: annotations[DB_BRANCH_ANNOTATION.copyMode] ?? '',
    state: state.phase === 'starting' ? 'making' : state.phase,
    ...(state.phase === 'failed' && { message: state.message }),
    ...(state.phase === 'starting' && { message: state.step }),
    sessions: sessionsOf(pod).length,
    ttlSecs: Number(annotations[DB_BRANCH_ANNOTATION.ttl] ?? DB_BRANCH_DEFAULT_TTL_S),
    ...(idle && { idleSince: new Date(idle).toISOString(), deleteAt: new Date(deleteAt(pod, idle)).toISOString() }),
    created: new Date(pod.metadata?.creationTimestamp ?? 0).toISOString(),
  };
}

function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

export function formatBranches(rows: BranchRow[], allNamespaces: boolean, now: number = Date.now()): string {
  if (!rows.length) return 'no database branches\n';
  const header = [...(allNamespaces ? ['NAMESPACE'] : []), 'ID', 'TYPE', 'STATE', 'OWNER', 'SOURCE', 'COPY', 'SESSIONS', 'DELETED', 'AGE'];
  const deleted = (row: BranchRow) => (row.deleteAt ? `in ${span(new Date(row.deleteAt).getTime() - now)}` : `${row.ttlSecs}s after its last session`);
  return renderTable(
    header,
    rows.map((row) => [
      ...(allNamespaces ? [row.namespace] : []),
      row.id,
      row.type,
      row.message ? `${row.state}: ${row.message}` : row.state,
      row.owner,
      row.source,
      row.copy,
      String(row.sessions),
      deleted(row),
      span(now - new Date(row.created).getTime()),
    ]),
  );
}
