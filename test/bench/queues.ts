/**
 * What queue splitting costs (`npm run bench:queues`), per broker (RabbitMQ, Kafka, SQS on
 * ElasticMQ, each in its container, built here), each figure against its baseline in the same
 * run: messages published to a queue and consumed directly by one consumer of that queue, then
 * the same through the splitter (the app's queue and one session's, the session's filter taking
 * every other message), the two alternated over ROUNDS rounds after one round not counted (the
 * broker's and this process's warm-up). Throughput: MESSAGES messages published as fast as the
 * broker confirms them (WINDOW in flight), from the first publish to the last one received, per
 * second. Latency: PACED messages published one at a time at PACED_RATE a second, well below
 * either throughput, from a message's publish to its receipt (the time it was sent travels in a
 * header), p50 and p99. See docs/benchmarks.md.
 */
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { performance } from 'node:perf_hooks';
import type { QueueBroker } from '../../operator/queues/broker';
import { KafkaBroker } from '../../operator/queues/kafka';
import { RabbitBroker } from '../../operator/queues/rabbitmq';
import { QueueSplitter, splitQueueNames } from '../../operator/queues/splitter';
import { SqsBroker } from '../../operator/queues/sqs';
import { startElasticMq } from '../harness/brokers/elasticmq';
import { startKafka } from '../harness/brokers/kafka';
import { startRabbitMq } from '../harness/brokers/rabbitmq';
import { count, fixed, percent, percentile, signedMs, table } from './stats';

const ROUNDS = 3;
/** Messages per round, per broker (SQS answers each call over HTTP: fewer). */
const MESSAGES = { RabbitMQ: 5_000, Kafka: 5_000, SQS: 1_000 };
/** Publishes in flight at once. */
const WINDOW = 100;
/** Messages for the latency figures, and their rate (per broker: SQS answers each call over HTTP). */
const PACED = { RabbitMQ: 500, Kafka: 500, SQS: 200 };
const PACED_RATE = { RabbitMQ: 250, Kafka: 250, SQS: 50 };

interface Measured {
  perSecond: number;
  /** ms, sorted */
  latencies: number[];
}

interface BrokerFigures {
  broker: string;
  messages: number;
  direct: Measured;
  split: Measured;
}

type Setup = { broker: QueueBroker; createQueue(name: string): Promise<void>; stop(): Promise<void> };

const progress = (text: string) => process.stderr.write(`  · ${text}\n`);

async function rabbitSetup(): Promise<Setup> {
  const rabbit = await startRabbitMq();
  const connection = await amqp.connect(rabbit.url);
  const channel = await connection.createChannel();
  const broker = await RabbitBroker.connect(rabbit.url);
  return {
    broker,
    createQueue: async (name) => void (await channel.assertQueue(name, { durable: true })),
    stop: async () => {
      await broker.close();
      await connection.close();
      await rabbit.stop();
    },
  };
}

