/** Who receives a port's incoming traffic: a session, and what it subscribed. */
import type { Event, Subscription } from '../../protocol/messages';
import type { MuxStream } from '../../protocol/stream';
import type { RequestMatcher } from './filter';

export type IncomingMeta = Omit<Event<'incoming'>, 'stream'>;

/** A session, as incoming traffic sees it. */
export interface IncomingSink {
  readonly id: string;
  /** False while its client is silent past the grace (MIRRORD_UNRESPONSIVE_MS): its stolen traffic goes to the app. */
  readonly answering: boolean;
  /** A new stream announced to the client, or undefined when the session is gone. */
  openIncoming(meta: IncomingMeta): MuxStream | undefined;
  notice(level: 'info' | 'warn', message: string): void;
}

/** One session's subscription of a port, its HTTP filter compiled. */
export interface Subscriber extends Subscription {
  readonly sink: IncomingSink;
  readonly matches?: RequestMatcher;
}

/** Tells each of `sinks` `message` (a warning) once: `told` remembers the sessions that heard it. */
export function warnOnce(told: WeakSet<IncomingSink>, sinks: Iterable<IncomingSink>, message: string): void {
  for (const sink of sinks) {
    if (told.has(sink)) continue;
    told.add(sink);
    sink.notice('warn', message);
  }
}
