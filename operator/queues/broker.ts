/**
 * What the splitter needs of a broker, the same for RabbitMQ, Kafka and SQS (one adapter each):
 * queues (a Kafka topic is one here) made and removed, messages consumed with an
 * acknowledgement the splitter gives once the message is safe elsewhere, and published with the
 * broker's own confirmation. A message keeps what the broker carries besides its body and
 * headers (`properties`: content type, ids, a Kafka key), so a moved message is the same message;
 * a message without them (one of the caller's own) is published with its body and headers.
 */
import type { MessageHeaders } from './message-filter';

export interface QueueMessage {
  body: Buffer;
  /** As text, for the filters; the adapter keeps the originals in `properties`. */
  headers: MessageHeaders;
  /** The adapter's own, given back to it when the message is published again. */
  properties?: unknown;
}

export interface Delivery {
  message: QueueMessage;
  /** Done with it: the broker won't deliver it again. Only once the message is safe elsewhere. */
  ack(): Promise<void>;
  /** Not taken: the broker keeps it, to deliver again (to this consumer or another). */
  release(): Promise<void>;
}

export interface Consumer {
  /** Stops taking messages; those delivered and not acked go back to the broker. */
  stop(): Promise<void>;
}

export interface QueueBroker {
  /** Fails clearly when the queue doesn't exist (or the broker can't be reached, or refuses the credentials). */
  checkQueue(name: string): Promise<void>;
  /** Makes `name` (alike to `like`: the original's kind and settings) if it isn't there. */
  createQueue(name: string, like: string): Promise<void>;
  deleteQueue(name: string): Promise<void>;
  /** Messages waiting in `name` (not delivered to any consumer). */
  depth(name: string): Promise<number>;
  consume(name: string, handle: (delivery: Delivery) => void): Promise<Consumer>;
  /** Resolves once the broker has taken the message for good (publisher confirms, acks=all, SendMessage's answer). */
  publish(name: string, message: QueueMessage): Promise<void>;
  close(): Promise<void>;
}