async function kafkaSetup(): Promise<Setup> {
  const kafka = await startKafka();
  const admin = new Kafka({ brokers: [kafka.url], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const broker = await KafkaBroker.connect(kafka.url);
  return {
    broker,
    createQueue: async (name) => void (await admin.createTopics({ topics: [{ topic: name, numPartitions: 1 }], waitForLeaders: true })),
    stop: async () => {
      await broker.close();
      await admin.disconnect();
      await kafka.stop();
    },
  };
}

async function sqsSetup(): Promise<Setup> {
  const elasticmq = await startElasticMq();
  const options = { endpoint: elasticmq.url, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  const client = new SQSClient(options);
  const broker = new SqsBroker(options);
  return {
    broker,
    createQueue: async (name) => void (await client.send(new CreateQueueCommand({ QueueName: name }))),
    stop: async () => {
      await broker.close();
      client.destroy();
      await elasticmq.stop();
    },
  };
}

/**
 * Publishes `messages` to `queue` (every other one for the session), `rate` a second or as fast as
 * the broker confirms (WINDOW in flight), and waits until `from` have received them all.
 */
async function measure(broker: QueueBroker, queue: string, messages: number, from: string[], rate?: number): Promise<Measured> {
  const latencies: number[] = [];
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const consumers = await Promise.all(
    from.map((name) =>
      broker.consume(name, (delivery) => {
        latencies.push(performance.now() - Number(delivery.message.headers.sent));
        void delivery.ack();
        if (latencies.length === messages) done();
      }),
    ),
  );
  const publish = (n: number) =>
    broker.publish(queue, { body: Buffer.from(`message ${n}`), headers: { sent: String(performance.now()), user: n % 2 ? 'me' : 'other' } });
  const start = performance.now();
  if (rate) {
    const published: Promise<void>[] = [];
    for (let n = 0; n < messages; n++) {
      const due = start + (n * 1000) / rate;
      if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
      published.push(publish(n));
    }
    await Promise.all(published);
  } else {
    for (let sent = 0; sent < messages; sent += WINDOW) {
      await Promise.all(Array.from({ length: Math.min(WINDOW, messages - sent) }, (_, i) => publish(sent + i)));
    }
  }
  await all;
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(consumers.map((consumer) => consumer.stop()));
  return { perSecond: messages / seconds, latencies: latencies.sort((a, b) => a - b) };
}

async function brokerFigures(name: keyof typeof MESSAGES, setup: () => Promise<Setup>): Promise<BrokerFigures> {
  progress(`${name}: starting the broker`);
  const { broker, createQueue, stop } = await setup();
  const messages = MESSAGES[name];
  const direct: { fast: Measured; paced: Measured }[] = [];
  const split: { fast: Measured; paced: Measured }[] = [];
  /** One way (direct, or through a splitter) on a fresh queue: the fast run, then the paced one. */
  const oneWay = async (queue: string, through: boolean) => {
    await createQueue(queue);
    let from = [queue];
    let splitter: QueueSplitter | undefined;
    if (through) {
      splitter = new QueueSplitter(broker, queue, splitQueueNames(queue, 'bench'));
      await splitter.start();
      from = [splitter.names.app, await splitter.join('me', { user: '^me$' })];
    }
    const fast = await measure(broker, queue, messages, from);
    const paced = await measure(broker, queue, PACED[name], from, PACED_RATE[name]);
    if (splitter) {
      await splitter.pause();
      await splitter.finish();
    }
    return { fast, paced };
  };
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      progress(`${name}: round ${round} of ${ROUNDS}${round === 0 ? ' (warm-up, not counted)' : ''}`);
      const plain = await oneWay(`bench-direct-${round}`, false);
      const throughSplitter = await oneWay(`bench-split-${round}`, true);
      if (round === 0) continue;
      direct.push(plain);
      split.push(throughSplitter);
    }
  } finally {
    await stop();
  }
  const merged = (runs: Measured[]): Measured => ({
    perSecond: runs.reduce((sum, run) => sum + run.perSecond, 0) / runs.length,
    latencies: runs.flatMap((run) => run.latencies).sort((a, b) => a - b),
  });
  return {
    broker: name,
    messages,
    direct: { perSecond: merged(direct.map((r) => r.fast)).perSecond, latencies: merged(direct.map((r) => r.paced)).latencies },
    split: { perSecond: merged(split.map((r) => r.fast)).perSecond, latencies: merged(split.map((r) => r.paced)).latencies },
  };
}

async function main(): Promise<void> {
  const figures = [await brokerFigures('RabbitMQ', rabbitSetup), await brokerFigures('Kafka', kafkaSetup), await brokerFigures('SQS', sqsSetup)];
  const ms = (value: number) => `${fixed(value, 2)} ms`;
  console.log(`Queue splitting: ${ROUNDS} rounds per broker after a warm-up, direct and split alternated; the split sends every other message to one session`);
  console.log(`msg/s: as fast as the broker confirms (${WINDOW} publishes in flight); latency: paced publishes (${JSON.stringify(PACED_RATE)} a second)\n`);
  console.log(
    table(
      ['broker', 'messages/round', 'direct msg/s', 'split msg/s', 'split / direct', 'direct p50 / p99', 'split p50 / p99', 'added p50 / p99'],
      figures.map(({ broker, messages, direct, split }) => [
        broker,
        String(messages),
        count(direct.perSecond),
        count(split.perSecond),
        percent(split.perSecond / direct.perSecond),
        `${ms(percentile(direct.latencies, 50))} / ${ms(percentile(direct.latencies, 99))}`,
        `${ms(percentile(split.latencies, 50))} / ${ms(percentile(split.latencies, 99))}`,
        `${signedMs(percentile(split.latencies, 50) - percentile(direct.latencies, 50))} / ${signedMs(percentile(split.latencies, 99) - percentile(direct.latencies, 99))}`,
      ]),
    ),
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
