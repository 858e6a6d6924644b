/**
 * Amazon SQS (@aws-sdk/client-sqs) for the splitter. A queue is named by its name; its URL is
 * looked up (GetQueueUrl) and kept. SQS holds no connection a consumer's messages depend on: a
 * received message is hidden from other consumers for the queue's visibility timeout and comes
 * back by itself after it, unless it is deleted (ack) or made visible again at once (release). So
 * messages a consumer took and never settled (it died) are not lost, but wait out that timeout;
 * depth counts them, as it counts those waiting, so that drain() waits for them too.
 *
 * A consumer long-polls ReceiveMessage in a loop, with a bounded number of messages unsettled.
 * Publishing is SendMessage, done once SQS answered. Headers are the message attributes as text;
 * the attributes themselves, and a FIFO message's group, go with the message when it is
 * published again.
 */
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
  type MessageAttributeValue,
  type QueueAttributeName,
  type SendMessageCommandInput,
} from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import type { Consumer, Delivery, QueueBroker, QueueMessage } from './broker';
import { BrokerError, failureReason } from './broker-error';
import type { MessageHeaders } from './message-filter';

/**
 * How long one ReceiveMessage waits for messages. Short for a long poll: stopping a consumer waits
 * for its poll to end (aborting it could leave messages SQS handed out hidden for the visibility
 * timeout), and drain() takes a poll that found nothing as the sign a queue is empty.
 */
const WAIT_SECONDS = 1;
/** Messages a consumer may hold unsettled: enough to keep the splitter's publishes pipelined, few enough to be moved well within a visibility timeout. */
const MAX_UNSETTLED = 100;
const CONNECT_TIMEOUT_MS = 10_000;
/** Longer than a long poll. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The original queue's settings a temporary queue takes: its kind (FIFO, and how it deduplicates)
 * and how its consumers see messages (visibility timeout, long-poll wait, size, retention,
 * encryption). Not its delay (the messages moved have waited already), its dead-letter queue (a
 * message's receive count starts again in each queue anyway), its policy or tags.
 */
const COPIED_ATTRIBUTES: QueueAttributeName[] = [
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
  'VisibilityTimeout',
  'ReceiveMessageWaitTimeSeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'SqsManagedSseEnabled',
];

export interface SqsOptions {
  /** The SQS API's address (ElasticMQ's, a VPC endpoint's); the region's own when left out. */
  endpoint?: string;
  region: string;
  /** Left out: the SDK's default chain (the environment, a pod's web identity, ...). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** What a message carries besides its body, kept by the splitter in `QueueMessage.properties`. */
export interface SqsProperties {
  /** Every message attribute, as received (binary ones too). */
  messageAttributes?: Record<string, MessageAttributeValue>;
  /** A FIFO queue's: the message's group, the order SQS keeps. */
  messageGroupId?: string;
  /** A FIFO queue's: the id the producer sent the message with (a copy is sent with another: see publish). */
  messageDeduplicationId?: string;
  /** Its id in the queue it was received from. */
  messageId?: string;
  /** An X-Ray trace header, kept as a system attribute. */
  traceHeader?: string;
}

/** A consumer's loop, as depth() reads it. */
interface Poll {
  /** Its latest ReceiveMessage found nothing, and nothing was released since. */
  foundEmpty: boolean;
}

export class SqsBroker implements QueueBroker {
  private readonly client: SQSClient;
  private readonly where: string;
  private readonly urls = new Map<string, string>();
  /** Running consumers by queue. */
  private readonly polls = new Map<string, Set<Poll>>();
  private readonly consumers = new Set<Consumer>();
  /** A FIFO queue's publishes by message group, one after the other (below). */
  private readonly sending = new Map<string, Promise<unknown>>();

  constructor(options: SqsOptions) {
    this.where = options.endpoint ?? `region ${options.region}`;
    this.client = new SQSClient({
      region: options.region,
      endpoint: options.endpoint,
      credentials: options.credentials,
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
    });
  }

  async checkQueue(name: string): Promise<void> {
    await this.queueUrl(name);
  }

