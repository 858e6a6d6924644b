/**
 * The queue splitter against a real SQS-compatible server (ElasticMQ, in a container built here
 * and started by testcontainers): the deployed app's queue and two sessions' queues, 1,000
 * messages with mixed attributes, each in the queue its filter names; a session leaving gives
 * back what its process didn't delete, and what it received without deleting once its visibility
 * timeout ends; a FIFO queue keeps each group's order and loses nothing given back; the end gives
 * everything back to the original queue. A missing queue and a server that isn't there are clear
 * errors (ElasticMQ takes any credentials: refused ones can't be shown here).
 */
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
  type MessageAttributeValue,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import { BrokerError } from '../../operator/queues/broker-error';
import { SqsBroker } from '../../operator/queues/sqs';
import { QueueSplitter, splitQueueNames } from '../../operator/queues/splitter';
import type { RunningBroker } from '../harness/brokers/docker';
import { startElasticMq } from '../harness/brokers/elasticmq';
import { expectRoutedByUser } from './routed';
import { eventually } from '../harness/eventually';
import { freePort } from '../harness/free-port';

jest.setTimeout(180_000);

const REGION = 'elasticmq';
const CREDENTIALS = { accessKeyId: 'mirrord', secretAccessKey: 'mirrord' };

/** A message as a test's consumer took it. */
interface Taken {
  body: string;
  user: string;
  n: number;
  attributes: Record<string, MessageAttributeValue>;
  group?: string;
  trace?: string;
}

/** The attributes of the i-th test message: its user, n = i, and on some a binary and a custom-typed number. */
function attributesOf(i: number, user: string): Record<string, MessageAttributeValue> {
  return {
    user: { DataType: 'String', StringValue: user },
    n: { DataType: 'Number', StringValue: String(i) },
    ...(i % 3 === 0 ? { blob: { DataType: 'Binary', BinaryValue: Buffer.from([i % 256, 0xff]) } } : {}),
    ...(i % 5 === 0 ? { price: { DataType: 'Number.float', StringValue: `${i}.5` } } : {}),
  };
}

/** The X-Ray trace header every seventh test message has. */
function traceOf(i: number): string {
  return `Root=1-5759e988-bd862e3fe1be46a99427${String(i).padStart(4, '0')};Sampled=1`;
}

/** Attributes compared by type and value (a binary one as base64). */
function comparable(attributes: Record<string, MessageAttributeValue>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      `${value.DataType}:${value.StringValue ?? Buffer.from(value.BinaryValue ?? new Uint8Array()).toString('base64')}`,
    ]),
  );
}

function taken(message: Message): Taken {
  const attributes = message.MessageAttributes ?? {};
  return {
    body: message.Body ?? '',
    user: attributes.user?.StringValue ?? '',
    n: Number(attributes.n?.StringValue),
    attributes,
    group: message.Attributes?.MessageGroupId,
    trace: message.Attributes?.AWSTraceHeader,
  };
}

