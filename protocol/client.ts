/**
 * The client side of a session: handshake, then typed calls. The CLI's local proxy and the
 * tests use it; nothing else speaks to the sidecar.
 */
import { constants } from 'node:fs';
import WebSocket from 'ws';
import { ErrorCode, ProtocolError, RemoteError } from './errors';
import { Peer } from './peer';
import { atLeast, FILTERED_MIRROR_SINCE, NESTED_FILTERS_SINCE, PROTOCOL_VERSION } from './version';
import { FILE_CHUNK, usesNestedFilters, type Event, type FsRights, type Params, type RequestType, type Result, type Stat, type Subscription } from './messages';
import type { MuxStream } from './stream';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const { O_WRONLY, O_CREAT, O_TRUNC } = constants;
/** The mode of the files a client creates in the pod. */
export const NEW_FILE_MODE = 0o644;
/** How long ago a file must have last changed (by the pod's clock) for its version to be trusted. */
const SETTLED_MS = 1000;

export type SessionInfo = Result<'hello'>;

export interface IncomingConnection extends Event<'incoming'> {
  socket: MuxStream;
}

export interface ClientOptions {
  /** Name shown in `sessions` listings. */
  client?: string;
  /** What the session may do to the pod's files; the sidecar's default is `read`. */
  fs?: FsRights;
  /** The operator's ticket for this session, for a sidecar that requires one. */
  ticket?: string;
  heartbeatMs?: number;
  /** Protocol version to announce; only tests change it. */
  version?: string;
}

/** How a session ended: the WebSocket close code and the reason. */
export interface SessionEnd {
  code: number;
  reason: string;
}

/** What the local proxy needs of a session's client: a Client, or a ReconnectingClient that re-establishes the session when its connection drops. */
export type ClientApi = Pick<
  Client,
  'info' | 'call' | 'onIncoming' | 'subscribe' | 'unsubscribe' | 'connect' | 'resolve' | 'env' | 'readdir' | 'fetchFile' | 'writeFile' | 'close' | 'closed'
>;

export class Client {
  private constructor(
    readonly peer: Peer,
    readonly info: SessionInfo,
  ) {}

  /** Completes the handshake on an open or opening WebSocket. */
  static async start(socket: WebSocket, options: ClientOptions = {}): Promise<Client> {
    await whenOpen(socket);
    const peer = new Peer(socket, { role: 'client', heartbeatMs: options.heartbeatMs ?? 5000 });
    const { result } = await peer.call('hello', {
      version: options.version ?? PROTOCOL_VERSION,
      client: options.client ?? `pid ${process.pid}`,
      fs: options.fs,
      ticket: options.ticket,
    });
    return new Client(peer, result);
  }

  call<T extends RequestType>(method: T, params: Params<T>, attachment?: Buffer) {
    return this.peer.call(method, params, attachment);
  }

  /** Calls `listener` with what the sidecar tells the user unasked (a copy cut off, a connection it could not filter). */
  onNotice(listener: (notice: Event<'notice'>) => void): void {
    this.peer.on('event', (name, data) => {
      if (name === 'notice') listener(data as Event<'notice'>);
    });
  }

  /** Calls `listener` for each stolen or mirrored connection (or request). */
  onIncoming(listener: (incoming: IncomingConnection) => void): void {
    this.peer.on('event', (name, data) => {
      if (name !== 'incoming') return;
      const event = data as Event<'incoming'>;
      let socket: MuxStream;
      try {
        socket = this.peer.adoptStream(event.stream);
      } catch (error) {
        throw new ProtocolError(`incoming connection on ${(error as Error).message}`);
      }
      listener({ ...event, socket });
    });
  }

  async subscribe(subscription: Subscription): Promise<void> {
    const { filter, mode } = subscription;
    // An older sidecar would drop a nested or body condition it doesn't know, and steal more than asked.
    if (filter && usesNestedFilters(filter))
      this.require(NESTED_FILTERS_SINCE, 'HTTP filters on the body, or with all_of/any_of beyond one condition of a kind, need');
    if (filter && mode === 'mirror') this.require(FILTERED_MIRROR_SINCE, 'mirroring with an HTTP filter needs');
    await this.call('subscribe', subscription);
  }

  /** Throws EPROTO, saying `what` needs protocol `since`, when the sidecar speaks an older one. */
  private require(since: string, what: string): void {
    if (atLeast(this.info.protocolVersion, since)) return;
    throw new RemoteError(
      ErrorCode.Protocol,
      `the sidecar of pod ${this.info.pod.name} speaks protocol ${this.info.protocolVersion}: ${what} ${since} (restart the pod: the webhook injects the current sidecar)`,
    );
  }

  async unsubscribe(port: number): Promise<void> {
    await this.call('unsubscribe', { port });
  }

  /** A TCP connection (or connected UDP socket: one DATA frame per datagram) made from the pod. */
  async connect(protocol: 'tcp' | 'udp', host: string, port: number): Promise<{ stream: MuxStream } & Result<'connect'>> {
    const stream = this.peer.openStream();
    // A refused connect also resets the stream; the rejection below is what reports it.
    const ignore = () => undefined;
    stream.on('error', ignore);
    try {
      const { result } = await this.call('connect', { stream: stream.id, protocol, host, port });
      stream.off('error', ignore);
      return { stream, ...result };
    } catch (error) {
      stream.destroy();
      throw error;
    }
  }

