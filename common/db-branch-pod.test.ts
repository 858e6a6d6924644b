import type { V1ContainerState, V1Pod } from './kube-client';
import { branchPodState, deleteAt, idleSinceOf, JOIN_GRACE_MS, sessionsOf } from './db-branch-pod';

const T0 = Date.parse('2026-06-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function pod(annotations: Record<string, string> = {}, status?: V1Pod['status']): V1Pod {
  return { metadata: { name: 'mirrord-db-b1', namespace: 'shop', annotations }, ...(status && { status }) };
}

/** A branch pod whose server container is in `state`. */
const withServer = (state: V1ContainerState, ready = false) =>
  pod({}, { phase: 'Running', containerStatuses: [{ name: 'database', image: 'i', imageID: '', restartCount: 0, ready, state }] });

describe("a branch pod's sessions", () => {
  it('are the JSON list of its annotation; anything else is none', () => {
    expect(sessionsOf(pod({ 'mirrord.dev/db-branch-sessions': '["s1","s2"]' }))).toEqual(['s1', 's2']);
    expect(sessionsOf(pod({ 'mirrord.dev/db-branch-sessions': '["s1",7,null]' }))).toEqual(['s1']);
    expect(sessionsOf(pod({ 'mirrord.dev/db-branch-sessions': '{"s1":true}' }))).toEqual([]);
    expect(sessionsOf(pod({ 'mirrord.dev/db-branch-sessions': '[s1' }))).toEqual([]);
    expect(sessionsOf(pod())).toEqual([]);
  });
});

describe('when an idle branch is deleted', () => {
  it('is read from its annotation (0: not idle, or unreadable)', () => {
    expect(idleSinceOf(pod({ 'mirrord.dev/db-branch-idle-since': iso(T0) }))).toBe(T0);
    expect(idleSinceOf(pod())).toBe(0);
    expect(idleSinceOf(pod({ 'mirrord.dev/db-branch-idle-since': 'yesterday' }))).toBe(0);
  });

  it('is its TTL after it went idle (300 s when the annotation is missing or not a positive number)', () => {
    expect(deleteAt(pod({ 'mirrord.dev/db-branch-ttl-secs': '60' }), T0)).toBe(T0 + 60_000);
    expect(deleteAt(pod(), T0)).toBe(T0 + 300_000);
    expect(deleteAt(pod({ 'mirrord.dev/db-branch-ttl-secs': '0' }), T0)).toBe(T0 + 300_000);
    expect(deleteAt(pod({ 'mirrord.dev/db-branch-ttl-secs': 'soon' }), T0)).toBe(T0 + 300_000);
  });

  it('is never within the grace of a join or of becoming ready: a session is listed only once it connects', () => {
    expect(JOIN_GRACE_MS).toBe(30_000);
    const ttl = { 'mirrord.dev/db-branch-ttl-secs': '1' };
    expect(deleteAt(pod({ ...ttl, 'mirrord.dev/db-branch-joined-at': iso(T0 + 5_000) }), T0)).toBe(T0 + 5_000 + JOIN_GRACE_MS);
    const readyAt = { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(T0 + 9_000) }] };
    expect(deleteAt(pod(ttl, readyAt), T0)).toBe(T0 + 9_000 + JOIN_GRACE_MS);
    // A Ready condition that is False gives no grace.
    expect(deleteAt(pod(ttl, { conditions: [{ ...readyAt.conditions[0]!, status: 'False' }] }), T0)).toBe(T0 + 1_000);
    // Long after the join, the TTL decides.
    expect(deleteAt(pod({ 'mirrord.dev/db-branch-joined-at': iso(T0 - 3_600_000) }), T0)).toBe(T0 + 300_000);
  });
});

describe("a branch pod's state", () => {
  it('is starting until the server runs, then copying until ready', () => {
    expect(branchPodState(pod())).toEqual({ phase: 'starting', step: 'starting its server' });
    expect(branchPodState(withServer({ waiting: { reason: 'ContainerCreating' } }))).toEqual({ phase: 'starting', step: 'starting its server' });
    expect(branchPodState(withServer({ running: {} }))).toEqual({ phase: 'starting', step: 'copying the source' });
    expect(branchPodState(withServer({ running: {} }, true))).toEqual({ phase: 'ready' });
  });

  it("has failed when the server stopped, with its last words, or when its image can't be had", () => {
    const stopped = withServer({ terminated: { exitCode: 1, reason: 'Error', message: 'copying users\npg_dump: connection refused\n' } });
    expect(branchPodState(stopped)).toEqual({ phase: 'failed', message: 'pg_dump: connection refused' });
    expect(branchPodState(withServer({ terminated: { exitCode: 137, reason: 'OOMKilled' } }))).toEqual({ phase: 'failed', message: 'OOMKilled' });
    expect(branchPodState(pod({}, { phase: 'Failed', message: 'evicted' }))).toEqual({ phase: 'failed', message: 'evicted' });
    expect(branchPodState(pod({}, { phase: 'Succeeded' }))).toEqual({ phase: 'failed', message: 'the branch server stopped' });
    expect(branchPodState(withServer({ waiting: { reason: 'ErrImageNeverPull', message: 'image x is not present' } }))).toEqual({
      phase: 'failed',
      message: 'ErrImageNeverPull: image x is not present',
    });
  });
});