  async createQueue(name: string, like: string): Promise<void> {
    const { Attributes: original = {} } = await this.call(
      async () => this.client.send(new GetQueueAttributesCommand({ QueueUrl: await this.queueUrl(like), AttributeNames: ['All'] })),
      like,
    );
    const attributes = Object.fromEntries(COPIED_ATTRIBUTES.filter((name) => original[name] !== undefined).map((name) => [name, original[name]!]));
    if (attributes.FifoQueue === 'true' && !name.endsWith('.fifo'))
      throw new BrokerError(`SQS at ${this.where}: ${like} is a FIFO queue, and ${name} doesn't end in .fifo`);
    // Made again with the same settings it is left as it is; an older one with other settings too (QueueAlreadyExists).
    const made = await this.call(
      () =>
        this.client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes })).catch((error) => {
          if (errorName(error) === 'QueueAlreadyExists' || errorName(error) === 'QueueNameExists') return undefined;
          throw error;
        }),
      name,
    );
    if (made?.QueueUrl) this.urls.set(name, made.QueueUrl);
  }

  async deleteQueue(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteQueueCommand({ QueueUrl: await this.queueUrl(name) }));
    } catch (error) {
      if (!missing(error)) throw this.failure(error, name);
    } finally {
      this.urls.delete(name);
    }
  }

  /**
   * Messages in `name` not yet deleted: waiting, delayed, and received but not settled (they come
   * back when their visibility timeout ends). SQS's counts are approximate (a message just made
   * visible again may be missing for a moment); so while a consumer here hasn't yet found the
   * queue empty, it is at least 1.
   */
  async depth(name: string): Promise<number> {
    const { Attributes = {} } = await this.call(
      async () =>
        this.client.send(
          new GetQueueAttributesCommand({
            QueueUrl: await this.queueUrl(name),
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
          }),
        ),
      name,
    );
    const counted =
      Number(Attributes.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0);
    const unsure = [...(this.polls.get(name) ?? [])].some((poll) => !poll.foundEmpty);
    return Math.max(counted, unsure ? 1 : 0);
  }

  /**
   * Long-polls `name` until stopped. Stopping waits for the poll in progress to end, and what it
   * brought is made visible again at once. Deliveries handed out before still settle after it
   * (the splitter's moves in progress delete their originals); one never settled comes back
   * after its visibility timeout.
   */
  async consume(name: string, handle: (delivery: Delivery) => void): Promise<Consumer> {
    const queueUrl = await this.queueUrl(name);
    const poll: Poll = { foundEmpty: false };
    const polls = this.polls.get(name) ?? new Set<Poll>();
    this.polls.set(name, polls.add(poll));
    let stopped = false;
    let unsettled = 0;
    let wake: (() => void) | undefined;
    const settled = () => {
      unsettled--;
      wake?.();
    };
    const release = (message: Message) =>
      this.client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }));
    const deliver = (message: Message) => {
      unsettled++;
      let done = false;
      const settle = async (how: () => Promise<unknown>) => {
        if (done) return;
        done = true;
        try {
          await how();
        } catch (error) {
          throw this.failure(error, name);
        } finally {
          settled();
        }
      };
      const delivery: Delivery = {
        message: received(message),
        ack: () => settle(() => this.client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }))),
        release: () =>
          settle(() => {
            poll.foundEmpty = false;
            return release(message);
          }),
      };
      try {
        handle(delivery);
      } catch {
        void delivery.release().catch(() => undefined);
      }
    };

    const loop = (async () => {
      let failures = 0;
      while (!stopped) {
        if (unsettled >= MAX_UNSETTLED) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        let messages: Message[];
        try {
          ({ Messages: messages = [] } = await this.client.send(
            new ReceiveMessageCommand({
              QueueUrl: queueUrl,
              MaxNumberOfMessages: Math.min(10, MAX_UNSETTLED - unsettled),
              WaitTimeSeconds: WAIT_SECONDS,
              MessageAttributeNames: ['All'],
              MessageSystemAttributeNames: ['MessageGroupId', 'MessageDeduplicationId', 'AWSTraceHeader'],
            }),
          ));
          failures = 0;
        } catch (error) {
          if (missing(error)) break; // the queue was deleted: nothing more to take (as RabbitMQ cancels its consumers)
          // Throttled, or the network: again, a little later each time.
          await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** failures++)));
          continue;
        }
        if (stopped) {
          await Promise.all(messages.map((message) => release(message).catch(() => undefined)));
          break;
        }
        poll.foundEmpty = messages.length === 0;
        for (const message of messages) deliver(message);
      }
    })();

    const consumer: Consumer = {
      stop: async () => {
        stopped = true;
        wake?.();
        await loop;
        polls.delete(poll);
        this.consumers.delete(consumer);
      },
    };
    this.consumers.add(consumer);
    return consumer;
  }

  /**
   * SendMessage with the message's attributes; done when SQS answered. To a FIFO queue, with the
   * message's group, each group's messages sent one after the other (in the order they came, as
   * the splitter moves them), and as deduplication id the message's id in the queue it came from:
   * not the producer's, which SQS has seen in the original queue and would drop a message given
   * back with for five minutes; a message copied twice (the splitter stopped between the copy and
   * the delete) still has the same one, so the second copy is dropped.
   */
  async publish(name: string, message: QueueMessage): Promise<void> {
    const queueUrl = await this.queueUrl(name);
    const properties = (message.properties ?? {}) as SqsProperties;
    const input: SendMessageCommandInput = {
      QueueUrl: queueUrl,
      MessageBody: message.body.toString('utf8'),
      MessageAttributes: properties.messageAttributes ?? stringAttributes(message.headers),
      ...(properties.traceHeader ? { MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: properties.traceHeader } } } : {}),
    };
    if (Object.keys(input.MessageAttributes!).length === 0) delete input.MessageAttributes;
    if (!name.endsWith('.fifo')) {
      await this.call(() => this.client.send(new SendMessageCommand(input)), name);
      return;
    }
    // A message that came from elsewhere than a FIFO queue has no group: they all share one.
    input.MessageGroupId = properties.messageGroupId ?? 'mirrord';
    input.MessageDeduplicationId = properties.messageId ?? randomUUID();
    const group = `${name}\n${input.MessageGroupId}`;
    const sent = (this.sending.get(group) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.call(() => this.client.send(new SendMessageCommand(input)), name));
    this.sending.set(group, sent);
    try {
      await sent;
    } finally {
      if (this.sending.get(group) === sent) this.sending.delete(group);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    this.client.destroy();
  }

  private async queueUrl(name: string): Promise<string> {
    const known = this.urls.get(name);
    if (known) return known;
    const { QueueUrl } = await this.call(() => this.client.send(new GetQueueUrlCommand({ QueueName: name })), name);
    if (!QueueUrl) throw new BrokerError(`SQS at ${this.where} has no queue ${name}`);
    this.urls.set(name, QueueUrl);
    return QueueUrl;
  }

  /** `request`, its failure said as a BrokerError naming `queue` (a URL found stale is looked up again next time). */
  private async call<T>(request: () => Promise<T>, queue: string): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (error instanceof BrokerError) throw error;
      if (missing(error)) this.urls.delete(queue);
      throw this.failure(error, queue);
    }
  }

  private failure(error: unknown, queue: string): BrokerError {
    if (error instanceof BrokerError) return error;
    if (missing(error)) return new BrokerError(`SQS at ${this.where} has no queue ${queue}`);
    return new BrokerError(`SQS at ${this.where}: ${reason(error, queue)}`);
  }
}

