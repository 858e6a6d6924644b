import type { V1ContainerState, V1Pod } from '../../common/kube-client';
import { createLogger } from '../../common/log';
import { sweepBranches, type JanitorCluster } from './branch-janitor';

const log = createLogger('error', {}, () => true);
const T0 = Date.parse('2026-06-01T12:00:00Z');
const SECOND = 1_000;

/** Branch pods and the sessions each namespace's sidecars list, kept as the API server would. */
class MemoryCluster implements JanitorCluster {
  pods: V1Pod[] = [];
  live = new Map<string, Set<string> | undefined>();
  asked: string[] = [];

  async listBranches() {
    return structuredClone(this.pods);
  }
  async deleteBranch(namespace: string, id: string) {
    this.pods = this.pods.filter((p) => !(p.metadata!.namespace === namespace && p.metadata!.labels!['mirrord.dev/db-branch'] === id));
  }
  async annotateBranch(namespace: string, id: string, annotations: Record<string, string | null>, basedOn: string) {
    const pod = this.pods.find((p) => p.metadata!.namespace === namespace && p.metadata!.labels!['mirrord.dev/db-branch'] === id);
    if (!pod || pod.metadata!.resourceVersion !== basedOn) return false;
    const next = { ...pod.metadata!.annotations };
    for (const [key, value] of Object.entries(annotations)) {
      if (value === null) delete next[key];
      else next[key] = value;
    }
    pod.metadata!.annotations = next;
    pod.metadata!.resourceVersion = String(Number(basedOn) + 1);
    return true;
  }
  async liveSessions(namespace: string) {
    this.asked.push(namespace);
    return this.live.has(namespace) ? this.live.get(namespace) : new Set<string>();
  }
  ids() {
    return this.pods.map((p) => p.metadata!.labels!['mirrord.dev/db-branch']);
  }
  annotation(id: string, key: string) {
    return this.pods.find((p) => p.metadata!.labels!['mirrord.dev/db-branch'] === id)?.metadata!.annotations?.[key];
  }
}

/** A branch pod made at T0 whose server is in `state`; ready ones became so at T0 and were joined by `sessions`. */
function branch(id: string, state: V1ContainerState, options: { ready?: boolean; sessions?: string[]; namespace?: string; ttl?: number } = {}): V1Pod {
  return {
    metadata: {
      name: `mirrord-db-${id}`,
      namespace: options.namespace ?? 'shop',
      labels: { 'mirrord.dev/db-branch': id },
      resourceVersion: '1',
      creationTimestamp: new Date(T0),
      annotations: {
        'mirrord.dev/db-branch-ttl-secs': String(options.ttl ?? 60),
        'mirrord.dev/db-branch-sessions': JSON.stringify(options.sessions ?? []),
        'mirrord.dev/db-branch-joined-at': new Date(T0).toISOString(),
      },
    },
    status: {
      phase: 'Running',
      conditions: options.ready ? [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(T0) }] : [],
      containerStatuses: [{ name: 'database', image: 'i', imageID: '', restartCount: 0, ready: options.ready ?? false, state }],
    },
  };
}

const IDLE = 'mirrord.dev/db-branch-idle-since';

describe('the sweep over database branches', () => {
  it('deletes a failed branch 15 s after it stopped: a waiting ticket has had time to say why', async () => {
    const cluster = new MemoryCluster();
    cluster.pods = [branch('broken', { terminated: { exitCode: 1, finishedAt: new Date(T0 + 10 * SECOND) } })];
    await sweepBranches(cluster, log, T0 + 24 * SECOND);
    expect(cluster.ids()).toEqual(['broken']);
    await sweepBranches(cluster, log, T0 + 25 * SECOND);
    expect(cluster.ids()).toEqual([]);
  });

  it('gives up a branch still being made an hour after it was', async () => {
    const cluster = new MemoryCluster();
    cluster.pods = [branch('slow', { running: {} })];
    await sweepBranches(cluster, log, T0 + 3_600 * SECOND - 1);
    expect(cluster.ids()).toEqual(['slow']);
    await sweepBranches(cluster, log, T0 + 3_600 * SECOND);
    expect(cluster.ids()).toEqual([]);
  });

  it('marks a ready branch with no live session idle, and deletes it its TTL later', async () => {
    const cluster = new MemoryCluster();
    cluster.pods = [branch('b1', { running: {} }, { ready: true, sessions: ['s1'], ttl: 60 })];
    const idleAt = T0 + 600 * SECOND;
    await sweepBranches(cluster, log, idleAt);
    expect(cluster.annotation('b1', IDLE)).toBe(new Date(idleAt).toISOString());
    await sweepBranches(cluster, log, idleAt + 60 * SECOND - 1);
    expect(cluster.ids()).toEqual(['b1']);
    await sweepBranches(cluster, log, idleAt + 60 * SECOND);
    expect(cluster.ids()).toEqual([]);
  });

  it('keeps a branch while one of its sessions is listed, and forgets it was idle', async () => {
    const cluster = new MemoryCluster();
    cluster.pods = [branch('b1', { running: {} }, { ready: true, sessions: ['s1', 's2'] }), branch('b2', { running: {} }, { ready: true, sessions: ['s2'] })];
    cluster.pods[0]!.metadata!.annotations![IDLE] = new Date(T0).toISOString();
    cluster.live.set('shop', new Set(['s2']));
    await sweepBranches(cluster, log, T0 + 3_600 * SECOND);
    expect(cluster.ids()).toEqual(['b1', 'b2']);
    expect(cluster.annotation('b1', IDLE)).toBeUndefined();
    expect(cluster.annotation('b2', IDLE)).toBeUndefined();
    expect(cluster.asked).toEqual(['shop']); // one round asks each namespace's sidecars once
  });

  it('deletes nothing of a namespace whose sidecars could not all be asked, nor a pod already being deleted', async () => {
    const cluster = new MemoryCluster();
    cluster.pods = [branch('b1', { running: {} }, { ready: true, sessions: ['s1'], namespace: 'dark' }), branch('b2', { terminated: { exitCode: 1 } })];
    cluster.pods[0]!.metadata!.annotations![IDLE] = new Date(T0).toISOString();
    cluster.pods[1]!.metadata!.deletionTimestamp = new Date(T0);
    cluster.live.set('dark', undefined);
    await sweepBranches(cluster, log, T0 + 3_600 * SECOND);
    expect(cluster.ids()).toEqual(['b1', 'b2']);
  });
});
