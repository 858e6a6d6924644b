/**
 * A split's whole life on a real RabbitMQ, as the operator drives it: a ticket's request starts
 * it (split-entry.ts), the leader's runner checks the broker, makes the app's queue and only then
 * points the workload at it; a ticket for a pod of the new rollout, once no pod of the old one
 * runs, joins its member and gets the variables for the local process; the member's messages go
 * to its queue; when none of its sessions is on a sidecar any more its queue is given back; with
 * no member the split ends: the
 * workload pointed back, the temporaries given back and removed. A broker refusing the
 * credentials fails the split, the workload untouched. The API server's part (where the state is
 * kept, the workload's template, the sidecars' sessions) is played by the test.
 */
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import type { V1Pod } from '../../common/kube-client';
import { ANNOTATION } from '../../common/pod-contract';
import { SPLIT_PENDING_REASON } from '../../protocol/operator-api';
import { createLogger } from '../../common/log';
import type { QueueRegistry } from '../../operator/queues/registry';
import { SplitRunner, type SplitCluster } from '../../operator/queues/split-runner';
import { splitStateName, type SplitState } from '../../operator/queues/split-state';
import type { SplitStore, StoredSplit } from '../../operator/queues/split-store';
import { ApiFailure } from '../../operator/tickets/api-failure';
import { enterSplit, type SplitEntry } from '../../operator/tickets/split-entry';
import type { RunningBroker } from '../harness/brokers/docker';
import { startRabbitMq } from '../harness/brokers/rabbitmq';
import { eventually } from '../harness/eventually';

jest.setTimeout(180_000);

/** Splits kept as the ConfigMaps keep them: a version per write, a stale write refused. */
class MemoryStore implements SplitStore {
  readonly splits = new Map<string, StoredSplit>();
  private version = 0;
  async read(namespace: string, name: string) {
    const stored = this.splits.get(`${namespace}/${name}`);
    return stored && structuredClone(stored);
  }
  async write(namespace: string, state: SplitState, basedOn: string | undefined) {
    const key = `${namespace}/${splitStateName(state.workload)}`;
    if (this.splits.get(key)?.version !== basedOn) return false;
    this.splits.set(key, { namespace, state: structuredClone(state), version: String(++this.version) });
    return true;
  }
  async remove(namespace: string, name: string) {
    this.splits.delete(`${namespace}/${name}`);
  }
  async list() {
    return [...this.splits.values()].map((stored) => structuredClone(stored));
  }
}

