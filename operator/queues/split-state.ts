/**
 * A workload's queue split as the operator's replicas share it: one ConfigMap per split workload
 * in its namespace (split-store.ts), written by whichever replica issues a ticket (a member
 * joining) and by the leader, which runs the splitters (split-runner.ts). Queue names follow
 * from the state alone, so any replica can tell a session where its messages are.
 */
import type { MessageFilter } from './message-filter';
import type { QueueType } from './registry';
import { splitQueueNames } from './splitter';

/** The workload kinds whose pod template the operator can point at temporary queues. */
export type SplitWorkloadKind = 'deployment' | 'statefulset' | 'rollout';

export interface SplitQueue {
  queueType: QueueType;
  /** The queue (Kafka: topic) the workload consumes when not split. */
  original: string;
  /** The consumer container and its variable holding the queue's name. */
  container: string;
  variable: string;
  /** Kafka: the variable holding the workload's consumer group id, and its value. */
  group?: { variable: string; id: string };
}

export interface SplitMember {
  /** Who asked, as the API server authenticated them: only they can join this member again. */
  user: string;
  /** Per queue id, the messages that come to this member. */
  filters: Record<string, MessageFilter>;
  /** The sidecar sessions of the member's attach (its replicas, its reconnections). */
  sessions: string[];
  /** When it joined (RFC 3339): a member is alive this long before any of its sessions must be seen. */
  since: string;
  /** Set by the leader once its queues exist and its messages go there. */
  joined?: boolean;
  /** Set by the leader when the member could not join (its broker refused). */
  error?: string;
}

export interface SplitState {
  workload: { kind: SplitWorkloadKind; name: string };
  /** The MirrordWorkloadQueueRegistry that declares the queues (and how to reach their brokers). */
  registry: string;
  /** A short random id in the temporary queues' names, unique to this split. */
  split: string;
  /**
   * starting: the leader checks the brokers, makes the app's queues and points the workload at
   * them; running: members join and leave; ending: the workload goes back to the original
   * queues, then the temporaries are given back and the state removed; failed: the leader could
   * not start it (error says why), nothing of the workload was changed.
   */
  phase: 'starting' | 'running' | 'ending' | 'failed';
  error?: string;
  queues: Record<string, SplitQueue>;
  members: Record<string, SplitMember>;
  /** When the last member left (or the split started without one): the split ends after a grace. */
  idleSince?: string;
}

/** The ConfigMap holding a workload's split. */
export function splitStateName(workload: SplitState['workload']): string {
  return `mirrord-split-${workload.kind}-${workload.name}`.slice(0, 253);
}

/** A member's part of queue names: short, and fixed by its key. */
export function memberQueueId(member: string): string {
  return member.replace(/-/g, '').slice(0, 12);
}

/** The temporary queues of one of the split's queues. */
export function queueNames(state: SplitState, id: string) {
  return splitQueueNames(state.queues[id]!.original, state.split);
}

/**
 * The pod annotation (mirrord.dev/split-queues) that points the workload's pods at the app's
 * queues (and for Kafka at the app's topic's group): `{"CONTAINER": {"VARIABLE": "VALUE"}}`. A pod
 * carrying exactly this consumes them.
 */
export function splitPodAnnotation(state: SplitState): string {
  const byContainer: Record<string, Record<string, string>> = {};
  for (const id of Object.keys(state.queues).sort()) {
    const queue = state.queues[id]!;
    const variables = (byContainer[queue.container] ??= {});
    const app = queueNames(state, id).app;
    variables[queue.variable] = app;
    if (queue.group) variables[queue.group.variable] = kafkaGroup(state, id)(app);
  }
  return JSON.stringify(byContainer);
}

/**
 * Kafka's consumer group of one of the split's topics: the workload's own for the original (the
 * splitter takes over where the workload stopped, and the workload goes on where the splitter
 * stopped), and one per temporary topic, `mirrord-TOPIC`, which its reader (the workload's pods,
 * a session's process) is told to use. No group ever holds members reading different topics.
 */
export function kafkaGroup(state: SplitState, id: string): (topic: string) => string {
  const queue = state.queues[id]!;
  return (topic) => (queue.group && topic === queue.original ? queue.group.id : `mirrord-${topic}`);
}

/** The variables pointing a member's local process at its own queues (and, for Kafka, its own consumer group). */
export function memberEnv(state: SplitState, member: string): Record<string, string> {
  const filters = state.members[member]?.filters ?? {};
  return Object.fromEntries(
    Object.keys(filters).flatMap((id) => {
      const { variable, group } = state.queues[id]!;
      const queue = queueNames(state, id).session(memberQueueId(member));
      return [[variable, queue], ...(group ? [[group.variable, kafkaGroup(state, id)(queue)]] : [])];
    }),
  );
}

/** The state as stored (one JSON document), and read back; undefined when it isn't one. */
export function encodeSplitState(state: SplitState): string {
  return JSON.stringify(state);
}

export function decodeSplitState(text: string | undefined): SplitState | undefined {
  if (!text) return undefined;
  try {
    const state = JSON.parse(text) as SplitState;
    return state && typeof state === 'object' && state.workload && state.queues && state.members ? state : undefined;
  } catch {
    return undefined;
  }
}
