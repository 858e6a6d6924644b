/**
 * One split queue: the original queue consumed by the splitter (the workload's pods consume a
 * temporary queue of their own instead, and each session's local process one of its own), each
 * message routed by the sessions' filters (router.ts) and moved, acknowledged on the original
 * only once the broker has confirmed its copy. So no message is lost; one is delivered twice when
 * the splitter stops between the copy and the acknowledgement (the broker delivers the original
 * again), and when a session's queue is given back (below) after its process took a message
 * without acknowledging it.
 *
 * A session leaving gives its queue back: what its process didn't consume goes back to the
 * original queue, to be split again among those still there. Stopping gives the app's queue
 * back too, once the workload consumes the original again, and removes the temporaries.
 */
import type { Consumer, Delivery, QueueBroker, QueueMessage } from './broker';
import type { MessageFilter } from './message-filter';
import { SplitRouter } from './router';

export interface SplitQueueNames {
  /** The queue the workload's pods consume while the split runs. */
  app: string;
  /** The queue a session's local process consumes. */
  session(id: string): string;
}

/**
 * Temporary queue names: the original's, and who they are for; unique to this split. A `.fifo`
 * suffix stays at the end: an SQS FIFO queue's name must end in it (and may have no other dot).
 */
export function splitQueueNames(original: string, split: string): SplitQueueNames {
  const suffix = original.endsWith('.fifo') ? '.fifo' : '';
  const base = original.slice(0, original.length - suffix.length);
  return { app: `${base}-mirrord-${split}-app${suffix}`, session: (id) => `${base}-mirrord-${split}-${id}${suffix}` };
}

export interface SplitCounts {
  /** Messages moved from the original queue, by who they went to ('app' for the deployed app). */
  moved: Record<string, number>;
  /** Messages given back to the original queue (a session's, or the app's, at the end). */
  returned: number;
}

export class QueueSplitter {
  private readonly router = new SplitRouter();
  private consumer: Consumer | undefined;
  /** Moves in progress: each settles once its message is acknowledged (or released). */
  private readonly moving = new InFlight();
  readonly counts: SplitCounts = { moved: {}, returned: 0 };

  constructor(
    private readonly broker: QueueBroker,
    readonly original: string,
    readonly names: SplitQueueNames,
  ) {}

  /** Checks the original queue, makes the app's, and starts moving messages. */
  async start(): Promise<void> {
    await this.broker.checkQueue(this.original);
    await this.broker.createQueue(this.names.app, this.original);
    this.consumer = await this.broker.consume(this.original, (delivery) => this.move(delivery));
  }

  /** A session's queue, made; from now on the messages its filter matches go there. Its name, for the session's process. */
  async join(session: string, filter: MessageFilter): Promise<string> {
    const queue = this.names.session(session);
    await this.broker.createQueue(queue, this.original);
    this.router.join(session, filter);
    return queue;
  }

  /** The session's messages stop; what its queue still holds goes back to the original queue, and the queue is removed. */
  async leave(session: string): Promise<void> {
    this.router.leave(session);
    await this.moving.settled();
    await this.giveBack(this.names.session(session));
  }

  /**
   * Stops moving messages (they wait in the original queue), for the workload to consume the
   * original again; then `finish` gives the app's queue back.
   */
  async pause(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = undefined;
    await this.moving.settled();
  }

  /** After pause(), once the workload consumes the original queue: every temporary's messages back in it, the temporaries removed. */
  async finish(): Promise<void> {
    for (const session of this.router.ids) {
      this.router.leave(session);
      await this.giveBack(this.names.session(session));
    }
    await this.giveBack(this.names.app);
  }

  private move(delivery: Delivery): void {
    const session = this.router.route(delivery.message.headers);
    const to = session === undefined ? this.names.app : this.names.session(session);
    this.moving.add(
      handOn(delivery, (message) => this.broker.publish(to, message)).then((moved) => {
        const who = session ?? 'app';
        if (moved) this.counts.moved[who] = (this.counts.moved[who] ?? 0) + 1;
      }),
    );
  }

  /** Moves what `queue` holds back to the original queue, then removes it. */
  private async giveBack(queue: string): Promise<void> {
    const returned = await drain(this.broker, queue, (message) => this.broker.publish(this.original, message));
    this.counts.returned += returned;
    await this.broker.deleteQueue(queue);
  }
}

/**
 * Consumes `queue` until it is empty, handing each message to `keep` and acknowledging it once
 * kept; the number of messages kept.
 */
export async function drain(broker: QueueBroker, queue: string, keep: (message: QueueMessage) => Promise<void>): Promise<number> {
  let kept = 0;
  const pending = new InFlight();
  const consumer = await broker.consume(queue, (delivery) => pending.add(handOn(delivery, keep).then((moved) => void (kept += Number(moved)))));
  try {
    // Empty: nothing waiting, nothing in flight, twice in a row (a delivery may be on its way).
    let quiet = 0;
    while (quiet < 2) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await pending.settled();
      quiet = (await broker.depth(queue)) === 0 && pending.size === 0 ? quiet + 1 : 0;
    }
  } finally {
    await consumer.stop();
  }
  return kept;
}

/**
 * Hands a delivered message on with `copy`, acknowledging it once the copy is confirmed, and
 * releasing it (the broker keeps it) when the copy fails: whether it moved.
 */
function handOn(delivery: Delivery, copy: (message: QueueMessage) => Promise<void>): Promise<boolean> {
  return copy(delivery.message)
    .then(
      async () => (await delivery.ack(), true),
      async () => (await delivery.release(), false),
    )
    .catch(() => false);
}

/** Work in progress that must be done before going on (moves before a queue is given back). */
class InFlight {
  private readonly running = new Set<Promise<void>>();

  add(work: Promise<void>): void {
    const tracked: Promise<void> = work.catch(() => undefined).finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  get size(): number {
    return this.running.size;
  }

  /** Once all of it is done, including what was added meanwhile. */
  async settled(): Promise<void> {
    while (this.running.size) await Promise.all(this.running);
  }
}
