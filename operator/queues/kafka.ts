/**
 * Apache Kafka (kafkajs) for the splitter; a "queue" is a topic. Kafka has no per-message
 * acknowledgement: a consumer group commits an offset per partition, "everything before this is
 * done". So a consumer here commits a partition's offset only past the run of messages acked so
 * far from its start (acks come out of order: a message whose copy took longer holds the offset
 * back), and a released message is fetched again by seeking back to it. Which group consumes a
 * topic is fixed per topic (`group`): the splitter takes over the original topic where that
 * group stopped, and gives a temporary topic back from where the group that read it (the
 * session's process, the workload) stopped. Publishing waits for every in-sync replica (acks=-1).
 */
import {
  ConfigResourceTypes,
  ConfigSource,
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type Consumer as KafkaJsConsumer,
  type IHeaders,
  type KafkaMessage,
  type LogEntry,
  type Producer,
} from 'kafkajs';
import type { Logger } from '../../common/log';
import type { Consumer, Delivery, QueueBroker, QueueMessage } from './broker';
import { BrokerError, failureReason } from './broker-error';
import type { MessageHeaders } from './message-filter';

/** Messages a consumer may hold unacknowledged: enough to keep the splitter's publishes pipelined. */
const MAX_UNACKED = 256;
const CONNECT_TIMEOUT_MS = 10_000;
/** A released message is fetched again after this long, so a copy that keeps failing doesn't spin. */
const REFETCH_DELAY_MS = 200;
/** How long stop() waits for the acks of messages already handed out, so their offsets are committed. */
const STOP_GRACE_MS = 2_000;
/**
 * How long a fetch waits on the broker for messages: a consumer stops only once its fetch has
 * returned, and the splitter stops one per topic it gives back.
 */
const FETCH_WAIT_MS = 250;

/** What a message carries besides its body and text headers: given back to Kafka when it is published again. */
interface KafkaProperties {
  key: Buffer | null;
  headers: IHeaders;
  /** Milliseconds since the epoch, as Kafka gives it (CreateTime, or LogAppendTime on topics that use it). */
  timestamp: string;
  /** The partition it was read from: the copy goes to the same one, so per-key order and custom partitioning survive. */
  partition: number;
  /** A tombstone (a null value, for compacted topics) stays one. */
  tombstone: boolean;
}

export interface KafkaBrokerOptions {
  /**
   * The consumer group that consumes `topic`: the splitter's group on the original topic (the
   * workload's own, for the split to take over where it stopped), and the group a temporary
   * topic's reader uses (what it committed is what it took). Default: `mirrord-TOPIC`.
   */
  group?: (topic: string) => string;
  /** Where kafkajs's own warnings and errors go; none by default. */
  log?: Logger;
}

