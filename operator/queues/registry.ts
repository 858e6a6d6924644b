/**
 * The `MirrordWorkloadQueueRegistry` an admin writes for a workload (manifests/crds/
 * queue-registries.yaml): the queues it consumes, by the ids sessions name in
 * `feature.split_queues`. A session's request is checked against it before anything in the
 * cluster changes, each problem naming the key and what is allowed.
 */
import { messageFilterProblems, type MessageFilter } from './message-filter';

export type QueueType = 'RabbitMQ' | 'Kafka' | 'SQS';

export interface SecretKeyRef {
  secretKeyRef: { name: string; key: string };
}

export interface RegisteredQueue {
  queueType: QueueType;
  /** The consumer container's variable holding the queue's (Kafka: the topic's) name. */
  nameSource: { envVar: string };
  /**
   * Kafka: the variable holding the workload's consumer group id. The splitter reads the original
   * topic with that group (taking over where the workload stopped, and handing back where it
   * stopped), and each session's process gets a group of its own in it.
   */
  groupIdSource?: { envVar: string };
  broker: { url: SecretKeyRef; region?: string; accessKeyId?: SecretKeyRef; secretAccessKey?: SecretKeyRef };
}

export interface QueueRegistrySpec {
  consumer: { name: string; workloadType?: 'Deployment' | 'StatefulSet' | 'Rollout'; container?: string };
  queues: Record<string, RegisteredQueue>;
}

export interface QueueRegistry {
  metadata: { name: string; namespace: string };
  spec: QueueRegistrySpec;
}

/** A session's `feature.split_queues`, as the config file has it. */
export type SplitRequest = Record<string, { queue_type: QueueType; message_filter?: MessageFilter }>;

const KINDS: Record<string, string> = { Deployment: 'deployment', StatefulSet: 'statefulset', Rollout: 'rollout' };

/** The registry of the workload `kind/name` (kubectl's kind: deployment, statefulset, rollout) among those of its namespace. */
export function registryFor(registries: QueueRegistry[], kind: string, name: string): QueueRegistry | undefined {
  return registries.find(({ spec }) => spec.consumer.name === name && KINDS[spec.consumer.workloadType ?? 'Deployment'] === kind);
}

/** What is wrong with `request` for the workload `target` (`deploy/orders`) given its registry; empty when it can be split. */
export function splitRequestProblems(request: SplitRequest, registry: QueueRegistry | undefined, target: string, namespace: string): string[] {
  const ids = Object.keys(request);
  if (!ids.length) return [];
  if (!registry) {
    return [
      `feature.split_queues: no MirrordWorkloadQueueRegistry in namespace ${namespace} declares the queues of ${target}; an admin declares them once (docs/queue-splitting.md)`,
    ];
  }
  const declared = Object.keys(registry.spec.queues);
  const where = `MirrordWorkloadQueueRegistry ${namespace}/${registry.metadata.name}`;
  return ids.flatMap((id) => {
    const queue = registry.spec.queues[id];
    if (!queue)
      return [`feature.split_queues.${id}: ${where} declares no queue ${JSON.stringify(id)}; it declares ${declared.map((d) => JSON.stringify(d)).join(', ')}`];
    const { queue_type: type, message_filter: filter = {} } = request[id]!;
    return [
      ...(type === queue.queueType ? [] : [`feature.split_queues.${id}.queue_type: ${JSON.stringify(type)}, but ${where} declares it ${queue.queueType}`]),
      ...(queue.queueType === 'Kafka' && !queue.groupIdSource
        ? [
            `feature.split_queues.${id}: ${where} declares the Kafka topic without groupIdSource (the variable holding the workload's consumer group id), which splitting it needs`,
          ]
        : []),
      ...messageFilterProblems(filter).map((problem) => `feature.split_queues.${id}.${problem}`),
    ];
  });
}
