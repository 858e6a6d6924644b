/**
 * The queue splitter against a real RabbitMQ (Debian's rabbitmq-server, in a container built
 * here and started by testcontainers): the deployed app's queue and two sessions' queues, 1,000
 * messages with mixed headers, each in the queue its filter names; a session leaving gives back
 * what its process didn't take; the end gives everything back to the original queue. A broker
 * that refuses the credentials, or lacks the queue, is a clear error.
 */
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { BrokerError } from '../../operator/queues/broker-error';
import { connectBroker } from '../../operator/queues/connect';
import { RabbitBroker } from '../../operator/queues/rabbitmq';
import { QueueSplitter, splitQueueNames } from '../../operator/queues/splitter';
import type { RunningBroker } from '../harness/brokers/docker';
import { startRabbitMq } from '../harness/brokers/rabbitmq';
import { expectRoutedByUser } from './routed';

jest.setTimeout(180_000);

describe('the queue splitter on RabbitMQ', () => {
  let rabbit: RunningBroker;
  let connection: ChannelModel;
  let channel: Channel;
  beforeAll(async () => {
    rabbit = await startRabbitMq();
    connection = await amqp.connect(rabbit.url);
    channel = await connection.createChannel();
  }, 300_000);
  afterAll(async () => {
    await connection?.close();
    await rabbit?.stop();
  });

  /** Publishes `count` messages to `queue`, the i-th with header user = users[i % users.length]. */
  const publish = async (queue: string, count: number, users: string[]) => {
    for (let i = 0; i < count; i++)
      channel.sendToQueue(queue, Buffer.from(`m${i}`), { headers: { user: users[i % users.length], n: i }, messageId: `id-${i}` });
    await new Promise((resolve) => setTimeout(resolve, 10));
  };
  /** Takes every message `queue` holds now (acknowledged), waiting until `count` have come. */
  const take = async (queue: string, count: number): Promise<{ body: string; user: string; messageId?: string }[]> => {
    const got: { body: string; user: string; messageId?: string }[] = [];
    const deadline = Date.now() + 30_000;
    while (got.length < count && Date.now() < deadline) {
      const message = await channel.get(queue, { noAck: true });
      if (message) got.push({ body: message.content.toString(), user: String(message.properties.headers?.user), messageId: message.properties.messageId });
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return got;
  };

  it('moves each of 1,000 messages to the consumer its filter names, none lost, and gives everything back at the end', async () => {
    await channel.assertQueue('orders', { durable: true });
    const broker = await RabbitBroker.connect(rabbit.url);
    const splitter = new QueueSplitter(broker, 'orders', splitQueueNames('orders', 's1'));
    try {
      await splitter.start();
      const alice = await splitter.join('alice', { user: '^alice$' });
      const bob = await splitter.join('bob', { user: '^bob' });
      await publish('orders', 1000, ['alice', 'bob', 'carol', 'bobby']);
      const [app, forAlice, forBob] = await Promise.all([take(splitter.names.app, 250), take(alice, 250), take(bob, 500)]);
      expectRoutedByUser({ app, forAlice, forBob });
      // Each exactly once, with its properties.
      const bodies = [...app, ...forAlice, ...forBob].map((m) => m.body).sort();
      expect(new Set(bodies).size).toBe(1000);
      expect(forAlice[0]!.messageId).toBe(`id-${forAlice[0]!.body.slice(1)}`);
      expect(splitter.counts.moved).toEqual({ app: 250, alice: 250, bob: 500 });

      // Bob's process leaves 40 messages untaken: they go back to be split again (to the app now).
      await publish('orders', 40, ['bob']);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await splitter.leave('bob');
      expect((await take(splitter.names.app, 40)).map((m) => m.user)).toEqual(Array(40).fill('bob'));

      // The end: the app's queue's and Alice's untaken messages back in the original, the temporaries gone.
      await publish('orders', 10, ['alice', 'carol']);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await splitter.pause();
      await splitter.finish();
      expect((await take('orders', 10)).map((m) => m.user).sort()).toEqual([...Array(5).fill('alice'), ...Array(5).fill('carol')]);
      for (const queue of [splitter.names.app, alice, bob]) await expect(broker.depth(queue)).rejects.toThrow(/has no queue/);
    } finally {
      await broker.close();
    }
  });

  it('a session whose process took messages without acknowledging them and died: they are not lost', async () => {
    await channel.assertQueue('jobs', { durable: true });
    const broker = await RabbitBroker.connect(rabbit.url);
    const splitter = new QueueSplitter(broker, 'jobs', splitQueueNames('jobs', 's2'));
    try {
      await splitter.start();
      const mine = await splitter.join('me', { user: 'me' });
      // The session's process: takes 20, acknowledges none, and its connection dies.
      const local = await amqp.connect(rabbit.url);
      const localChannel = await local.createChannel();
      await localChannel.prefetch(20);
      let held = 0;
      await localChannel.consume(mine, () => void held++);
      await publish('jobs', 100, ['me']);
      while (held < 20) await new Promise((resolve) => setTimeout(resolve, 20));
      await local.close();
      await splitter.leave('me');
      // All 100 (the 20 held, the 80 waiting) are back and went to the app.
      expect(new Set((await take(splitter.names.app, 100)).map((m) => m.body)).size).toBe(100);
      await splitter.pause();
      await splitter.finish();
    } finally {
      await broker.close();
    }
  });

  it("reaches the broker a workload's registry names, with the URL from its Secret", async () => {
    await channel.assertQueue('registered', { durable: true });
    const registered = { queueType: 'RabbitMQ' as const, nameSource: { envVar: 'QUEUE' }, broker: { url: { secretKeyRef: { name: 'rabbit', key: 'url' } } } };
    const broker = await connectBroker('orders', registered, async (name, key) => (name === 'rabbit' && key === 'url' ? rabbit.url : undefined));
    try {
      expect(await broker.depth('registered')).toBe(0);
    } finally {
      await broker.close();
    }
  });

  it('refused credentials, a missing queue, nothing listening: clear errors', async () => {
    const wrong = new URL(rabbit.url);
    wrong.password = 'wrong';
    await expect(RabbitBroker.connect(wrong.toString())).rejects.toThrow(new BrokerError(`RabbitMQ at ${redactedUrl(wrong)}: the credentials were refused`));
    const broker = await RabbitBroker.connect(rabbit.url);
    try {
      await expect(new QueueSplitter(broker, 'no-such-queue', splitQueueNames('no-such-queue', 's3')).start()).rejects.toThrow(/has no queue no-such-queue/);
    } finally {
      await broker.close();
    }
    await expect(RabbitBroker.connect('amqp://guest:guest@127.0.0.1:1')).rejects.toThrow(/nothing listens there/);
  });
});

function redactedUrl(url: URL): string {
  const copy = new URL(url);
  copy.password = '***';
  return copy.toString();
}
