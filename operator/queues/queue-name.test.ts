import type { V1PodTemplateSpec } from '../../common/kube-client';
import { queueVariable } from './queue-name';
import type { QueueRegistry } from './registry';

const registry: QueueRegistry = {
  metadata: { name: 'orders-queues', namespace: 'shop' },
  spec: {
    consumer: { name: 'orders' },
    queues: {
      orders: { queueType: 'RabbitMQ', nameSource: { envVar: 'ORDERS_QUEUE' }, broker: { url: { secretKeyRef: { name: 'rabbit', key: 'url' } } } },
      events: {
        queueType: 'Kafka',
        nameSource: { envVar: 'EVENTS_TOPIC' },
        groupIdSource: { envVar: 'EVENTS_GROUP' },
        broker: { url: { secretKeyRef: { name: 'kafka', key: 'url' } } },
      },
      audit: { queueType: 'SQS', nameSource: { envVar: 'AUDIT_QUEUE' }, broker: { url: { secretKeyRef: { name: 'sqs', key: 'url' } } } },
    },
  },
};
const template: V1PodTemplateSpec = {
  spec: {
    containers: [
      {
        name: 'app',
        env: [
          { name: 'ORDERS_QUEUE', value: 'orders' },
          { name: 'EVENTS_TOPIC', valueFrom: { configMapKeyRef: { name: 'topics', key: 'events' } } },
          { name: 'EVENTS_GROUP', value: 'orders-service' },
          { name: 'AUDIT_QUEUE', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
        ],
      },
    ],
  },
};
const maps: Record<string, Record<string, string>> = { topics: { events: 'shop-events' } };
const readKey = async (name: string, key: string) => maps[name]?.[key];

describe("a registered queue's name", () => {
  it("is the consumer container's variable: a value, or a ConfigMap's key", async () => {
    expect(await queueVariable(template, registry, 'orders', readKey)).toEqual({ container: 'app', variable: 'ORDERS_QUEUE', queue: 'orders' });
    expect(await queueVariable(template, registry, 'events', readKey)).toEqual({
      container: 'app',
      variable: 'EVENTS_TOPIC',
      queue: 'shop-events',
      group: { variable: 'EVENTS_GROUP', id: 'orders-service' },
    });
  });

  it('says where a name is missing', async () => {
    await expect(queueVariable(template, registry, 'audit', readKey)).rejects.toThrow(
      'MirrordWorkloadQueueRegistry shop/orders-queues: queue "audit": container app of orders gives AUDIT_QUEUE no queue name (the value comes from Secret s, key k, which is not read for this)',
    );
    await expect(queueVariable(template, registry, 'events', async () => undefined)).rejects.toThrow(
      /gives EVENTS_TOPIC no queue name \(container app takes EVENTS_TOPIC from ConfigMap topics, key events, which does not exist\)$/,
    );
    const other = { ...registry, spec: { ...registry.spec, consumer: { name: 'orders', container: 'worker' } } };
    await expect(queueVariable(template, other, 'orders', readKey)).rejects.toThrow(
      'MirrordWorkloadQueueRegistry shop/orders-queues: the workload orders has no container worker',
    );
  });
});