/** A received message as the splitter sees it: the attributes as text headers, everything kept to publish it again. */
function received(message: Message): QueueMessage {
  const properties: SqsProperties = {
    messageAttributes: message.MessageAttributes,
    messageGroupId: message.Attributes?.MessageGroupId,
    messageDeduplicationId: message.Attributes?.MessageDeduplicationId,
    messageId: message.MessageId,
    traceHeader: message.Attributes?.AWSTraceHeader,
  };
  return { body: Buffer.from(message.Body ?? '', 'utf8'), headers: textHeaders(message.MessageAttributes), properties };
}

/**
 * Message attributes as the text the filters match: String and Number ones (custom types such as
 * `Number.int` too) as they are, Binary ones in base64.
 */
function textHeaders(attributes: Record<string, MessageAttributeValue> | undefined): MessageHeaders {
  const headers: MessageHeaders = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value.StringValue !== undefined) headers[name] = value.StringValue;
    else if (value.BinaryValue !== undefined) headers[name] = Buffer.from(value.BinaryValue).toString('base64');
  }
  return headers;
}

/** Headers as String attributes, for a message that has no attributes of its own. */
function stringAttributes(headers: MessageHeaders): Record<string, MessageAttributeValue> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]));
}

function errorName(error: unknown): string | undefined {
  return (error as { name?: string }).name;
}

function missing(error: unknown): boolean {
  const name = errorName(error);
  return name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue';
}

function reason(error: unknown, queue: string): string {
  const name = errorName(error);
  // A network error's code, or only its message: the SDK wraps an error it doesn't take for an Error (one of another realm) in one with its text.
  const text = `${(error as { code?: string }).code ?? ''} ${(error as Error).message ?? String(error)}`;
  if (name === 'AccessDenied' || name === 'AccessDeniedException') return `access to ${queue} was denied`;
  const reason = failureReason(text, name !== undefined && CREDENTIALS_REFUSED.includes(name));
  return reason === text ? ((error as Error).message ?? String(error)) : reason;
}

/** What SQS answers to credentials it doesn't take (unknown key, wrong secret, expired session). */
const CREDENTIALS_REFUSED = [
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'ExpiredToken',
];
