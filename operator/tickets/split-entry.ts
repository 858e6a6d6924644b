/**
 * A ticket that asks for queue splitting (`spec.splitQueues`): the request checked against the
 * workload's MirrordWorkloadQueueRegistry before anything changes, then the session's member
 * written into the workload's split (the split itself first, when there is none) and the leader
 * waited for: it makes the member's queues and routes its messages (operator/queues/split-runner.ts).
 *
 * While the workload moves onto its split queues (or back), the answer is a 409 with reason
 * `QueueSplitPending`: the CLI asks again, for a pod of the new rollout. A member joins only once
 * every pod of the workload consumes the split queues: a pod of the old rollout, even one being
 * deleted, still takes messages from the original queues, the member's among them.
 */
import { randomBytes } from 'node:crypto';
import type { V1Pod, V1PodTemplateSpec } from '../../common/kube-client';
import { ANNOTATION } from '../../common/pod-contract';
import { SPLIT_PENDING_REASON, type TicketSpec } from '../../protocol/operator-api';
import { queueVariable, type ConfigMapKeyReader } from '../queues/queue-name';
import { registryFor, splitRequestProblems, type QueueRegistry, type SplitRequest } from '../queues/registry';
import { memberEnv, splitPodAnnotation, splitStateName, type SplitState, type SplitWorkloadKind } from '../queues/split-state';
import { updateSplit, type SplitStore } from '../queues/split-store';
import { ApiFailure, type Caller } from './api-failure';

export interface SplitEntryContext {
  splits: SplitStore;
  queueRegistries(namespace: string): Promise<QueueRegistry[]>;
  workloadTemplate(namespace: string, kind: SplitWorkloadKind, name: string): Promise<V1PodTemplateSpec | undefined>;
  configMapKeys(namespace: string): ConfigMapKeyReader;
  /** The names of the workload's pods that may still run without this split annotation (they consume the original queues); undefined when the workload is gone. */
  podsOffSplit(namespace: string, workload: SplitState['workload'], annotation: string): Promise<string[] | undefined>;
  /** How long a ticket waits for the leader to start the split or join the member; default 7 s (the request has 10). */
  splitWaitMs?: number;
}

export interface SplitEntry {
  namespace: string;
  /** The pod the ticket is for, and its owners (Pod, ReplicaSet, Deployment…). */
  pod: V1Pod;
  chain: { kind: string; name: string }[];
  caller: Caller;
  /** The ticket's session id: the member is followed by its sessions. */
  session: string;
  request: NonNullable<TicketSpec['splitQueues']>;
}

const SPLIT_KINDS: Record<string, SplitWorkloadKind> = { Deployment: 'deployment', StatefulSet: 'statefulset', Rollout: 'rollout' };
const POLL_MS = 200;

