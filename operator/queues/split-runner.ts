/**
 * The leader's part of queue splitting: for every split of the cluster (split-state.ts), the
 * splitters that move its messages, kept in step with what the replicas wrote.
 *
 * - starting: the brokers are reached and the original queues checked, the app's temporaries
 *   made and the splitters started; only then is the workload pointed at them (a broker that is
 *   down or refuses leaves the workload untouched: the split fails, saying why).
 * - running: members that joined get their queues and their messages; a member none of whose
 *   sessions any sidecar of the namespace lists (after a grace for its first hello) leaves, its
 *   queue given back. With no member for a while the split ends.
 * - ending: the splitters pause (messages wait in the original queues), the workload goes back
 *   to them, and once no pod consumes the app's temporaries any more they are given back and
 *   removed, and the state with them.
 *
 * A new leader takes up where the last one stopped: every step can be done again.
 */
import type { Logger } from '../../common/log';
import type { QueueBroker } from './broker';
import { connectBroker, type SecretKeyReader } from './connect';
import type { QueueRegistry } from './registry';
import { kafkaGroup, memberQueueId, queueNames, splitPodAnnotation, splitStateName, type SplitMember, type SplitState } from './split-state';
import { updateSplit, type SplitStore, type StoredSplit } from './split-store';
import { QueueSplitter } from './splitter';

/** The cluster as the runner needs it. */
export interface SplitCluster {
  store: SplitStore;
  registry(namespace: string, name: string): Promise<QueueRegistry | undefined>;
  readSecret(namespace: string): SecretKeyReader;
  /** Sets (or, undefined, removes) the workload's pod template annotation that points it at the app's queues. */
  pointWorkload(namespace: string, workload: SplitState['workload'], annotation: string | undefined): Promise<void>;
  /** How many pods of the namespace carry this split annotation (and so still consume the app's queues). */
  podsOnSplit(namespace: string, annotation: string): Promise<number>;
  /** The ticket session ids the namespace's sidecars hold; undefined when some sidecar could not be asked. */
  liveSessions(namespace: string): Promise<Set<string> | undefined>;
}

export interface SplitTimings {
  /** How long a member is alive before any of its sessions must be listed (its CLI opens them meanwhile). */
  memberGraceMs: number;
  /** How long none of a member's sessions may be listed before it is gone (a reconnection takes a few seconds). */
  absentMs: number;
  /** How long a split without members lasts before it ends (a developer attaching again keeps it). */
  idleGraceMs: number;
  /** How often members' sessions are looked for. */
  livenessMs: number;
  /** How long a failed split stays for the replica that asked to read why. */
  failedKeepMs: number;
}

export const SPLIT_TIMINGS: SplitTimings = { memberGraceMs: 60_000, absentMs: 10_000, idleGraceMs: 15_000, livenessMs: 3_000, failedKeepMs: 15_000 };

/** One split as this replica runs it. */
interface Running {
  splitters: Map<string, QueueSplitter>;
  brokers: QueueBroker[];
  /** Members whose messages this replica's splitters route. */
  joined: Set<string>;
  /** Members some session of which was listed; and since when none of those of a member is. */
  seen: Set<string>;
  absentSince: Map<string, number>;
  /** Whether the splitters were paused and the workload pointed back at the original queues. */
  pointedBack: boolean;
  checkedAt: number;
}

export class SplitRunner {
  private readonly running = new Map<string, Running>();
  private readonly now: () => number;

  constructor(
    private readonly cluster: SplitCluster,
    private readonly log: Logger,
    private readonly timings: SplitTimings = SPLIT_TIMINGS,
    private readonly connect: typeof connectBroker = connectBroker,
    now?: () => number,
  ) {
    this.now = now ?? Date.now;
  }

  /** One pass over every split; errors are logged per split and the pass goes on. */
  async tick(): Promise<void> {
    const stored = await this.cluster.store.list();
    const present = new Set<string>();
    for (const split of stored) {
      const key = `${split.namespace}/${splitStateName(split.state.workload)}`;
      present.add(key);
      try {
        await this.reconcile(key, split);
      } catch (error) {
        this.log.warn('a queue split could not be brought up to date', { split: key, error: reasonOf(error) });
      }
    }
    // Removed by someone else (kubectl delete): stop moving, keep the temporaries' messages where they are.
    for (const key of [...this.running.keys()].filter((key) => !present.has(key))) await this.release(key);
  }

