/**
 * A session that outlives its connection: when the port-forward (or the agent command) drops,
 * or the sidecar stops answering (or crashes and restarts), a new connection to the same pod and
 * a new session replace the old one, and the ports the command listens on are subscribed again.
 * The user's command keeps running; its open connections and streams fail as a dropped network
 * would fail them. A call that meets the drop (made meanwhile, or in flight when it is noticed)
 * is made again, once, on the new session. A session that was ended on purpose (by us, by
 * `mirrord sessions kill`, by the sidecar stopping because its pod goes away) is not
 * re-established.
 */
import type { Client, IncomingConnection, ClientApi, SessionEnd } from '../protocol/client';
import { CloseCode, ErrorCode, RemoteError } from '../protocol/errors';
import type { Params, RequestType, Subscription } from '../protocol/messages';

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
  /** What the sidecar tells the user unasked, on this connection or the ones after it. */
  notice?(level: 'info' | 'warn' | 'error', message: string): void;
}

/** Closes that mean "this session is over", not "its connection broke". */
const FINAL = new Set<number>([CloseCode.Normal, CloseCode.Shutdown, CloseCode.Killed, CloseCode.Version, CloseCode.Protocol]);

export class ReconnectingClient implements ClientApi {
  private connection: Connection;
  private closing = false;
  /** How the session ended for good, once it has. */
  private over?: SessionEnd;
  /** Calls waiting for the connection that replaces a dropped one. */
  private waiting: { resolve(client: Client): void; reject(error: Error): void }[] = [];
  private readonly subscriptions = new Map<number, Subscription>();
  private readonly incomingListeners: ((incoming: IncomingConnection) => void)[] = [];
  private readonly end: Promise<SessionEnd>;

  constructor(
    first: Connection,
    private readonly options: ReconnectOptions,
  ) {
    this.connection = first;
    this.heed(first.client);
    this.end = this.watch();
  }

  get info(): Client['info'] {
    return this.connection.client.info;
  }

  call<T extends RequestType>(method: T, params: Params<T>, attachment?: Buffer) {
    return this.use((client) => client.call(method, params, attachment));
  }

  onIncoming(listener: (incoming: IncomingConnection) => void): void {
    this.incomingListeners.push(listener);
    this.connection.client.onIncoming(listener);
  }

  async subscribe(subscription: Subscription): Promise<void> {
    await this.use((client) => client.subscribe(subscription));
    this.subscriptions.set(subscription.port, subscription);
  }

  async unsubscribe(port: number): Promise<void> {
    this.subscriptions.delete(port);
    await this.use((client) => client.unsubscribe(port));
  }

  connect(protocol: 'tcp' | 'udp', host: string, port: number) {
    return this.use((client) => client.connect(protocol, host, port));
  }

  resolve(host: string, family: 0 | 4 | 6 = 0) {
    return this.use((client) => client.resolve(host, family));
  }

  env() {
    return this.use((client) => client.env());
  }

  readdir(path: string) {
    return this.use((client) => client.readdir(path));
  }

  fetchFile(path: string, known?: string) {
    return this.use((client) => client.fetchFile(path, known));
  }

  writeFile(path: string, content: Buffer) {
    return this.use((client) => client.writeFile(path, content));
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

  /** How the session ended for good: its close code and reason. */
  ended(): Promise<SessionEnd> {
    return this.end;
  }

  /**
   * Runs `work` on the current session; when it fails because that session's connection
   * dropped, once more on the session that replaces it. (Everything `work` does happens on one
   * session: a descriptor of one is never used on the next.)
   */
  private async use<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.live(this.connection.client);
    try {
      return await work(client);
    } catch (error) {
      if (!client.peer.isClosed || this.closing) throw error;
      return work(await this.live(client));
    }
  }

  /** `client` while its connection stands; after a drop, the client of the next connection. */
  private live(client: Client): Promise<Client> {
    if (!client.peer.isClosed) return Promise.resolve(client);
    if (this.connection.client !== client && !this.connection.client.peer.isClosed) return Promise.resolve(this.connection.client);
    if (this.over) return Promise.reject(this.overError());
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private overError(): Error {
    return new RemoteError(ErrorCode.Shutdown, `session closed: ${this.over?.reason}`);
  }

  private heed(client: Client): void {
    const { notice } = this.options;
    if (notice) client.onNotice(({ level, message }) => notice(level, message));
  }

  /** Follows each connection to its end; resolves when the session is over for good. */
  private async watch(): Promise<SessionEnd> {
    for (;;) {
      const end = await this.connection.client.ended();
      if (this.closing || FINAL.has(end.code) || this.options.timeoutMs <= 0) return this.finish(end);
      this.connection.close();
      this.options.warn(`lost the connection to the pod (${end.reason}); reconnecting…`);
      const outcome = await this.reconnect(end);
      if ('gaveUp' in outcome) return this.finish(outcome.gaveUp);
      const previous = this.connection.client.info.sessionId;
      this.connection = outcome.connection;
      this.heed(this.connection.client);
      for (const listener of this.incomingListeners) this.connection.client.onIncoming(listener);
      // A connection that drops again before its ports are back goes round once more.
      if (!(await this.resubscribe(previous))) continue;
      for (const waiter of this.waiting.splice(0)) waiter.resolve(this.connection.client);
      this.options.reconnected(this.connection.client, outcome.attempts);
    }
  }

  private finish(end: SessionEnd): SessionEnd {
    this.over = end;
    for (const waiter of this.waiting.splice(0)) waiter.reject(this.overError());
    return end;
  }

  private async reconnect(drop: SessionEnd): Promise<{ connection: Connection; attempts: number } | { gaveUp: SessionEnd }> {
    const deadline = Date.now() + this.options.timeoutMs;
    let lastError = '';
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      await sleep(Math.min(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)], Math.max(0, deadline - Date.now())));
      if (this.closing) break;
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
    if (this.closing) return { gaveUp: { code: CloseCode.Normal, reason: 'session closed' } };
    const tried = `${drop.reason}; reconnecting for ${seconds(this.options.timeoutMs)} failed${lastError ? `: ${lastError}` : ''}`;
    return { gaveUp: { code: drop.code, reason: tried } };
  }

  /**
   * The command's ports, subscribed again on the new session; a refusal is reported, not fatal.
   * The sidecar may not have noticed the drop yet (its side of a port-forward can outlive ours
   * until a ping goes unanswered): the old session is ended first, so that its unfiltered
   * steal doesn't hold the port against its successor. False when this connection dropped too.
   */
  private async resubscribe(previous: string): Promise<boolean> {
    const client = this.connection.client;
    if (this.subscriptions.size) await client.call('sessions.kill', { id: previous }).catch(() => undefined);
    for (const [port, subscription] of [...this.subscriptions]) {
      try {
        await client.subscribe(subscription);
      } catch (error) {
        if (client.peer.isClosed) return false;
        this.subscriptions.delete(port);
        this.options.warn(`port ${port} could not be subscribed again: ${(error as Error).message}`);
      }
    }
    return !client.peer.isClosed;
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

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