/** The variables that point the session's local process at its queues; or an ApiFailure saying why not (yet). */
export async function enterSplit(context: SplitEntryContext, entry: SplitEntry): Promise<Record<string, string>> {
  const { namespace, request } = entry;
  const link = entry.chain.find((owner) => SPLIT_KINDS[owner.kind]);
  if (!link) {
    throw new ApiFailure(
      422,
      `feature.split_queues: queues are split for a Deployment, StatefulSet or Rollout; pod ${entry.pod.metadata?.name} belongs to none`,
      'Invalid',
    );
  }
  const workload = { kind: SPLIT_KINDS[link.kind]!, name: link.name };
  const target = `${workload.kind}/${workload.name}`;
  const asConfig: SplitRequest = Object.fromEntries(
    Object.entries(request.queues).map(([id, queue]) => [id, { queue_type: queue.queueType, message_filter: queue.messageFilter }]),
  );
  const registry = registryFor(await context.queueRegistries(namespace), workload.kind, workload.name);
  const problems = splitRequestProblems(asConfig, registry, target, namespace);
  if (problems.length) throw new ApiFailure(422, problems.join('; '), 'Invalid');

  const name = splitStateName(workload);
  const deadline = Date.now() + (context.splitWaitMs ?? 7_000);
  for (;;) {
    const stored = await context.splits.read(namespace, name);
    const state = stored?.state;
    if (!state) {
      await createSplit(context, namespace, workload, registry!, Object.keys(request.queues));
    } else if (state.phase === 'failed') {
      throw new ApiFailure(424, `the queue split of ${target} could not start, and ${target} was left as it is: ${state.error}`, 'FailedDependency');
    } else if (state.phase === 'ending') {
      throw pending(`the queue split of ${target} is ending (its last session left); ${target} goes back to its queues first`);
    } else if (state.phase === 'running') {
      const outside = Object.keys(request.queues).filter((id) => !state.queues[id]);
      if (outside.length) {
        throw new ApiFailure(
          409,
          `feature.split_queues: ${target}'s running split covers ${Object.keys(state.queues).join(', ')}; ${outside.join(', ')} can join only a split that starts with them (when its sessions have ended)`,
          'Conflict',
        );
      }
      const off = await podsOffSplit(context, entry, workload, splitPodAnnotation(state), state.members[entry.request.member] !== undefined);
      if (off.length) {
        const named = off.slice(0, PODS_NAMED).join(', ') + (off.length > PODS_NAMED ? ` and ${off.length - PODS_NAMED} more` : '');
        throw pending(
          `${target} is restarting onto its split queues; ${off.length > 1 ? `pods ${named} still consume` : `pod ${named} still consumes`} the original ones`,
        );
      }
      const joined = await join(context, namespace, name, entry);
      if (joined) return joined;
    }
    if (Date.now() > deadline) {
      throw new ApiFailure(
        503,
        `the operator's leader did not take up the queue split of ${target} in time (is it running? kubectl -n mirrord-system logs -l app.kubernetes.io/name=mirrord-operator)`,
        'ServiceUnavailable',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Names shown of the pods a rollout still waits for; the rest are counted. */
const PODS_NAMED = 3;

/**
 * The pods that keep a member out: the ticket's own while it isn't on the split queues, then every
 * other pod of the workload still on the original ones. A member written already passed this: its
 * reconnections don't list pods again.
 */
async function podsOffSplit(context: SplitEntryContext, entry: SplitEntry, workload: SplitState['workload'], annotation: string, written: boolean) {
  if (entry.pod.metadata?.annotations?.[ANNOTATION.splitQueues] !== annotation) return [entry.pod.metadata?.name ?? ''];
  if (written) return [];
  const off = await context.podsOffSplit(entry.namespace, workload, annotation);
  if (!off) throw new ApiFailure(404, `no ${workload.kind}/${workload.name} in namespace ${entry.namespace}`, 'NotFound');
  return off;
}

function pending(message: string): ApiFailure {
  return new ApiFailure(409, message, SPLIT_PENDING_REASON);
}

/** A new split of the workload's queues, for the leader to start (another replica may have written one meanwhile). */
async function createSplit(
  context: SplitEntryContext,
  namespace: string,
  workload: SplitState['workload'],
  registry: QueueRegistry,
  ids: string[],
): Promise<void> {
  const template = await context.workloadTemplate(namespace, workload.kind, workload.name);
  if (!template) throw new ApiFailure(404, `no ${workload.kind}/${workload.name} in namespace ${namespace}`, 'NotFound');
  const queues: SplitState['queues'] = {};
  for (const id of ids) {
    try {
      const { container, variable, queue, group } = await queueVariable(template, registry, id, context.configMapKeys(namespace));
      queues[id] = { queueType: registry.spec.queues[id]!.queueType, original: queue, container, variable, ...(group && { group }) };
    } catch (error) {
      throw new ApiFailure(422, `feature.split_queues.${id}: ${(error as Error).message}`, 'Invalid');
    }
  }
  const state: SplitState = {
    workload,
    registry: registry.metadata.name,
    split: randomBytes(3).toString('hex'),
    phase: 'starting',
    queues,
    members: {},
  };
  await context.splits.write(namespace, state, undefined);
}

/** The member written into the running split (or its session added); its env once the leader has joined it, else undefined. */
async function join(context: SplitEntryContext, namespace: string, name: string, entry: SplitEntry): Promise<Record<string, string> | undefined> {
  const { member } = entry.request;
  const state = await updateSplit(context.splits, namespace, name, (current) => {
    if (current.phase !== 'running') return undefined;
    const existing = current.members[member];
    if (existing && existing.user !== entry.caller.user) return undefined;
    if (existing?.sessions.includes(entry.session)) return undefined;
    const filters = Object.fromEntries(Object.entries(entry.request.queues).map(([id, queue]) => [id, queue.messageFilter]));
    const next = existing
      ? { ...existing, sessions: [...existing.sessions, entry.session] }
      : { user: entry.caller.user, filters, sessions: [entry.session], since: new Date().toISOString() };
    return { ...current, members: { ...current.members, [member]: next } };
  });
  const joined = state?.members[member];
  if (!state || !joined) return undefined;
  if (joined.user !== entry.caller.user) {
    throw new ApiFailure(403, `spec.splitQueues.member: the queue split member ${member} is another user's`, 'Forbidden');
  }
  if (joined.error !== undefined) throw new ApiFailure(424, `this session could not join the queue split: ${joined.error}`, 'FailedDependency');
  return joined.joined ? memberEnv(state, member) : undefined;
}
