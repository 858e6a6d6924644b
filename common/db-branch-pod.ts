/**
 * A database branch's Pod as the operator keeps it and the CLI shows it: whether it is being made,
 * ready or failed; the sessions that joined it (kept in its annotations); and when it is deleted:
 * a TTL after the last of them is gone, never sooner than a grace after a session joined or the
 * branch became ready (a session is listed on its sidecar only once it connects).
 */
import type { V1Pod } from './kube-client';
import { DB_BRANCH_ANNOTATION, DB_BRANCH_DEFAULT_TTL_S } from '../protocol/db-branch';

/** The branch Pod's one container. */
export const BRANCH_CONTAINER = 'database';

/** How long a branch waits for a session that joined (or could join, once ready) to be listed. */
export const JOIN_GRACE_MS = 30_000;
/** How long a failed branch stays, for a ticket that waits on it to report why. */
export const FAILED_KEEP_MS = 15_000;
/** A branch still being made after this long is given up (no creation timeout is longer). */
export const STARTING_LIMIT_MS = 3_600_000;

/** The ticket session ids that have joined the branch. */
export function sessionsOf(pod: V1Pod): string[] {
  try {
    const parsed: unknown = JSON.parse(pod.metadata?.annotations?.[DB_BRANCH_ANNOTATION.sessions] ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : [];
  } catch {
    return [];
  }
}

function time(text: string | undefined | Date): number {
  const value = text === undefined ? NaN : new Date(text).getTime();
  return Number.isNaN(value) ? 0 : value;
}

/** When an idle branch is deleted: its TTL after it went idle, and not within the grace of its last join or of becoming ready. */
export function deleteAt(pod: V1Pod, idleSince: number): number {
  const annotations = pod.metadata?.annotations ?? {};
  const ttl = Number(annotations[DB_BRANCH_ANNOTATION.ttl] ?? DB_BRANCH_DEFAULT_TTL_S);
  const ttlMs = (Number.isFinite(ttl) && ttl > 0 ? ttl : DB_BRANCH_DEFAULT_TTL_S) * 1000;
  const ready = pod.status?.conditions?.find((condition) => condition.type === 'Ready' && condition.status === 'True');
  return Math.max(idleSince + ttlMs, time(annotations[DB_BRANCH_ANNOTATION.joinedAt]) + JOIN_GRACE_MS, time(ready?.lastTransitionTime) + JOIN_GRACE_MS);
}

/** When the branch went idle, as recorded (0: not recorded). */
export function idleSinceOf(pod: V1Pod): number {
  return time(pod.metadata?.annotations?.[DB_BRANCH_ANNOTATION.idleSince]);
}

/** Where a branch pod is: being made, ready, or failed with the container's last words. */
export type BranchPodState = { phase: 'starting'; step: string } | { phase: 'ready' } | { phase: 'failed'; message: string };

export function branchPodState(pod: V1Pod): BranchPodState {
  const status = pod.status?.containerStatuses?.find((container) => container.name === BRANCH_CONTAINER);
  const terminated = status?.state?.terminated;
  if (terminated || pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') {
    const message = terminated?.message?.trim().split('\n').pop() || terminated?.reason || pod.status?.message || 'the branch server stopped';
    return { phase: 'failed', message };
  }
  const waiting = status?.state?.waiting;
  if (waiting?.reason && ['ErrImageNeverPull', 'ErrImagePull', 'ImagePullBackOff', 'InvalidImageName'].includes(waiting.reason)) {
    return { phase: 'failed', message: `${waiting.reason}: ${waiting.message ?? ''}`.trim() };
  }
  if (status?.ready) return { phase: 'ready' };
  return { phase: 'starting', step: status?.state?.running ? 'copying the source' : 'starting its server' };
}