  async resolve(host: string, family: 0 | 4 | 6 = 0): Promise<Result<'resolve'>['addresses']> {
    return (await this.call('resolve', { host, family })).result.addresses;
  }

  async env(): Promise<Record<string, string>> {
    return (await this.call('env', {})).result.env;
  }

  /** Every entry of a remote directory, page after page. */
  async readdir(path: string): Promise<Result<'fs.readdir'>['entries']> {
    const entries: Result<'fs.readdir'>['entries'] = [];
    let cursor: number | undefined;
    do {
      const page = (await this.call('fs.readdir', { path, cursor })).result;
      entries.push(...page.entries);
      cursor = page.cursor;
    } while (cursor !== undefined);
    return entries;
  }

  /** Reads a whole remote file (as the app sees its path). */
  async readFile(path: string): Promise<Buffer> {
    return (await this.fetchFile(path)).content!;
  }

  /**
   * Reads a whole remote file, unless it is still the `known` version (a regular file's
   * identity, size and times, from the stat that opening it returns): then only the version
   * comes back. A file without a version is always read: empty or not regular (/proc-like), or
   * changed within the last second of the pod's clock, when a rewrite of the same size could
   * still leave its times as they are.
   */
  async fetchFile(path: string, known?: string): Promise<{ version?: string; content?: Buffer; stat: Stat }> {
    const { fd, stat, now } = (await this.call('fs.open', { path, flags: 0 })).result;
    const closeFd = () => void this.call('fs.close', { fd }).catch(() => undefined);
    // The open said what it is: a directory has no content to read (its listing is fs.readdir).
    if ((stat.mode & S_IFMT) === S_IFDIR) {
      closeFd();
      throw new RemoteError('EISDIR', `${path} is a directory`);
    }
    const settled = now !== undefined && now - Math.max(stat.mtimeMs, stat.ctimeMs) >= SETTLED_MS;
    const regular = (stat.mode & S_IFMT) === S_IFREG && stat.size > 0;
    const version = regular && settled ? `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}` : undefined;
    if (version !== undefined && version === known) {
      closeFd();
      return { version, stat };
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for (;;) {
        const length = FILE_CHUNK;
        const reply = await this.call('fs.read', { fd, length });
        if (!reply.result.bytesRead || !reply.attachment) break;
        chunks.push(reply.attachment);
        total += reply.attachment.length;
        // A short read that reaches the size the open reported is the end: no read for EOF.
        if (reply.attachment.length < length && stat.size > 0 && total >= stat.size) break;
      }
    } finally {
      closeFd();
    }
    return { version, content: Buffer.concat(chunks), stat };
  }

  /** Replaces a remote file's content (creating it), all on this session. */
  async writeFile(path: string, content: Buffer): Promise<void> {
    const { fd } = (await this.call('fs.open', { path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: NEW_FILE_MODE })).result;
    try {
      // A write may land short (a volume filling up); the rest is written again, so the pod says
      // why it can't take it (ENOSPC) instead of the file being cut where the volume filled.
      for (let offset = 0; offset < content.length;) {
        const { bytesWritten } = (await this.call('fs.write', { fd, position: offset }, content.subarray(offset, offset + FILE_CHUNK))).result;
        if (bytesWritten <= 0) throw new RemoteError('EIO', `${path}: the pod wrote nothing at offset ${offset}`);
        offset += bytesWritten;
      }
    } finally {
      await this.call('fs.close', { fd });
    }
  }

  close(): void {
    this.peer.close();
  }

  /** Resolves once the session is closed, with the reason. */
  async closed(): Promise<string> {
    return (await this.ended()).reason;
  }

  /** Resolves once the session is closed, with the close code and the reason. */
  ended(): Promise<SessionEnd> {
    return new Promise((resolve) => {
      if (this.peer.isClosed) resolve({ code: this.peer.closeCode, reason: this.peer.closeReason });
      else this.peer.once('close', (code: number, reason: string) => resolve({ code, reason }));
    });
  }
}

function whenOpen(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.OPEN) return Promise.resolve();
  if (socket.readyState === WebSocket.CLOSING || socket.readyState === WebSocket.CLOSED) {
    return Promise.reject(new Error('the connection to the agent closed before the session started'));
  }
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    socket.once('error', onError);
    // The sidecar refuses a connection before the upgrade when too many wait for their hello (503,
    // the reason in the body); anything else answering plain HTTP is not the agent.
    socket.once('unexpected-response', (request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body = `${body}${chunk}`.slice(0, 1024)));
      response.on('end', () => {
        request.destroy();
        const status = response.statusCode ?? 0;
        reject(
          status === 503
            ? new RemoteError('EAGAIN', `the sidecar refused the connection for now: ${body.trim() || 'busy'}`)
            : new Error(`agent answered HTTP ${status} instead of a WebSocket upgrade`),
        );
      });
    });
    socket.once('open', () => {
      socket.off('error', onError);
      resolve();
    });
    socket.once('close', (code, reason) => reject(new Error(`agent closed the connection before the session started (${code} ${reason.toString()})`)));
  });
}
