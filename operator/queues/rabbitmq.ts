/**
 * RabbitMQ (AMQP 0-9-1, amqplib) for the splitter. Publishing waits for the broker's confirm,
 * and is mandatory: a message no queue takes (the queue went away) comes back and fails its
 * publish instead of being confirmed as if delivered. A consumer has its own channel, a bounded
 * prefetch, and acknowledges each message by itself; stopping closes the channel, which gives the
 * broker back whatever was delivered and not acknowledged.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type MessageProperties, type Options } from 'amqplib';
import type { Consumer, Delivery, QueueBroker, QueueMessage } from './broker';
import { BrokerError, failureReason } from './broker-error';
import type { MessageHeaders } from './message-filter';

/** Messages a consumer may hold unacknowledged: enough to keep the splitter's publishes pipelined. */
const PREFETCH = 256;
const CONNECT_TIMEOUT_MS = 10_000;

/** A publish waiting for its confirm, and whether the broker returned it (no queue took it). */
interface InFlight {
  queue: string;
  body: Buffer;
  returned: boolean;
}

export class RabbitBroker implements QueueBroker {
  private readonly inFlight: InFlight[] = [];

  private constructor(
    private readonly connection: ChannelModel,
    private readonly publisher: ConfirmChannel,
    private readonly where: string,
  ) {
    // Returns come before the confirm of the same message: marked here, failed at the confirm.
    publisher.on('return', (message: ConsumeMessage) => {
      const publish = this.inFlight.find((p) => !p.returned && p.queue === message.fields.routingKey && p.body.equals(message.content));
      if (publish) publish.returned = true;
    });
  }

  /** Connects to `url` (amqp://user:password@host:port/vhost); a clear error when the broker can't be reached or refuses. */
  static async connect(url: string): Promise<RabbitBroker> {
    const where = redacted(url);
    let connection: ChannelModel;
    try {
      // noDelay: amqplib leaves Nagle on, and a move is two small writes (a publish, an ack) that
      // would wait for the broker's delayed ACK: tens of milliseconds a message.
      connection = await amqp.connect(url, { timeout: CONNECT_TIMEOUT_MS, noDelay: true });
    } catch (error) {
      throw new BrokerError(`RabbitMQ at ${where}: ${reason(error)}`);
    }
    connection.on('error', () => undefined);
    return new RabbitBroker(connection, await connection.createConfirmChannel(), where);
  }

  async checkQueue(name: string): Promise<void> {
    await this.depth(name);
  }

  async createQueue(name: string): Promise<void> {
    await this.onChannel((channel) => channel.assertQueue(name, { durable: true }));
  }

  async deleteQueue(name: string): Promise<void> {
    await this.onChannel((channel) => channel.deleteQueue(name));
  }

  async depth(name: string): Promise<number> {
    return (await this.onChannel((channel) => channel.checkQueue(name), name)).messageCount;
  }

  async consume(name: string, handle: (delivery: Delivery) => void): Promise<Consumer> {
    const channel = await this.connection.createChannel();
    channel.on('error', () => undefined);
    await channel.prefetch(PREFETCH);
    const { consumerTag } = await channel.consume(name, (message) => {
      if (!message) return; // the broker cancelled the consumer (the queue was deleted)
      handle({
        message: { body: message.content, headers: textHeaders(message.properties.headers), properties: message.properties },
        ack: async () => channel.ack(message),
        release: async () => channel.nack(message, false, true),
      });
    });
    return {
      stop: async () => {
        await channel.cancel(consumerTag).catch(() => undefined);
        await channel.close().catch(() => undefined);
      },
    };
  }

  publish(name: string, message: QueueMessage): Promise<void> {
    const publish: InFlight = { queue: name, body: message.body, returned: false };
    this.inFlight.push(publish);
    return new Promise<void>((resolve, reject) => {
      const options = { ...republished(message.properties as MessageProperties | undefined, message.headers), mandatory: true };
      this.publisher.sendToQueue(name, message.body, options, (error) => {
        this.inFlight.splice(this.inFlight.indexOf(publish), 1);
        if (error) reject(new BrokerError(`RabbitMQ at ${this.where} refused a message for ${name}`));
        else if (publish.returned) reject(new BrokerError(`RabbitMQ at ${this.where}: no queue ${name} took a message`));
        else resolve();
      });
    });
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }

  /**
   * `use` on a channel of its own: a failed queue operation closes its channel (AMQP's way), so
   * the publisher's is never risked. A queue that isn't there is named as such.
   */
  private async onChannel<T>(use: (channel: Channel) => Promise<T>, queue?: string): Promise<T> {
    const channel = await this.connection.createChannel();
    channel.on('error', () => undefined);
    try {
      return await use(channel);
    } catch (error) {
      const missing = (error as { code?: number }).code === 404;
      throw new BrokerError(missing && queue ? `RabbitMQ at ${this.where} has no queue ${queue}` : `RabbitMQ at ${this.where}: ${reason(error)}`);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }
}

/** The message's properties for publishing it again: all but the user id, which must be the publisher's own; a new message's, its headers. */
function republished(properties: MessageProperties | undefined, headers: MessageHeaders): Options.Publish {
  if (!properties) return { persistent: true, headers };
  const { userId: _userId, deliveryMode, ...rest } = properties;
  return Object.fromEntries(Object.entries({ ...rest, deliveryMode: deliveryMode ?? 2 }).filter(([, value]) => value !== undefined));
}

/** AMQP header values (strings, numbers, booleans, byte strings, tables) as the text the filters match. */
function textHeaders(headers: Record<string, unknown> | undefined): MessageHeaders {
  return Object.fromEntries(
    Object.entries(headers ?? {}).map(([name, value]) => [
      name,
      typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : typeof value === 'object' ? JSON.stringify(value) : String(value),
    ]),
  );
}

/** The URL without its password. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = parsed.password ? '***' : '';
    return parsed.toString();
  } catch {
    return '(a URL that does not parse)';
  }
}

function reason(error: unknown): string {
  const text = (error as Error).message ?? String(error);
  return failureReason(text, /ACCESS[-_]REFUSED|403/.test(text));
}
