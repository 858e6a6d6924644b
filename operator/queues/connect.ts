/**
 * The broker of a registered queue (registry.ts), reached with what its Secrets hold: the URL
 * (RabbitMQ's amqp URL, Kafka's bootstrap servers, the SQS endpoint) and, for SQS, the region and
 * keys. Secret values are never printed: a problem names the Secret and key.
 */
import type { QueueBroker } from './broker';
import { BrokerError } from './broker-error';
import { KafkaBroker } from './kafka';
import { RabbitBroker } from './rabbitmq';
import type { RegisteredQueue, SecretKeyRef } from './registry';
import { SqsBroker } from './sqs';

/** Reads a key of a Secret of the workload's namespace (undefined when the Secret or the key isn't there). */
export type SecretKeyReader = (name: string, key: string) => Promise<string | undefined>;

/** Kafka: which consumer group reads a topic (kafka.ts; by default `mirrord-TOPIC`). */
export interface ConnectOptions {
  kafkaGroup?: (topic: string) => string;
}

export async function connectBroker(id: string, queue: RegisteredQueue, readSecret: SecretKeyReader, options: ConnectOptions = {}): Promise<QueueBroker> {
  const read = async (field: string, ref: SecretKeyRef) => {
    const { name, key } = ref.secretKeyRef;
    const value = await readSecret(name, key);
    if (value === undefined) throw new BrokerError(`queue ${JSON.stringify(id)}: broker.${field}: the Secret ${name} has no key ${key}`);
    return value.trim();
  };
  const url = await read('url', queue.broker.url);
  switch (queue.queueType) {
    case 'RabbitMQ':
      return RabbitBroker.connect(url);
    case 'Kafka':
      return KafkaBroker.connect(url, options.kafkaGroup && { group: options.kafkaGroup });
    case 'SQS': {
      if (!queue.broker.region) throw new BrokerError(`queue ${JSON.stringify(id)}: broker.region: an SQS queue needs its region`);
      const { accessKeyId, secretAccessKey } = queue.broker;
      if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
        throw new BrokerError(
          `queue ${JSON.stringify(id)}: broker.accessKeyId and broker.secretAccessKey go together (neither: the operator's own credentials)`,
        );
      }
      const credentials =
        accessKeyId && secretAccessKey
          ? { accessKeyId: await read('accessKeyId', accessKeyId), secretAccessKey: await read('secretAccessKey', secretAccessKey) }
          : undefined;
      return new SqsBroker({ endpoint: url || undefined, region: queue.broker.region, ...(credentials && { credentials }) });
    }
  }
}
