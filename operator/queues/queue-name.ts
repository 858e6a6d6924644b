/**
 * The queue (Kafka: topic) a registered queue id stands for: the value of the variable the
 * registry names, in the consumer container of the workload's pod template, given as a value or
 * as a ConfigMap's key. The split's temporary queues are named after it, and the workload's pods
 * get the variable pointed at theirs (webhook/patch/split-queues.ts).
 */
import type { V1Container, V1PodTemplateSpec } from '../../common/kube-client';
import { SIDECAR_NAME } from '../../common/pod-contract';
import { containerVariable } from '../env/container-variable';
import type { QueueRegistry } from './registry';

/** Reads a ConfigMap's key (undefined when the map or the key isn't there). */
export type ConfigMapKeyReader = (name: string, key: string) => Promise<string | undefined>;

export interface QueueVariable {
  container: string;
  variable: string;
  /** The original queue's name. */
  queue: string;
  /** Kafka: the variable holding the workload's consumer group id, and its value. */
  group?: { variable: string; id: string };
}

export async function queueVariable(template: V1PodTemplateSpec, registry: QueueRegistry, id: string, readKey: ConfigMapKeyReader): Promise<QueueVariable> {
  const { consumer } = registry.spec;
  const queue = registry.spec.queues[id];
  const where = `MirrordWorkloadQueueRegistry ${registry.metadata.namespace}/${registry.metadata.name}`;
  if (!queue) throw new Error(`${where} declares no queue ${JSON.stringify(id)}`);
  const containers = (template.spec?.containers ?? []).filter((c) => c.name !== SIDECAR_NAME);
  const container = consumer.container === undefined ? containers[0] : containers.find((c) => c.name === consumer.container);
  if (!container) throw new Error(`${where}: the workload ${consumer.name} has no container ${consumer.container ?? ''}`.trim());
  const value = (variable: string, what: string) =>
    variableValue(
      container,
      variable,
      readKey,
      `${where}: queue ${JSON.stringify(id)}: container ${container.name} of ${consumer.name} gives ${variable} no ${what}`,
    );
  const name = await value(queue.nameSource.envVar, 'queue name');
  const group = queue.groupIdSource && { variable: queue.groupIdSource.envVar, id: await value(queue.groupIdSource.envVar, 'consumer group id') };
  return { container: container.name, variable: queue.nameSource.envVar, queue: name, ...(group && { group }) };
}

/** A container's variable: its value, or the ConfigMap key it refers to; else an Error `missing`, saying why. */
async function variableValue(container: V1Container, variable: string, readKey: ConfigMapKeyReader, missing: string): Promise<string> {
  let found;
  try {
    found = await containerVariable(container, variable, { configMap: readKey });
  } catch (error) {
    throw new Error(`${missing} (${(error as Error).message})`);
  }
  if (found?.value) return found.value;
  throw new Error(missing);
}