export class KafkaBroker implements QueueBroker {
  /**
   * A producer per topic: kafkajs keeps asking the broker about every topic a producer has sent
   * to, and fails once one of them is deleted, so a temporary topic's producer goes with it.
   */
  private readonly producers = new Map<string, Promise<TopicProducer>>();
  private readonly consumers = new Set<KafkaConsumer>();
  readonly group: (topic: string) => string;

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly where: string,
    options: KafkaBrokerOptions,
  ) {
    this.group = options.group ?? ((topic) => `mirrord-${topic}`);
  }

  /**
   * Connects to `url`: bootstrap servers (`host:port[,host:port]`), or
   * `kafka://[user:password@]host:port[,host:port]` (with a user, SASL/PLAIN). A clear error when
   * the broker can't be reached or refuses the credentials.
   */
  static async connect(url: string, options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
    const { brokers, sasl, where } = parseUrl(url);
    const kafka = new Kafka({
      clientId: 'mirrord-queue-splitter',
      brokers,
      sasl: sasl && { mechanism: 'plain', ...sasl },
      connectionTimeout: CONNECT_TIMEOUT_MS,
      // A few quick retries: a broker that isn't there is said so in seconds, not half a minute.
      retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 5 },
      logLevel: options.log ? logLevel.WARN : logLevel.NOTHING,
      logCreator: () => (entry: LogEntry) => {
        const { message, ...fields } = entry.log;
        (entry.level === logLevel.ERROR ? options.log?.error : options.log?.warn)?.(`kafkajs: ${message}`, { namespace: entry.namespace, ...fields });
      },
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      // connect() alone may not have talked to a broker yet: asking for the topics does.
      await admin.listTopics();
    } catch (error) {
      await admin.disconnect().catch(() => undefined);
      throw new BrokerError(`Kafka at ${where}: ${reason(error)}`);
    }
    return new KafkaBroker(kafka, admin, where, options);
  }

  async checkQueue(name: string): Promise<void> {
    await this.metadata(name);
  }

  /**
   * The topic, with as many partitions (and replicas) as `like`'s, for a copy to go to the
   * partition its original was in, and `like`'s own settings (retention, maximum message size,
   * cleanup policy...): a copy keeps its timestamp, so a temporary with a shorter retention than
   * the original's could delete old messages, and one with a smaller maximum could refuse them.
   */
  async createQueue(name: string, like: string): Promise<void> {
    const original = await this.metadata(like);
    const { resources } = await this.call(() =>
      this.admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: like }], includeSynonyms: false }),
    );
    const settings = (resources[0]?.configEntries ?? [])
      .filter((entry) => entry.configSource === ConfigSource.TOPIC_CONFIG && !entry.isDefault && entry.configValue !== null)
      .map((entry) => ({ name: entry.configName, value: entry.configValue }));
    await this.call(() =>
      this.admin.createTopics({
        topics: [
          {
            topic: name,
            numPartitions: original.partitions.length,
            replicationFactor: original.partitions[0]?.replicas.length ?? -1,
            configEntries: settings,
          },
        ],
        waitForLeaders: true,
      }),
    );
  }

  async deleteQueue(name: string): Promise<void> {
    const producer = this.producers.get(name);
    this.producers.delete(name);
    await producer?.then((p) => p.close()).catch(() => undefined);
    // kafkajs retries a delete of a topic that isn't there for a while: asked first, as RabbitMQ's delete of a missing queue is no error.
    if (!(await this.call(() => this.admin.listTopics())).includes(name)) return;
    await this.call(() => this.admin.deleteTopics({ topics: [name] }));
  }

  /**
   * What the topic's group hasn't committed yet (its lag): what a consumer of that group would be
   * given. So drain() is done once its consumer (of that group) has committed everything.
   */
  async depth(name: string): Promise<number> {
    await this.metadata(name);
    const [ends, groups] = await Promise.all([
      this.call(() => this.admin.fetchTopicOffsets(name)),
      this.call(() => this.admin.fetchOffsets({ groupId: this.group(name), topics: [name] })),
    ]);
    const committed = new Map((groups.find((g) => g.topic === name)?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    let lag = 0n;
    for (const { partition, high, low } of ends) {
      const at = committed.get(partition) ?? -1n;
      // No commit (-1), or one below what retention kept: the group starts from the earliest.
      const from = at < BigInt(low) ? BigInt(low) : at;
      if (BigInt(high) > from) lag += BigInt(high) - from;
    }
    return Number(lag);
  }

  async consume(name: string, handle: (delivery: Delivery) => void): Promise<Consumer> {
    const consumer = new KafkaConsumer(
      this.kafka.consumer({ groupId: this.group(name), allowAutoTopicCreation: false, maxWaitTimeInMs: FETCH_WAIT_MS }),
      name,
      handle,
    );
    try {
      await consumer.start();
    } catch (error) {
      await consumer.stop().catch(() => undefined);
      throw new BrokerError(`Kafka at ${this.where}: ${reason(error)}`);
    }
    this.consumers.add(consumer);
    return {
      stop: async () => {
        this.consumers.delete(consumer);
        await consumer.stop();
      },
    };
  }

  async publish(name: string, message: QueueMessage): Promise<void> {
    let producer = this.producers.get(name);
    if (!producer) {
      producer = TopicProducer.connect(this.kafka, name);
      this.producers.set(name, producer);
      producer.catch(() => this.producers.get(name) === producer && this.producers.delete(name));
    }
    try {
      await (await producer).send(message);
    } catch (error) {
      throw new BrokerError(`Kafka at ${this.where} refused a message for ${name}: ${reason(error)}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((consumer) => consumer.stop().catch(() => undefined)));
    const producers = [...this.producers.values()];
    this.producers.clear();
    await Promise.all(producers.map((producer) => producer.then((p) => p.close()).catch(() => undefined)));
    await this.admin.disconnect().catch(() => undefined);
  }

  /** The topic's metadata; a topic that isn't there is named as such (kafkajs's own metadata call doesn't retry for it). */
  private async metadata(name: string) {
    try {
      const { topics } = await this.admin.fetchTopicMetadata({ topics: [name] });
      const topic = topics.find((t) => t.name === name);
      if (topic) return topic;
    } catch (error) {
      if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw new BrokerError(`Kafka at ${this.where}: ${reason(error)}`);
    }
    throw new BrokerError(`Kafka at ${this.where} has no topic ${name}`);
  }

  private async call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw new BrokerError(`Kafka at ${this.where}: ${reason(error)}`);
    }
  }
}

/**
 * One topic's producer. Publishes made together (the splitter moves a fetched batch at once) go
 * as one request; each resolves once the broker has the whole request with acks=-1.
 */
class TopicProducer {
  private queued: { message: QueueMessage; resolve: () => void; reject: (error: unknown) => void }[] = [];

  private constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  static async connect(kafka: Kafka, topic: string): Promise<TopicProducer> {
    // A copy goes to its original's partition where the topic has it; else Kafka's default (the key's hash).
    const producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: () => {
        const fallback = Partitioners.DefaultPartitioner();
        return (args) => {
          const wanted = args.message.partition;
          return wanted !== undefined && wanted < args.partitionMetadata.length
            ? wanted
            : fallback({ ...args, message: { ...args.message, partition: undefined } });
        };
      },
    });
    await producer.connect();
    return new TopicProducer(producer, topic);
  }

  send(message: QueueMessage): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!this.queued.length) setImmediate(() => void this.flush());
      this.queued.push({ message, resolve, reject });
    });
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }

  private async flush(): Promise<void> {
    const batch = this.queued;
    this.queued = [];
    try {
      await this.producer.send({ topic: this.topic, acks: -1, messages: batch.map(({ message }) => record(message)) });
      for (const { resolve } of batch) resolve();
    } catch (error) {
      for (const { reject } of batch) reject(error);
    }
  }
}

/** Per partition: what was handed out and isn't acked yet, in offset order, and how far the partition was read. */
class PartitionState {
  /** Handed out and not acked ('out'), or released, to be handed out again; by offset, ascending (insertion order). */
  readonly open = new Map<bigint, 'out' | 'released'>();
  /** One past the highest offset handed out. */
  next: bigint | undefined;
  committed: bigint | undefined;
  refetching = false;
  /** The partition went to another member of the group: nothing of it is committed from here any more. */
  revoked = false;

  /** What may be committed: the first offset not acked, or everything read. */
  safe(): bigint | undefined {
    for (const offset of this.open.keys()) return offset;
    return this.next;
  }
}

/** One topic consumed by a group of its own, committing only what is safe (the header comment). */
class KafkaConsumer {
  private readonly partitions = new Map<number, PartitionState>();
  private unacked = 0;
  private waiting: (() => void)[] = [];
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private committing: Promise<void> | undefined;
  private nextCommit: Promise<void> | undefined;

  constructor(
    private readonly consumer: KafkaJsConsumer,
    private readonly topic: string,
    private readonly handle: (delivery: Delivery) => void,
  ) {}

  async start(): Promise<void> {
    // After a rebalance, partitions no longer ours: their acks must not commit over the new owner's.
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = new Set(payload.memberAssignment[this.topic] ?? []);
      for (const [partition, state] of this.partitions)
        if (!assigned.has(partition)) {
          state.revoked = true;
          for (const status of state.open.values()) if (status === 'out') this.unacked--;
          this.partitions.delete(partition);
        }
      this.wake();
    });
    await this.consumer.connect();
    // A group that never committed starts from the earliest message: none is skipped.
    await this.consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await this.consumer.run({ autoCommit: false, eachMessage: ({ partition, message }) => this.take(partition, message) });
  }

  /** Stops fetching, waits a little for what was handed out to be acked, commits what is safe, and leaves the group. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      this.wake();
      try {
        this.consumer.pause([{ topic: this.topic }]);
      } catch {
        // not running (start failed)
      }
      const deadline = Date.now() + STOP_GRACE_MS;
      while (this.unacked > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      await this.commit();
      await this.consumer.disconnect().catch(() => undefined);
    })();
    return this.stopping;
  }

  private async take(partition: number, message: KafkaMessage): Promise<void> {
    while (this.unacked >= MAX_UNACKED && !this.stopped) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.stopped) return;
    let state = this.partitions.get(partition);
    if (!state) this.partitions.set(partition, (state = new PartitionState()));
    const offset = BigInt(message.offset);
    if (state.next !== undefined && offset < state.next) {
      // Fetched again after a seek back: only the released ones are handed out again.
      if (state.open.get(offset) !== 'released') return;
    } else {
      state.next = offset + 1n;
    }
    state.open.set(offset, 'out');
    this.unacked++;
    const settle = (): boolean => {
      if (state.revoked || state.open.get(offset) !== 'out') return false;
      this.unacked--;
      this.wake();
      return true;
    };
    this.handle({
      message: received(message, partition),
      ack: async () => {
        if (!settle()) return;
        state.open.delete(offset);
        await this.commit();
      },
      release: async () => {
        if (!settle()) return;
        state.open.set(offset, 'released');
        this.refetch(partition, state);
      },
    });
  }

  /** Reads the partition again from its first released message (once the delay has passed). */
  private refetch(partition: number, state: PartitionState): void {
    if (state.refetching) return;
    state.refetching = true;
    setTimeout(() => {
      state.refetching = false;
      if (this.stopped || state.revoked) return;
      const first = [...state.open].find(([, status]) => status === 'released');
      if (first) this.consumer.seek({ topic: this.topic, partition, offset: first[0].toString() });
    }, REFETCH_DELAY_MS);
  }

  /** Commits every partition's safe offset that moved; one commit at a time, the ones asked meanwhile made as one after it. */
  private commit(): Promise<void> {
    if (!this.committing) {
      this.committing = this.commitNow().finally(() => (this.committing = undefined));
      return this.committing;
    }
    this.nextCommit ??= this.committing.then(() => {
      this.nextCommit = undefined;
      return this.commit();
    });
    return this.nextCommit;
  }

  private async commitNow(): Promise<void> {
    const moved = [...this.partitions]
      .map(([partition, state]) => ({ partition, state, offset: state.safe() }))
      .filter(({ state, offset }) => offset !== undefined && (state.committed === undefined || offset > state.committed));
    if (!moved.length) return;
    try {
      await this.consumer.commitOffsets(moved.map(({ partition, offset }) => ({ topic: this.topic, partition, offset: String(offset) })));
      for (const { state, offset } of moved) if (state.committed === undefined || offset! > state.committed) state.committed = offset;
    } catch {
      // A rebalance, the coordinator moving: not committed now, the next ack (or stop) commits it.
    }
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}

function received(message: KafkaMessage, partition: number): QueueMessage {
  const properties: KafkaProperties = {
    key: message.key,
    headers: message.headers ?? {},
    timestamp: message.timestamp,
    partition,
    tombstone: message.value === null,
  };
  return { body: message.value ?? Buffer.alloc(0), headers: textHeaders(message.headers), properties };
}

/** The record to publish: a message read from Kafka keeps its key, headers, timestamp and partition; another gets its text headers. */
function record(message: QueueMessage) {
  const properties = message.properties as KafkaProperties | undefined;
  if (!properties) return { value: message.body, headers: { ...message.headers } };
  return {
    key: properties.key,
    value: properties.tombstone ? null : message.body,
    headers: properties.headers,
    timestamp: properties.timestamp,
    partition: properties.partition,
  };
}

/** Record headers (bytes; a name may repeat) as the text the filters match: UTF-8, the last of a repeated one (Kafka's lastHeader). */
function textHeaders(headers: IHeaders | undefined): MessageHeaders {
  const text: MessageHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) text[name] = Buffer.isBuffer(last) ? last.toString('utf8') : String(last);
  }
  return text;
}

/** The bootstrap servers, the SASL/PLAIN credentials if any, and how to name the broker in errors (no password). */
function parseUrl(url: string): { brokers: string[]; sasl?: { username: string; password: string }; where: string } {
  const withScheme = /^kafka:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@]+)\/?$/.exec(url);
  const servers = withScheme ? withScheme[3]! : url;
  const brokers = servers.split(',').map((server) => server.trim());
  if (!brokers.every((server) => /^[^\s:/,]+:\d+$|^\[[0-9a-fA-F:.]+\]:\d+$/.test(server)))
    throw new BrokerError(
      `Kafka: ${url.includes('@') ? '(a URL with credentials)' : url} is not host:port[,host:port] or kafka://[user:password@]host:port[,...]`,
    );
  if (!withScheme?.[1]) return { brokers, where: servers };
  const username = decodeURIComponent(withScheme[1]);
  return { brokers, sasl: { username, password: decodeURIComponent(withScheme[2] ?? '') }, where: `kafka://${withScheme[1]}:***@${servers}` };
}

function reason(error: unknown): string {
  const chain: string[] = [];
  for (
    let e = error as { message?: string; name?: string; originalError?: unknown; cause?: unknown } | undefined;
    e && chain.length < 5;
    e = (e.originalError ?? e.cause) as typeof e
  )
    chain.push(`${e.name ?? ''} ${e.message ?? String(e)}`);
  const text = chain.join(' / ');
  const reason = failureReason(text, /SASL|Authentication failed|invalid credentials/i.test(text));
  return reason === text ? ((error as Error).message ?? String(error)) : reason;
}
