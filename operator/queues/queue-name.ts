/**
 * The queue (Kafka: topic) a registered queue id stands for: the value of the variable the
 * registry names, in the consumer container of the workload's pod template, given as a value or
 * as a ConfigMap's key. The split's temporary queues are named after it, and the workload's pods
 * get the variable pointed at theirs (webhook/patch/split-queues.ts).
 */
import type { V1PodTemplateSpec } from '../../common/kube-client';
import { SIDECAR_NAME } from '../../common/pod-contract';
import type { QueueRegistry } from './registry';

/** Reads a ConfigMap's key (undefined when the map or the key isn't there). */
export type ConfigMapKeyReader = (name: string, key: string) => Promise<string | undefined>;

export interface QueueVariable {
  container: string;
  variable: string;
  /** The original queue's name. */
  queue: string;
}

export async function queueVariable(template: V1PodTemplateSpec, registry: QueueRegistry, id: string, readKey: ConfigMapKeyReader): Promise<QueueVariable> {
  const { consumer } = registry.spec;
  const queue = registry.spec.queues[id];
  const where = `MirrordWorkloadQueueRegistry ${registry.metadata.namespace}/${registry.metadata.name}`;
  if (!queue) throw new Error(`${where} declares no queue ${JSON.stringify(id)}`);
  const containers = (template.spec?.containers ?? []).filter((c) => c.name !== SIDECAR_NAME);
  const container = consumer.container === undefined ? containers[0] : containers.find((c) => c.name === consumer.container);
  if (!container) throw new Error(`${where}: the workload ${consumer.name} has no container ${consumer.container ?? ''}`.trim());
  const variable = queue.nameSource.envVar;
  const defined = container.env?.find((v) => v.name === variable);
  const fromMap = defined?.valueFrom?.configMapKeyRef;
  const value = defined?.value ?? (fromMap?.name && fromMap.key ? await readKey(fromMap.name, fromMap.key) : undefined);
  if (!value) {
    const how = fromMap
      ? ` (ConfigMap ${fromMap.name}, key ${fromMap.key})`
      : defined?.valueFrom
        ? ' (from a source other than a value or a ConfigMap key)'
        : '';
    throw new Error(`${where}: queue ${JSON.stringify(id)}: container ${container.name} of ${consumer.name} gives ${variable} no queue name${how}`);
  }
  return { container: container.name, variable, queue: value };
}
