/**
 * A session that outlives its connection: when the port-forward (or the agent command) drops,
 * or the sidecar stops answering, a new connection to the same pod and a new session replace
 * the old one, and the ports the command listens on are subscribed again. The user's command
 * keeps running; what was in flight on the old connection (open connections, a file being read)
 * fails as a dropped network would fail it. Calls made meanwhile wait for the new session.
 * A session that was ended on purpose (by us, by `mirrord sessions kill`, by the sidecar
 * stopping because its pod goes away) is not re-established.
 */
import type { Client, IncomingConnection, Session, SessionEnd } from '../protocol/client';
import { CloseCode, RemoteError } from '../protocol/errors';
import type { HttpFilter, Params, RequestType } from '../protocol/messages';

/** Delays between reconnection attempts; the last one repeats until the deadline. */
const BACKOFF_MS = [0, 250, 500, 1000, 2000];
/** What a last attempt started just before the deadline may still take. */
const ATTEMPT_GRACE_MS = 5000;

export interface Connection {
  client: Client;
  close(): void;
}

export interface ReconnectOptions {
  /** Opens a new connection and session to the same pod. */
  connect: () => Promise<Connection>;
  /** How long to keep trying after a drop; 0 never reconnects. */
  timeoutMs: number;
  /** The connection dropped (`reason`), a reconnection starts; or a port could not be subscribed again. */
  warn(text: string): void;
  reconnected(client: Client, attempts: number): void;
}

/** Closes that mean "this session is over", not "its connection broke". */
const FINAL = new Set<number>([CloseCode.Normal, CloseCode.Shutdown, CloseCode.Killed, CloseCode.Version, CloseCode.Protocol]);

export class ReconnectingSession implements Session {
  private connection: Connection;
  /** Settles when no reconnection is under way (and rejects calls if the last one failed). */
  private ready: Promise<void> = Promise.resolve();
  private closing = false;
  private readonly subscriptions = new Map<number, { mode: 'steal' | 'mirror'; filter?: HttpFilter }>();
  private readonly incomingListeners: ((incoming: IncomingConnection) => void)[] = [];
  private readonly end: Promise<SessionEnd>;

  constructor(
    first: Connection,
    private readonly options: ReconnectOptions,
  ) {
    this.connection = first;
    this.end = this.watch();
  }

  get info(): Client['info'] {
    return this.connection.client.info;
  }

  get client(): Client {
    return this.connection.client;
  }

  async call<T extends RequestType>(method: T, params: Params<T>, attachment?: Buffer) {
    await this.ready;
    return this.connection.client.call(method, params, attachment);
  }

  onIncoming(listener: (incoming: IncomingConnection) => void): void {
    this.incomingListeners.push(listener);
    this.connection.client.onIncoming(listener);
  }

  async subscribe(port: number, mode: 'steal' | 'mirror', filter?: HttpFilter): Promise<void> {
    await this.ready;
    await this.connection.client.subscribe(port, mode, filter);
    this.subscriptions.set(port, { mode, filter });
  }

  async unsubscribe(port: number): Promise<void> {
    this.subscriptions.delete(port);
    await this.ready;
    await this.connection.client.unsubscribe(port);
  }

  async connect(protocol: 'tcp' | 'udp', host: string, port: number) {
    await this.ready;
    return this.connection.client.connect(protocol, host, port);
  }

  async resolve(host: string, family: 0 | 4 | 6 = 0) {
    await this.ready;
    return this.connection.client.resolve(host, family);
  }

  async env() {
    await this.ready;
    return this.connection.client.env();
  }

  async fetchFile(path: string, known?: string) {
    await this.ready;
    return this.connection.client.fetchFile(path, known);
  }

  close(): void {
    this.closing = true;
    this.connection.client.close();
  }

  /** Closes the connection under the session (after close(), once the session has ended). */
  connectionClose(): void {
    this.connection.close();
  }

  async closed(): Promise<string> {
    return (await this.end).reason;
  }

  ended(): Promise<SessionEnd> {
    return this.end;
  }

  /** Follows each connection to its end; resolves when the session is over for good. */
  private async watch(): Promise<SessionEnd> {
    for (;;) {
      const end = await this.connection.client.ended();
      if (this.closing || FINAL.has(end.code) || this.options.timeoutMs <= 0) return end;
      this.connection.close();
      this.options.warn(`lost the connection to the pod (${end.reason}); reconnecting…`);
      let finish!: (error?: Error) => void;
      this.ready = new Promise<void>((resolve, reject) => (finish = (error) => (error ? reject(error) : resolve())));
      this.ready.catch(() => undefined);
      const outcome = await this.reconnect(end);
      if ('gaveUp' in outcome) {
        finish(new RemoteError('ESHUTDOWN', `session closed: ${outcome.gaveUp.reason}`));
        return outcome.gaveUp;
      }
      const previous = this.connection.client.info.sessionId;
      this.connection = outcome.connection;
      for (const listener of this.incomingListeners) this.connection.client.onIncoming(listener);
      await this.resubscribe(previous);
      finish();
      this.options.reconnected(this.connection.client, outcome.attempts);
    }
  }

  private async reconnect(drop: SessionEnd): Promise<{ connection: Connection; attempts: number } | { gaveUp: SessionEnd }> {
    const deadline = Date.now() + this.options.timeoutMs;
    let lastError = '';
    for (let attempt = 0; Date.now() < deadline && !this.closing; attempt++) {
      await sleep(Math.min(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)], Math.max(0, deadline - Date.now())));
      const attemptMade = this.options.connect();
      try {
        const connection = await beforeDeadline(attemptMade, deadline);
        if (!this.closing) return { connection, attempts: attempt + 1 };
        discard(attemptMade); // the command ended meanwhile
      } catch (error) {
        discard(attemptMade);
        lastError = (error as Error).message;
      }
    }
    const tried = `${drop.reason}; reconnecting for ${Math.round(this.options.timeoutMs / 1000)} s failed${lastError ? `: ${lastError}` : ''}`;
    return { gaveUp: { code: drop.code, reason: tried } };
  }

  /**
   * The command's ports, subscribed again on the new session; a refusal is reported, not fatal.
   * The sidecar may not have noticed the drop yet (its side of a port-forward can outlive ours
   * until a ping goes unanswered): the old session is ended first, so that its unfiltered
   * steal doesn't hold the port against its successor.
   */
  private async resubscribe(previous: string): Promise<void> {
    if (this.subscriptions.size) await this.connection.client.call('sessions.kill', { id: previous }).catch(() => undefined);
    for (const [port, { mode, filter }] of this.subscriptions) {
      try {
        await this.connection.client.subscribe(port, mode, filter);
      } catch (error) {
        this.subscriptions.delete(port);
        this.options.warn(`port ${port} could not be subscribed again: ${(error as Error).message}`);
      }
    }
  }
}

/** An attempt that hangs (an API server that doesn't answer) must not outlast the deadline. */
function beforeDeadline<T>(attempt: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer before the deadline')), Math.max(0, deadline - Date.now()) + ATTEMPT_GRACE_MS);
  });
  return Promise.race([attempt, late]).finally(() => clearTimeout(timer));
}

/** Closes whatever an abandoned attempt opens, whenever it does. */
function discard(attempt: Promise<Connection>): void {
  attempt.then(
    (connection) => {
      connection.client.close();
      connection.close();
    },
    () => undefined,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