describe('the queue splitter on SQS (ElasticMQ)', () => {
  let elasticmq: RunningBroker;
  let client: SQSClient;
  beforeAll(async () => {
    elasticmq = await startElasticMq();
    client = new SQSClient({ endpoint: elasticmq.url, region: REGION, credentials: CREDENTIALS });
  }, 300_000);
  afterAll(async () => {
    client?.destroy();
    await elasticmq?.stop();
  });

  const connect = () => new SqsBroker({ endpoint: elasticmq.url, region: REGION, credentials: CREDENTIALS });
  const queueUrl = async (name: string) => (await client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
  const attributes = async (queue: string) =>
    (await client.send(new GetQueueAttributesCommand({ QueueUrl: await queueUrl(queue), AttributeNames: ['All'] }))).Attributes ?? {};
  const createQueue = async (name: string, attributes: Record<string, string>) =>
    void (await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes })));

  /**
   * Sends `count` messages to `queue`, ten at a time, the i-th (from `first`) with user =
   * users[i % users.length]. To a FIFO queue in three groups, with bodies that repeat (told apart
   * by their deduplication ids only).
   */
  const publish = async (queue: string, count: number, users: string[], { first = 0, fifo = false } = {}) => {
    const QueueUrl = await queueUrl(queue);
    for (let start = first; start < first + count; start += 10) {
      const Entries: SendMessageBatchRequestEntry[] = [];
      for (let i = start; i < Math.min(start + 10, first + count); i++)
        Entries.push({
          Id: `e${i}`,
          MessageBody: fifo ? `same body ${i % 4}` : `m${i}`,
          MessageAttributes: attributesOf(i, users[i % users.length]!),
          ...(fifo ? { MessageGroupId: `g${i % 3}`, MessageDeduplicationId: `d${i}` } : {}),
          ...(i % 7 === 0 ? { MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: traceOf(i) } } } : {}),
        });
      const { Failed = [] } = await client.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
      expect(Failed).toEqual([]);
    }
  };
  /** Takes (and deletes) the messages `queue` holds, waiting until `count` have come. */
  const take = async (queue: string, count: number): Promise<Taken[]> => {
    const QueueUrl = await queueUrl(queue);
    const got: Taken[] = [];
    const deadline = Date.now() + 60_000;
    while (got.length < count && Date.now() < deadline) {
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl,
          MaxNumberOfMessages: Math.min(10, count - got.length),
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['MessageGroupId', 'AWSTraceHeader'],
        }),
      );
      if (Messages.length)
        await client.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
      got.push(...Messages.map(taken));
    }
    return got;
  };

  it('moves each of 1,000 messages to the consumer its filter names, none lost, none twice, and gives everything back at the end', async () => {
    await createQueue('orders', { VisibilityTimeout: '20' });
    const broker = connect();
    const splitter = new QueueSplitter(broker, 'orders', splitQueueNames('orders', 's1'));
    try {
      await splitter.start();
      const alice = await splitter.join('alice', { user: '^alice$' });
      const bob = await splitter.join('bob', { user: '^bob' });
      await publish('orders', 1000, ['alice', 'bob', 'carol', 'bobby']);
      const [app, forAlice, forBob] = await Promise.all([take(splitter.names.app, 250), take(alice, 250), take(bob, 500)]);
      expectRoutedByUser({ app, forAlice, forBob });
      // Each exactly once (nothing more waits anywhere), with its body and attributes.
      const all = [...app, ...forAlice, ...forBob];
      expect(all).toHaveLength(1000);
      expect(new Set(all.map((m) => m.n)).size).toBe(1000);
      for (const m of all) {
        expect(m.body).toBe(`m${m.n}`);
        expect(comparable(m.attributes)).toEqual(comparable(attributesOf(m.n, m.user)));
        expect(m.trace).toBe(m.n % 7 === 0 ? traceOf(m.n) : undefined);
      }
      for (const queue of [splitter.names.app, alice, bob]) expect(await broker.depth(queue)).toBe(0);
      // The original, once the splitter's own poll has found it empty.
      await eventually(async () => expect(await broker.depth('orders')).toBe(0));
      expect(splitter.counts.moved).toEqual({ app: 250, alice: 250, bob: 500 });
      // The temporaries are like the original.
      expect(await attributes(alice)).toMatchObject({ VisibilityTimeout: '20' });

      // Bob's process leaves 40 messages undeleted: they go back to be split again (to the app now).
      await publish('orders', 40, ['bob'], { first: 1000 });
      await eventually(async () => expect(splitter.counts.moved.bob).toBe(540));
      await splitter.leave('bob');
      expect(splitter.counts.returned).toBe(40);
      expect((await take(splitter.names.app, 40)).map((m) => m.user)).toEqual(Array(40).fill('bob'));

      // The end: the app's queue's and Alice's undeleted messages back in the original, the temporaries gone.
      await publish('orders', 10, ['alice', 'carol'], { first: 1040 });
      await eventually(async () => expect(splitter.counts.moved).toEqual({ app: 295, alice: 255, bob: 540 }));
      await splitter.pause();
      await splitter.finish();
      const back = await take('orders', 10);
      expect(back.map((m) => m.user).sort()).toEqual([...Array(5).fill('alice'), ...Array(5).fill('carol')]);
      expect(back.map((m) => m.n).sort()).toEqual(Array.from({ length: 10 }, (_, i) => 1040 + i));
      expect(await broker.depth('orders')).toBe(0);
      for (const queue of [splitter.names.app, alice, bob]) await expect(broker.depth(queue)).rejects.toThrow(`has no queue ${queue}`);
    } finally {
      await broker.close();
    }
  });

  it('a session whose process received messages without deleting them and died: they come back after their visibility timeout, none lost', async () => {
    await createQueue('jobs', { VisibilityTimeout: '3' });
    const broker = connect();
    const splitter = new QueueSplitter(broker, 'jobs', splitQueueNames('jobs', 's2'));
    try {
      await splitter.start();
      const mine = await splitter.join('me', { user: '^me$' });
      await publish('jobs', 100, ['me']);
      await eventually(async () => expect(splitter.counts.moved.me).toBe(100));
      // The session's process: receives 20, deletes none, and is gone.
      const local = new SQSClient({ endpoint: elasticmq.url, region: REGION, credentials: CREDENTIALS });
      const mineUrl = await queueUrl(mine);
      let held = 0;
      while (held < 20) {
        const { Messages = [] } = await local.send(
          new ReceiveMessageCommand({ QueueUrl: mineUrl, MaxNumberOfMessages: Math.min(10, 20 - held), WaitTimeSeconds: 1 }),
        );
        held += Messages.length;
      }
      local.destroy();
      const left = Date.now();
      await splitter.leave('me');
      // Its queue was given back only once the 20 were visible again.
      expect(Date.now() - left).toBeGreaterThanOrEqual(2_000);
      expect(splitter.counts.returned).toBe(100);
      // All 100 (the 20 held, the 80 waiting) are back and went to the app, once each.
      const app = await take(splitter.names.app, 100);
      expect(new Set(app.map((m) => m.n)).size).toBe(100);
      expect(await broker.depth(splitter.names.app)).toBe(0);
      await splitter.pause();
      await splitter.finish();
    } finally {
      await broker.close();
    }
  });

  it("a FIFO queue: FIFO temporaries, each group's order kept, same bodies not taken for duplicates, and what a session gives back not dropped", async () => {
    await createQueue('payments.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true', VisibilityTimeout: '10' });
    const broker = connect();
    const splitter = new QueueSplitter(broker, 'payments.fifo', splitQueueNames('payments.fifo', 's4'));
    try {
      await splitter.start();
      const alice = await splitter.join('alice', { user: '^alice$' });
      expect([splitter.names.app, alice]).toEqual(['payments-mirrord-s4-app.fifo', 'payments-mirrord-s4-alice.fifo']);
      for (const queue of [splitter.names.app, alice])
        expect(await attributes(queue)).toMatchObject({ FifoQueue: 'true', ContentBasedDeduplication: 'true', VisibilityTimeout: '10' });
      await publish('payments.fifo', 60, ['alice', 'carol'], { fifo: true });
      const [app, forAlice] = await Promise.all([take(splitter.names.app, 30), take(alice, 30)]);
      expect(app.every((m) => m.user === 'carol')).toBe(true);
      expect(forAlice.every((m) => m.user === 'alice')).toBe(true);
      const all = [...app, ...forAlice];
      expect(new Set(all.map((m) => m.n)).size).toBe(60);
      for (const m of all) expect(m.group).toBe(`g${m.n % 3}`);
      // Within each group, in the order sent.
      for (const consumer of [app, forAlice])
        for (const group of ['g0', 'g1', 'g2']) {
          const order = consumer.filter((m) => m.group === group).map((m) => m.n);
          expect(order).toEqual([...order].sort((a, b) => a - b));
        }

      // Alice's process leaves 12 undeleted: back in the original (SQS has seen their producer's
      // deduplication ids there), then split again, to the app.
      await publish('payments.fifo', 12, ['alice'], { first: 60, fifo: true });
      await eventually(async () => expect(splitter.counts.moved.alice).toBe(42));
      await splitter.leave('alice');
      const back = await take(splitter.names.app, 12);
      expect(back.map((m) => m.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => 60 + i));
      await splitter.pause();
      await splitter.finish();
      expect(await broker.depth('payments.fifo')).toBe(0);
    } finally {
      await broker.close();
    }
  });

  it('a missing queue, a queue gone, nothing listening: clear errors', async () => {
    const broker = connect();
    try {
      const start = new QueueSplitter(broker, 'no-such-queue', splitQueueNames('no-such-queue', 's3')).start();
      await expect(start).rejects.toBeInstanceOf(BrokerError);
      await expect(start).rejects.toThrow(`SQS at ${elasticmq.url} has no queue no-such-queue`);
      await expect(broker.publish('no-such-queue', { body: Buffer.from('x'), headers: {} })).rejects.toThrow(/has no queue no-such-queue/);
    } finally {
      await broker.close();
    }
    const nobody = new SqsBroker({ endpoint: `http://127.0.0.1:${await freePort()}`, region: REGION, credentials: CREDENTIALS });
    try {
      await expect(nobody.checkQueue('orders')).rejects.toThrow(/SQS at http:\/\/127\.0\.0\.1:\d+: nothing listens there/);
    } finally {
      await nobody.close();
    }
  });
});
