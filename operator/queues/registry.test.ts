import { registryFor, splitRequestProblems, type QueueRegistry } from './registry';

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
        broker: { url: { secretKeyRef: { name: 'kafka', key: 'bootstrap' } } },
      },
    },
  },
};

describe("a workload's queue registry", () => {
  it('is found by the workload it names (a Deployment unless it says otherwise)', () => {
    const stateful: QueueRegistry = { ...registry, spec: { ...registry.spec, consumer: { name: 'ledger', workloadType: 'StatefulSet' } } };
    expect(registryFor([stateful, registry], 'deployment', 'orders')).toBe(registry);
    expect(registryFor([stateful, registry], 'statefulset', 'ledger')).toBe(stateful);
    expect(registryFor([stateful, registry], 'deployment', 'ledger')).toBeUndefined();
  });

  it('accepts a request for declared queues of their declared type', () => {
    expect(splitRequestProblems({ orders: { queue_type: 'RabbitMQ', message_filter: { user: '^me$' } } }, registry, 'deploy/orders', 'shop')).toEqual([]);
    expect(splitRequestProblems({}, undefined, 'deploy/orders', 'shop')).toEqual([]);
    expect(splitRequestProblems({ events: { queue_type: 'Kafka', message_filter: { user: '^me$' } } }, registry, 'deploy/orders', 'shop')).toEqual([]);
  });

  it("needs a Kafka topic's consumer group variable: the split reads the original with the workload's group", () => {
    const withoutGroup: QueueRegistry = {
      ...registry,
      spec: { ...registry.spec, queues: { events: { ...registry.spec.queues.events!, groupIdSource: undefined } } },
    };
    expect(splitRequestProblems({ events: { queue_type: 'Kafka' } }, withoutGroup, 'deploy/orders', 'shop')).toEqual([
      "feature.split_queues.events: MirrordWorkloadQueueRegistry shop/orders-queues declares the Kafka topic without groupIdSource (the variable holding the workload's consumer group id), which splitting it needs",
    ]);
  });

  it('names the key and what is allowed: an unknown id, another type, a bad regex, no registry', () => {
    expect(
      splitRequestProblems(
        {
          payments: { queue_type: 'SQS' },
          events: { queue_type: 'RabbitMQ', message_filter: { user: '(me' } },
        },
        registry,
        'deploy/orders',
        'shop',
      ),
    ).toEqual([
      'feature.split_queues.payments: MirrordWorkloadQueueRegistry shop/orders-queues declares no queue "payments"; it declares "orders", "events"',
      'feature.split_queues.events.queue_type: "RabbitMQ", but MirrordWorkloadQueueRegistry shop/orders-queues declares it Kafka',
      expect.stringMatching(/^feature\.split_queues\.events\.message_filter\.user: "\(me" is not a valid RE2 regular expression/),
    ]);
    expect(splitRequestProblems({ orders: { queue_type: 'RabbitMQ' } }, undefined, 'deploy/orders', 'shop')).toEqual([
      'feature.split_queues: no MirrordWorkloadQueueRegistry in namespace shop declares the queues of deploy/orders; an admin declares them once (docs/queue-splitting.md)',
    ]);
  });
});
