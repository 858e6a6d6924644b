import { decodeSplitState, encodeSplitState, kafkaGroup, memberEnv, memberQueueId, splitPodAnnotation, splitStateName, type SplitState } from './split-state';

const state: SplitState = {
  workload: { kind: 'deployment', name: 'orders' },
  registry: 'orders-queues',
  split: 'a1b2c3',
  phase: 'running',
  queues: {
    orders: { queueType: 'RabbitMQ', original: 'orders', container: 'app', variable: 'ORDERS_QUEUE' },
    audit: { queueType: 'SQS', original: 'audit.fifo', container: 'app', variable: 'AUDIT_QUEUE' },
  },
  members: {
    '0f6f2a5e-6b1a-4a4e-9a43-1d0c1c7e7a11': { user: 'alice', filters: { orders: { user: '^alice$' } }, sessions: ['s1'], since: '2026-12-02T10:00:00Z' },
  },
};

describe('a split as the replicas share it', () => {
  it('names its ConfigMap after the workload', () => {
    expect(splitStateName(state.workload)).toBe('mirrord-split-deployment-orders');
  });

  it("points the workload's container at the app's temporaries, one annotation however the queues were listed", () => {
    expect(splitPodAnnotation(state)).toBe('{"app":{"AUDIT_QUEUE":"audit-mirrord-a1b2c3-app.fifo","ORDERS_QUEUE":"orders-mirrord-a1b2c3-app"}}');
    const reordered = { ...state, queues: { orders: state.queues.orders!, audit: state.queues.audit! } };
    expect(splitPodAnnotation(reordered)).toBe(splitPodAnnotation(state));
  });

  it('gives a member the variables of the queues it asked for, named after its key', () => {
    const member = '0f6f2a5e-6b1a-4a4e-9a43-1d0c1c7e7a11';
    expect(memberQueueId(member)).toBe('0f6f2a5e6b1a');
    expect(memberEnv(state, member)).toEqual({ ORDERS_QUEUE: 'orders-mirrord-a1b2c3-0f6f2a5e6b1a' });
    expect(memberEnv(state, 'someone-else')).toEqual({});
  });

  it("splits a Kafka topic with the workload's group on the original and a group of its own per temporary", () => {
    const kafka: SplitState = {
      ...state,
      queues: { events: { queueType: 'Kafka', original: 'events', container: 'app', variable: 'TOPIC', group: { variable: 'GROUP', id: 'orders-service' } } },
      members: { m1: { user: 'alice', filters: { events: {} }, sessions: [], since: '2026-12-02T10:00:00Z' } },
    };
    expect(kafkaGroup(kafka, 'events')('events')).toBe('orders-service');
    expect(splitPodAnnotation(kafka)).toBe('{"app":{"TOPIC":"events-mirrord-a1b2c3-app","GROUP":"mirrord-events-mirrord-a1b2c3-app"}}');
    expect(memberEnv(kafka, 'm1')).toEqual({ TOPIC: 'events-mirrord-a1b2c3-m1', GROUP: 'mirrord-events-mirrord-a1b2c3-m1' });
  });

  it('reads back what it stored, and nothing from what is not a split', () => {
    expect(decodeSplitState(encodeSplitState(state))).toEqual(state);
    expect(decodeSplitState(undefined)).toBeUndefined();
    expect(decodeSplitState('{"workload":')).toBeUndefined();
    expect(decodeSplitState('{"phase":"running"}')).toBeUndefined();
  });
});
