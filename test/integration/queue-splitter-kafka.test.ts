/**
 * The queue splitter against a real Apache Kafka (a single KRaft node from Maven Central's jars,
 * in a container built here and started by testcontainers): the deployed app's topic and two
 * sessions' topics, 1,000 messages with mixed headers, each in the topic its filter names with
 * its key, headers, timestamp and partition; a session leaving gives back what its process
 * didn't take (didn't commit, in the group that reads its topic); the end gives everything back
 * to the original topic. The adapter commits only past acked messages and fetches a released
 * one again. A broker that refuses the credentials, lacks the topic or isn't there is a clear error.
 */
import { ConfigResourceTypes, Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import type { Delivery } from '../../operator/queues/broker';
import { BrokerError } from '../../operator/queues/broker-error';
import { KafkaBroker } from '../../operator/queues/kafka';
import { QueueSplitter, splitQueueNames } from '../../operator/queues/splitter';
import { startKafka, type RunningKafka } from '../harness/brokers/kafka';
import { expectRoutedByUser } from './routed';

jest.setTimeout(180_000);

interface Taken {
  body: string;
  user: string;
  key?: string;
  timestamp: string;
  partition: number;
}

describe('the queue splitter on Kafka', () => {
  let kafka: RunningKafka;
  let client: Kafka;
  let admin: Admin;
  let producer: Producer;
  beforeAll(async () => {
    kafka = await startKafka();
    client = new Kafka({ brokers: [kafka.url], logLevel: logLevel.NOTHING });
    admin = client.admin();
    await admin.connect();
    producer = client.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  }, 300_000);
  afterAll(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
    await kafka?.stop();
  });

  const since = Date.now();
  const createTopic = (topic: string, partitions: number, settings: { name: string; value: string }[] = []) =>
    admin.createTopics({ topics: [{ topic, numPartitions: partitions, configEntries: settings }], waitForLeaders: true });
  const setting = async (topic: string, name: string) =>
    (await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false })).resources[0]!.configEntries.find(
      (entry) => entry.configName === name,
    )?.configValue;
  const partitionsOf = async (topic: string) => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.length;

  /**
   * Publishes `count` messages to `topic` (its partitions in turn), the i-th `${prefix}${i}` with
   * header user = users[i % users.length], key k-i and timestamp `since` + i (a recent time:
   * the broker removes records older than its retention).
   */
  const publish = async (topic: string, count: number, users: string[], prefix = 'm', partitions = 1) => {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: count }, (_, i) => ({
        key: `k-${i}`,
        value: `${prefix}${i}`,
        headers: { user: users[i % users.length]!, n: String(i) },
        timestamp: String(since + i),
        partition: i % partitions,
      })),
    });
  };

  /**
   * What a consumer of `topic` in `group` takes: `count` messages (waiting up to 30 s for them),
   * committed, and nothing more (what came after is neither taken nor committed).
   */
  const take = async (topic: string, group: string, count: number): Promise<Taken[]> => {
    const consumer = client.consumer({ groupId: group, maxWaitTimeInMs: 250 });
    const got: Taken[] = [];
    const next = new Map<number, string>();
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (got.length >= count) return;
        got.push({
          body: message.value!.toString(),
          user: message.headers!.user!.toString(),
          key: message.key?.toString(),
          timestamp: message.timestamp,
          partition,
        });
        next.set(partition, (BigInt(message.offset) + 1n).toString());
      },
    });
    const deadline = Date.now() + 30_000;
    while (got.length < count && Date.now() < deadline) await sleep(20);
    if (next.size) await consumer.commitOffsets([...next].map(([partition, offset]) => ({ topic, partition, offset })));
    await consumer.disconnect();
    return got;
  };

  it('moves each of 1,000 messages to the consumer its filter names, none lost, and gives everything back at the end', async () => {
    // A month's retention and 2 MB messages: the temporaries must keep what the original keeps.
    await createTopic('orders', 3, [
      { name: 'retention.ms', value: '2592000000' },
      { name: 'max.message.bytes', value: '2097152' },
    ]);
    const broker = await KafkaBroker.connect(kafka.url);
    const splitter = new QueueSplitter(broker, 'orders', splitQueueNames('orders', 's1'));
    try {
      await splitter.start();
      const alice = await splitter.join('alice', { user: '^alice$' });
      const bob = await splitter.join('bob', { user: '^bob' });
      for (const topic of [splitter.names.app, alice, bob]) {
        expect(await partitionsOf(topic)).toBe(3);
        expect([await setting(topic, 'retention.ms'), await setting(topic, 'max.message.bytes')]).toEqual(['2592000000', '2097152']);
      }
      await publish('orders', 1000, ['alice', 'bob', 'carol', 'bobby'], 'm', 3);
      const [app, forAlice, forBob] = await Promise.all([
        take(splitter.names.app, broker.group(splitter.names.app), 250),
        take(alice, broker.group(alice), 250),
        take(bob, broker.group(bob), 500),
      ]);
      expectRoutedByUser({ app, forAlice, forBob });
      // Each exactly once, with its key, timestamp and partition.
      const all = [...app, ...forAlice, ...forBob];
      expect(new Set(all.map((m) => m.body)).size).toBe(1000);
      for (const m of all) {
        const n = Number(m.body.slice(1));
        expect({ key: m.key, timestamp: m.timestamp, partition: m.partition }).toEqual({ key: `k-${n}`, timestamp: String(since + n), partition: n % 3 });
      }
      expect(splitter.counts.moved).toEqual({ app: 250, alice: 250, bob: 500 });
      // Nothing more than those in any of them.
      for (const topic of [splitter.names.app, alice, bob]) expect(await broker.depth(topic)).toBe(0);

      // Bob's process leaves 40 messages untaken (uncommitted): they go back to be split again (to the app now).
      await publish('orders', 40, ['bob'], 'b', 3);
      await until(() => splitter.counts.moved.bob === 540);
      await splitter.leave('bob');
      expect(splitter.counts.returned).toBe(40);
      const returned = await take(splitter.names.app, broker.group(splitter.names.app), 40);
      expect(returned.map((m) => m.user)).toEqual(Array(40).fill('bob'));
      expect(new Set(returned.map((m) => m.body)).size).toBe(40);
      expect(await broker.depth(splitter.names.app)).toBe(0);

      // The end: the app's topic's and Alice's untaken messages back in the original, the temporaries gone.
      await publish('orders', 10, ['alice', 'carol'], 'e', 3);
      await until(() => splitter.counts.moved.alice === 255 && splitter.counts.moved.app === 295);
      await splitter.pause();
      await splitter.finish();
      const back = await take('orders', broker.group('orders'), 10);
      expect(back.map((m) => m.user).sort()).toEqual([...Array(5).fill('alice'), ...Array(5).fill('carol')]);
      expect(back.map((m) => m.body).sort()).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
      expect(await broker.depth('orders')).toBe(0);
      for (const topic of [splitter.names.app, alice, bob]) await expect(broker.depth(topic)).rejects.toThrow(/has no topic/);
    } finally {
      await broker.close();
    }
  });

  it('a session whose process took messages without committing them and left: they are not lost', async () => {
    await createTopic('jobs', 2);
    const broker = await KafkaBroker.connect(kafka.url);
    const splitter = new QueueSplitter(broker, 'jobs', splitQueueNames('jobs', 's2'));
    try {
      await splitter.start();
      const mine = await splitter.join('me', { user: 'me' });
      // The session's process: reads 20, commits none, and goes away.
      const local = client.consumer({ groupId: broker.group(mine), maxWaitTimeInMs: 250 });
      let held = 0;
      await local.connect();
      await local.subscribe({ topics: [mine], fromBeginning: true });
      await local.run({ autoCommit: false, eachMessage: async () => void held++ });
      await publish('jobs', 100, ['me'], 'm', 2);
      await until(() => held >= 20);
      await local.disconnect();
      await splitter.leave('me');
      // All 100 (the ones it read, the ones waiting) are back and went to the app.
      expect(new Set((await take(splitter.names.app, broker.group(splitter.names.app), 100)).map((m) => m.body)).size).toBe(100);
      await splitter.pause();
      await splitter.finish();
    } finally {
      await broker.close();
    }
  });

  it('commits only past messages acked without a gap, fetches a released one again, and stops without committing the rest', async () => {
    await createTopic('acks', 1);
    await publish('acks', 10, ['x']);
    const broker = await KafkaBroker.connect(kafka.url);
    try {
      const got: Delivery[] = [];
      const consumer = await broker.consume('acks', (delivery) => void got.push(delivery));
      await until(() => got.length === 10);
      expect(got.map((d) => d.message.body.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
      expect(got[3]!.message.headers).toEqual({ user: 'x', n: '3' });
      // Out of order, with m2 not acked: only m0 and m1 are committed.
      for (const i of [1, 3, 0, 4]) await got[i]!.ack();
      await got[5]!.release();
      expect(await broker.depth('acks')).toBe(8);
      // The released one comes again, and only it.
      await until(() => got.length === 11);
      expect(got[10]!.message.body.toString()).toBe('m5');
      await sleep(500);
      expect(got).toHaveLength(11);
      await got[2]!.ack();
      expect(await broker.depth('acks')).toBe(5); // m5 holds it back now
      await got[10]!.ack();
      await got[6]!.ack();
      expect(await broker.depth('acks')).toBe(3);
      // m7 to m9 unacked at the stop: they stay for the group's next consumer.
      await consumer.stop();
      expect(await broker.depth('acks')).toBe(3);
      const again: Delivery[] = [];
      const next = await broker.consume('acks', (delivery) => void again.push(delivery));
      await until(() => again.length === 3);
      expect(again.map((d) => d.message.body.toString())).toEqual(['m7', 'm8', 'm9']);
      for (const delivery of again) await delivery.ack();
      expect(await broker.depth('acks')).toBe(0);
      await next.stop();
    } finally {
      await broker.close();
    }
  });

  it('refused credentials, a missing topic, nothing listening: clear errors', async () => {
    const wrong = kafka.saslUrl.replace('mirrord:mirrord@', 'mirrord:wrong@');
    const where = kafka.saslUrl.replace('mirrord:mirrord@', 'mirrord:***@');
    await expect(KafkaBroker.connect(wrong)).rejects.toThrow(new BrokerError(`Kafka at ${where}: the credentials were refused`));
    // The right ones work.
    await (await KafkaBroker.connect(kafka.saslUrl)).close();
    const broker = await KafkaBroker.connect(kafka.url);
    try {
      await expect(new QueueSplitter(broker, 'no-such-topic', splitQueueNames('no-such-topic', 's3')).start()).rejects.toThrow(
        new BrokerError(`Kafka at ${kafka.url} has no topic no-such-topic`),
      );
    } finally {
      await broker.close();
    }
    await expect(KafkaBroker.connect('127.0.0.1:1')).rejects.toThrow(new BrokerError('Kafka at 127.0.0.1:1: nothing listens there (connection refused)'));
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `condition` holds (checked every 20 ms), failing after 30 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(20);
  }
}
