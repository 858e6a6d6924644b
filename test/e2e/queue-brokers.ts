/**
 * The three brokers as the queue-splitting e2e suite uses them: started by the test (test/images,
 * through testcontainers) and reached by the pods at the node's address; what the workload's
 * registry and Secrets say about each, one it can't use (refused credentials, or nothing
 * listening), and the test's own publishing and looking up, with each broker's plain client.
 */
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { CreateQueueCommand, GetQueueUrlCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startRabbitMq } from '../harness/brokers/rabbitmq';
import { startKafka } from '../harness/brokers/kafka';
import { startElasticMq } from '../harness/brokers/elasticmq';
import type { RunningBroker } from '../harness/brokers/docker';

export type QueueType = 'RabbitMQ' | 'Kafka' | 'SQS';

export interface TestMessage {
  id: string;
  user: string;
}

export interface E2eBroker {
  type: QueueType;
  /** The Secret data the registry's broker refers to (keys of the Secret), for the right broker or the wrong one. */
  secretData(usable: boolean): Record<string, string>;
  /** The registry's `broker` for a Secret named `secret`. */
  registryBroker(secret: string): Record<string, unknown>;
  /**
   * Variables the workload `app`'s consumer needs besides its queue (Kafka's group: one per
   * workload, as two workloads reading different topics in one group don't share it well; SQS's
   * region), and the registry's extra sources.
   */
  consumerEnv(app: string): Record<string, string>;
  registryQueue: Record<string, unknown>;
  /** What the attach says when the broker can't be used. */
  unusable: RegExp;
  create(queue: string): Promise<void>;
  publish(queue: string, messages: TestMessage[]): Promise<void>;
  exists(queue: string): Promise<boolean>;
  stop(): Promise<void>;
}

const secretRef = (name: string, key: string) => ({ secretKeyRef: { name, key } });

export async function startE2eBroker(type: QueueType, nodeIp: string): Promise<E2eBroker> {
  switch (type) {
    case 'RabbitMQ':
      return rabbitMq(await startRabbitMq(), nodeIp);
    case 'Kafka':
      return kafka(await startKafka({ host: nodeIp }));
    case 'SQS':
      return sqs(await startElasticMq({ host: nodeIp }));
  }
}

function rabbitMq(broker: RunningBroker, nodeIp: string): E2eBroker {
  const forPods = broker.url.replace(/@[^:/]+:/, `@${nodeIp}:`);
  return {
    type: 'RabbitMQ',
    secretData: (usable) => ({ url: usable ? forPods : forPods.replace('mirrord:mirrord@', 'mirrord:wrong@') }),
    registryBroker: (secret) => ({ url: secretRef(secret, 'url') }),
    consumerEnv: () => ({}),
    registryQueue: {},
    unusable: /credentials were refused/,
    create: async (queue) => {
      const connection = await amqp.connect(broker.url);
      await (await connection.createChannel()).assertQueue(queue, { durable: true });
      await connection.close();
    },
    publish: async (queue, messages) => {
      const connection = await amqp.connect(broker.url);
      const channel = await connection.createConfirmChannel();
      for (const { id, user } of messages) channel.publish('', queue, Buffer.from(id), { persistent: true, headers: { id, user } });
      await channel.waitForConfirms();
      await connection.close();
    },
    exists: async (queue) => {
      const connection = await amqp.connect(broker.url);
      try {
        const channel = await connection.createChannel();
        channel.on('error', () => undefined);
        await channel.checkQueue(queue);
        return true;
      } catch {
        return false;
      } finally {
        await connection.close().catch(() => undefined);
      }
    },
    stop: () => broker.stop(),
  };
}

function kafka(broker: RunningBroker & { saslUrl: string }): E2eBroker {
  const client = new Kafka({ clientId: 'e2e', brokers: [broker.url], logLevel: logLevel.NOTHING });
  const admin = client.admin();
  const producer = client.producer();
  const connected = Promise.all([admin.connect(), producer.connect()]);
  return {
    type: 'Kafka',
    // The SASL listener with a wrong password: refused credentials.
    secretData: (usable) => ({ url: usable ? broker.url : broker.saslUrl.replace('mirrord:mirrord@', 'mirrord:wrong@') }),
    registryBroker: (secret) => ({ url: secretRef(secret, 'url') }),
    consumerEnv: (app) => ({ GROUP_ID: `${app}-service` }),
    registryQueue: { groupIdSource: { envVar: 'GROUP_ID' } },
    unusable: /credentials were refused/,
    create: async (topic) => {
      await connected;
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    },
    publish: async (topic, messages) => {
      await connected;
      await producer.send({ topic, acks: -1, messages: messages.map(({ id, user }) => ({ key: id, value: id, headers: { id, user } })) });
    },
    exists: async (topic) => {
      await connected;
      return (await admin.listTopics()).includes(topic);
    },
    stop: async () => {
      await Promise.all([admin.disconnect(), producer.disconnect()]).catch(() => undefined);
      await broker.stop();
    },
  };
}

function sqs(broker: RunningBroker): E2eBroker {
  const client = new SQSClient({ endpoint: broker.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const url = async (queue: string) => (await client.send(new GetQueueUrlCommand({ QueueName: queue }))).QueueUrl!;
  // ElasticMQ takes any credentials: the unusable broker is one where nothing listens.
  const nowhere = broker.url.replace(/:\d+$/, ':1');
  return {
    type: 'SQS',
    secretData: (usable) => ({ url: usable ? broker.url : nowhere, accessKeyId: 'x', secretAccessKey: 'x' }),
    registryBroker: (secret) => ({
      url: secretRef(secret, 'url'),
      region: 'us-east-1',
      accessKeyId: secretRef(secret, 'accessKeyId'),
      secretAccessKey: secretRef(secret, 'secretAccessKey'),
    }),
    consumerEnv: () => ({ AWS_REGION: 'us-east-1' }),
    registryQueue: {},
    unusable: /nothing listens there/,
    create: async (queue) => void (await client.send(new CreateQueueCommand({ QueueName: queue, Attributes: { VisibilityTimeout: '10' } }))),
    publish: async (queue, messages) => {
      const QueueUrl = await url(queue);
      for (let i = 0; i < messages.length; i += 10) {
        const batch = messages.slice(i, i + 10);
        const sent = await client.send(
          new SendMessageBatchCommand({
            QueueUrl,
            Entries: batch.map(({ id, user }) => ({
              Id: id,
              MessageBody: id,
              MessageAttributes: { id: { DataType: 'String', StringValue: id }, user: { DataType: 'String', StringValue: user } },
            })),
          }),
        );
        if (sent.Failed?.length) throw new Error(`SQS refused ${sent.Failed.length} messages`);
      }
    },
    exists: async (queue) =>
      url(queue).then(
        () => true,
        () => false,
      ),
    stop: async () => {
      client.destroy();
      await broker.stop();
    },
  };
}