describe('a queue split driven by the operator, on RabbitMQ', () => {
  let rabbit: RunningBroker;
  let connection: ChannelModel;
  let channel: Channel;
  beforeAll(async () => {
    rabbit = await startRabbitMq();
    connection = await amqp.connect(rabbit.url);
    channel = await connection.createChannel();
    channel.on('error', () => undefined);
  }, 300_000);
  afterAll(async () => {
    await connection?.close();
    await rabbit?.stop();
  });

  const registry = (secret: string): QueueRegistry => ({
    metadata: { name: 'orders', namespace: 'shop' },
    spec: {
      consumer: { name: 'orders', workloadType: 'Deployment' },
      queues: { orders: { queueType: 'RabbitMQ', nameSource: { envVar: 'QUEUE' }, broker: { url: { secretKeyRef: { name: secret, key: 'url' } } } } },
    },
  });
  const template = { spec: { containers: [{ name: 'app', env: [{ name: 'QUEUE', value: 'orders' }] }] } };
  const pod = (annotation?: string): V1Pod => ({
    metadata: { name: 'orders-1', namespace: 'shop', ...(annotation && { annotations: { [ANNOTATION.splitQueues]: annotation } }) },
  });

  /** The cluster as the test plays it, and the runner ticking every 100 ms. */
  function cluster(secret: string) {
    const store = new MemoryStore();
    const world = {
      annotation: undefined as string | undefined,
      podsOnSplit: 0,
      /** The workload's pods still on the original queues (an old rollout's, being deleted). */
      podsOffSplit: [] as string[] | undefined,
      live: new Set<string>(),
      pointed: [] as (string | undefined)[],
    };
    const api: SplitCluster = {
      store,
      registry: async () => registry(secret),
      readSecret: () => async (name) =>
        name === 'rabbit' ? rabbit.url : name === 'wrong' ? rabbit.url.replace('mirrord:mirrord@', 'mirrord:nope@') : undefined,
      pointWorkload: async (_namespace, _workload, annotation) => {
        world.annotation = annotation;
        world.pointed.push(annotation);
      },
      podsOnSplit: async () => world.podsOnSplit,
      liveSessions: async () => world.live,
    };
    const timings = { memberGraceMs: 60_000, absentMs: 300, idleGraceMs: 500, livenessMs: 100, failedKeepMs: 5_000 };
    const runner = new SplitRunner(api, createLogger('error'), timings);
    let ticking = true;
    const loop = (async () => {
      while (ticking) {
        await runner.tick().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const context = {
      splits: store,
      queueRegistries: async () => [registry(secret)],
      workloadTemplate: async () => template,
      configMapKeys: () => async () => undefined,
      podsOffSplit: async () => world.podsOffSplit,
      splitWaitMs: 5_000,
    };
    const entry = (session: string, annotation?: string): SplitEntry => ({
      namespace: 'shop',
      pod: pod(annotation),
      chain: [
        { kind: 'Pod', name: 'orders-1' },
        { kind: 'ReplicaSet', name: 'orders-5d' },
        { kind: 'Deployment', name: 'orders' },
      ],
      caller: { user: 'alice', groups: [] },
      session,
      request: {
        member: '0f6f2a5e-6b1a-4a4e-9a43-1d0c1c7e7a11',
        queues: { orders: { queueType: 'RabbitMQ', messageFilter: { user: '^alice$' } } },
      },
    });
    const stop = async () => {
      ticking = false;
      await loop;
      await runner.stopAll();
    };
    return { store, world, context, entry, stop };
  }

  const failureOf = async (work: Promise<unknown>): Promise<ApiFailure> => {
    try {
      await work;
    } catch (error) {
      if (error instanceof ApiFailure) return error;
      throw error;
    }
    throw new Error('it did not fail');
  };

  const take = async (queue: string): Promise<string[]> => {
    const users: string[] = [];
    for (let message = await channel.get(queue, { noAck: true }); message; message = await channel.get(queue, { noAck: true }))
      users.push(String(message.properties.headers?.user));
    return users;
  };

  it('starts, joins a member, routes its messages, gives its queue back when its sessions are gone, and ends', async () => {
    await channel.assertQueue('orders', { durable: true });
    const { store, world, context, entry, stop } = cluster('rabbit');
    try {
      // The first ticket starts the split; the workload restarts onto it: ask again.
      const first = await failureOf(enterSplit(context, entry('s1')));
      expect([first.status, first.reason]).toEqual([409, SPLIT_PENDING_REASON]);
      expect(world.annotation).toBe(JSON.stringify({ app: { QUEUE: `orders-mirrord-${[...store.splits.values()][0]!.state.split}-app` } }));
      // A pod of the new rollout asks, while one of the old one still runs (deleted, in its grace
      // period): it would take the member's messages from the original queue. Ask again.
      world.podsOffSplit = ['orders-0'];
      const early = await failureOf(enterSplit(context, entry('s1', world.annotation)));
      expect([early.status, early.reason, early.message]).toEqual([
        409,
        SPLIT_PENDING_REASON,
        'deployment/orders is restarting onto its split queues; pod orders-0 still consumes the original ones',
      ]);
      world.podsOffSplit = ['orders-0', 'orders-0b', 'orders-0c', 'orders-0d'];
      expect((await failureOf(enterSplit(context, entry('s1', world.annotation)))).message).toBe(
        'deployment/orders is restarting onto its split queues; pods orders-0, orders-0b, orders-0c and 1 more still consume the original ones',
      );
      // The workload deleted meanwhile: no pod of it is known to be off the split, and nobody joins.
      world.podsOffSplit = undefined;
      const gone = await failureOf(enterSplit(context, entry('s1', world.annotation)));
      expect([gone.status, gone.message]).toEqual([404, 'no deployment/orders in namespace shop']);
      expect(Object.keys([...store.splits.values()][0]!.state.members)).toEqual([]);
      world.podsOffSplit = [];
      const env = await enterSplit(context, entry('s1', world.annotation));
      const mine = env.QUEUE!;
      expect(mine).toMatch(/^orders-mirrord-[0-9a-f]{6}-0f6f2a5e6b1a$/);
      world.live.add('s1');
      world.podsOnSplit = 1;

      for (const user of ['alice', 'bob', 'alice', 'carol']) channel.sendToQueue('orders', Buffer.from(user), { headers: { user } });
      const app = JSON.parse(world.annotation!).app.QUEUE as string;
      await eventually(async () => {
        const depths = await Promise.all([channel.checkQueue(mine), channel.checkQueue(app)]);
        if (depths[0].messageCount !== 2 || depths[1].messageCount !== 2) throw new Error(`depths ${depths.map((d) => d.messageCount)}`);
      }, 20_000);
      expect(await take(mine)).toEqual(['alice', 'alice']);

      // Two more for alice; then her sessions are gone: her queue goes back, and on to the app.
      for (const user of ['alice', 'alice']) channel.sendToQueue('orders', Buffer.from(user), { headers: { user } });
      await eventually(async () => {
        if ((await channel.checkQueue(mine)).messageCount !== 2) throw new Error('not yet in her queue');
      }, 20_000);
      world.live.clear();
      await eventually(async () => {
        if (Object.keys([...store.splits.values()][0]!.state.members).length) throw new Error('still a member');
      }, 20_000);
      await eventually(async () => {
        if ((await channel.checkQueue(app)).messageCount !== 4) throw new Error('not yet back');
      }, 20_000);
      expect(await take(app)).toEqual(expect.arrayContaining(['bob', 'carol', 'alice', 'alice']));

      // No member: the split ends once the workload's pods left the app's queue.
      await eventually(async () => {
        if (world.annotation !== undefined) throw new Error('the workload still points at the split');
      }, 20_000);
      channel.sendToQueue('orders', Buffer.from('dave'), { headers: { user: 'dave' } });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(store.splits.size).toBe(1);
      world.podsOnSplit = 0;
      await eventually(async () => {
        if (store.splits.size) throw new Error('the split is still there');
      }, 20_000);
      expect(await channel.checkQueue('orders')).toMatchObject({ messageCount: 1 });
      // A missing queue closes the channel that asked: one channel per question.
      for (const queue of [app, mine]) {
        const asking = await connection.createChannel();
        asking.on('error', () => undefined);
        await expect(asking.checkQueue(queue)).rejects.toThrow(/NOT_FOUND/);
      }
      expect(world.pointed.filter((annotation) => annotation === undefined)).toHaveLength(1);
      await channel.purgeQueue('orders').catch(() => undefined);
    } finally {
      await stop();
    }
  });

  it('refused credentials: the split fails saying so, and the workload is never pointed at it', async () => {
    channel = await connection.createChannel();
    channel.on('error', () => undefined);
    const { world, context, entry, stop } = cluster('wrong');
    try {
      const failure = await failureOf(enterSplit(context, entry('s1')));
      expect(failure.status).toBe(424);
      expect(failure.message).toMatch(
        /^the queue split of deployment\/orders could not start, and deployment\/orders was left as it is: .*credentials were refused/,
      );
      expect(world.pointed).toEqual([]);
    } finally {
      await stop();
    }
  });

  it('checks the request against the registry before anything changes', async () => {
    const { store, context, entry, stop } = cluster('rabbit');
    try {
      const asked = entry('s1');
      asked.request.queues = { payments: { queueType: 'SQS', messageFilter: {} } };
      const failure = await failureOf(enterSplit(context, asked));
      expect(failure.status).toBe(422);
      expect(failure.message).toBe(
        'feature.split_queues.payments: MirrordWorkloadQueueRegistry shop/orders declares no queue "payments"; it declares "orders"',
      );
      expect(store.splits.size).toBe(0);
    } finally {
      await stop();
    }
  });
});