  /** No longer the leader: every splitter stops; the next leader takes them up. */
  async stopAll(): Promise<void> {
    for (const key of [...this.running.keys()]) await this.release(key);
  }

  private async reconcile(key: string, { namespace, state }: StoredSplit): Promise<void> {
    switch (state.phase) {
      case 'starting':
        return this.start(key, namespace, state);
      case 'running':
        return this.run(key, namespace, state);
      case 'ending':
        return this.end(key, namespace, state);
      case 'failed':
        if (this.now() - Date.parse(state.idleSince ?? '') > this.timings.failedKeepMs || !state.idleSince)
          await this.cluster.store.remove(namespace, splitStateName(state.workload));
    }
  }

  private update(namespace: string, state: SplitState, change: (state: SplitState) => SplitState | undefined) {
    return updateSplit(this.cluster.store, namespace, splitStateName(state.workload), change);
  }

  /** Changes one member as stored (undefined: removes it); nothing when it is gone already. */
  private updateMember(namespace: string, state: SplitState, member: string, change: Partial<SplitMember> | undefined) {
    return this.update(namespace, state, (current) => {
      const { [member]: found, ...rest } = current.members;
      if (!found) return undefined;
      return { ...current, members: change ? { ...current.members, [member]: { ...found, ...change } } : rest };
    });
  }

  /** The splitters of a split, made (and started, when `moving`) if this replica has none yet. */
  private async splittersOf(key: string, namespace: string, state: SplitState, moving: boolean): Promise<Running> {
    const existing = this.running.get(key);
    if (existing) return existing;
    const registry = await this.cluster.registry(namespace, state.registry);
    if (!registry) throw new Error(`the MirrordWorkloadQueueRegistry ${namespace}/${state.registry} is gone`);
    const running: Running = {
      splitters: new Map(),
      brokers: [],
      joined: new Set(),
      seen: new Set(),
      absentSince: new Map(),
      pointedBack: false,
      checkedAt: 0,
    };
    try {
      for (const [id, queue] of Object.entries(state.queues)) {
        const declared = registry.spec.queues[id];
        if (!declared) throw new Error(`MirrordWorkloadQueueRegistry ${namespace}/${state.registry} no longer declares queue ${JSON.stringify(id)}`);
        const broker = await this.connect(id, declared, this.cluster.readSecret(namespace), { kafkaGroup: kafkaGroup(state, id) });
        running.brokers.push(broker);
        const splitter = new QueueSplitter(broker, queue.original, queueNames(state, id));
        if (moving) await splitter.start();
        running.splitters.set(id, splitter);
      }
    } catch (error) {
      await closeAll(running);
      throw error;
    }
    this.running.set(key, running);
    return running;
  }

  private async start(key: string, namespace: string, state: SplitState): Promise<void> {
    let running: Running;
    try {
      running = await this.splittersOf(key, namespace, state, true);
    } catch (error) {
      const reason = reasonOf(error);
      this.log.warn('a queue split could not start; the workload is left as it is', { split: key, error: reason });
      await this.update(namespace, state, (now) => ({ ...now, phase: 'failed', error: reason, idleSince: new Date(this.now()).toISOString() }));
      return;
    }
    await this.cluster.pointWorkload(namespace, state.workload, splitPodAnnotation(state));
    await this.update(namespace, state, (now) => (now.phase === 'starting' ? { ...now, phase: 'running' } : undefined));
    this.log.info('queue split started', { split: key, queues: Object.keys(state.queues), counts: summary(running) });
  }

  private async run(key: string, namespace: string, state: SplitState): Promise<void> {
    const running = await this.splittersOf(key, namespace, state, true);
    await this.joinMembers(key, namespace, state, running);
    const now = this.now();
    if (now - running.checkedAt >= this.timings.livenessMs) {
      running.checkedAt = now;
      await this.dropGoneMembers(key, namespace, state, running);
    }
    const after = await this.update(namespace, state, (current) => {
      const idle = Object.keys(current.members).length === 0;
      if (!idle) return current.idleSince ? { ...current, idleSince: undefined } : undefined;
      if (!current.idleSince) return { ...current, idleSince: new Date(now).toISOString() };
      return now - Date.parse(current.idleSince) > this.timings.idleGraceMs ? { ...current, phase: 'ending' } : undefined;
    });
    if (after?.phase === 'ending') await this.end(key, namespace, after);
  }

  /** Members written as joining: their queues made and their messages routed to them; or why not. */
  private async joinMembers(key: string, namespace: string, state: SplitState, running: Running): Promise<void> {
    for (const [member, { filters, joined, error }] of Object.entries(state.members)) {
      if (error || running.joined.has(member)) continue;
      try {
        for (const [id, filter] of Object.entries(filters)) await running.splitters.get(id)!.join(memberQueueId(member), filter);
        running.joined.add(member);
      } catch (failure) {
        const reason = reasonOf(failure);
        this.log.warn('a session could not join a queue split', { split: key, member, error: reason });
        await this.updateMember(namespace, state, member, { error: reason });
        continue;
      }
      if (!joined) {
        await this.updateMember(namespace, state, member, { joined: true });
        this.log.info('a session joined a queue split', { split: key, member, user: state.members[member]!.user, queues: Object.keys(filters) });
      }
    }
  }

  /**
   * Members none of whose sessions is on a sidecar any more (the CLI ended, or was killed), for a
   * while: their queues given back. A member never seen yet has a grace for its first hello.
   */
  private async dropGoneMembers(key: string, namespace: string, state: SplitState, running: Running): Promise<void> {
    const members = Object.entries(state.members);
    if (!members.length) return;
    const live = await this.cluster.liveSessions(namespace);
    // A sidecar that could not be asked may hold a member's session: nobody is dropped on a partial list.
    if (!live) return;
    const now = this.now();
    for (const [member, { sessions, filters, error, since }] of members) {
      if (error === undefined) {
        if (sessions.some((session) => live.has(session))) {
          running.seen.add(member);
          running.absentSince.delete(member);
          continue;
        }
        if (!running.seen.has(member) && now - Date.parse(since) < this.timings.memberGraceMs) continue;
        const absentSince = running.absentSince.get(member) ?? now;
        running.absentSince.set(member, absentSince);
        if (now - absentSince < this.timings.absentMs) continue;
      }
      for (const id of Object.keys(filters)) await running.splitters.get(id)?.leave(memberQueueId(member));
      running.joined.delete(member);
      running.seen.delete(member);
      running.absentSince.delete(member);
      await this.updateMember(namespace, state, member, undefined);
      this.log.info('a session left a queue split; its queue was given back', { split: key, member, counts: summary(running) });
    }
  }

  private async end(key: string, namespace: string, state: SplitState): Promise<void> {
    const running = await this.splittersOf(key, namespace, state, false);
    if (!running.pointedBack) {
      for (const splitter of running.splitters.values()) await splitter.pause();
      await this.cluster.pointWorkload(namespace, state.workload, undefined);
      running.pointedBack = true;
      this.log.info('queue split ending: the workload goes back to its queues', { split: key });
    }
    // The workload's pods that consume the app's temporaries must be gone before they are given back.
    if ((await this.cluster.podsOnSplit(namespace, splitPodAnnotation(state))) > 0) return;
    for (const splitter of running.splitters.values()) await splitter.finish();
    this.log.info('queue split ended: the temporaries were given back and removed', { split: key, counts: summary(running) });
    this.running.delete(key);
    await closeAll(running);
    await this.cluster.store.remove(namespace, splitStateName(state.workload));
  }

  private async release(key: string): Promise<void> {
    const running = this.running.get(key);
    this.running.delete(key);
    if (!running) return;
    for (const splitter of running.splitters.values()) await splitter.pause().catch(() => undefined);
    await closeAll(running);
  }
}

async function closeAll(running: Running): Promise<void> {
  await Promise.all(running.brokers.map((broker) => broker.close().catch(() => undefined)));
}

function summary(running: Running): Record<string, unknown> {
  return Object.fromEntries([...running.splitters].map(([id, splitter]) => [id, splitter.counts]));
}

/** An error's message: the brokers' adapters already say what went wrong (broker-error.ts). */
function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
