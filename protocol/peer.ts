/**
 * One end of a session: multiplexes streams, requests and events over a single WebSocket,
 * and watches the other end's liveness with WebSocket pings. Both the CLI and the sidecar
 * use it; `role` decides the parity of the stream ids it allocates (client odd, sidecar even),
 * so both can open streams without coordinating.
 */
import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import WebSocket from 'ws';
import { CloseCode, ErrorCode, ProtocolError, RemoteError } from './errors';
import { decodeFrame, encodeControl, encodeCredit, encodeData, encodeEnd, encodeReset, FrameKind, fromPool, recycleBuffer, type Frame } from './frame';
import {
  describeIssues,
  events,
  isEventType,
  requests,
  type Envelope,
  type Event,
  type EventType,
  type Params,
  type RequestType,
  type Result,
} from './messages';
import { MuxStream, type StreamLink } from './stream';

export interface IncomingRequest {
  id: number;
  method: string;
  params: unknown;
  attachment?: Buffer;
}

export interface Reply<T extends RequestType> {
  result: Result<T>;
  attachment?: Buffer;
}

export interface PeerOptions {
  role: 'client' | 'sidecar';
  /** Ping period; the peer is declared dead when a ping goes unanswered for this long. 0 disables. */
  heartbeatMs?: number;
}

interface Pending {
  method: RequestType;
  resolve(reply: Reply<RequestType>): void;
  reject(error: Error): void;
}

// Typed events for an EventEmitter subclass: the interface only narrows `on`'s signatures.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export declare interface Peer {
  on(event: 'request', listener: (request: IncomingRequest) => void): this;
  on(event: 'event', listener: (name: EventType, data: unknown) => void): this;
  on(event: 'close', listener: (code: number, reason: string) => void): this;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Peer extends EventEmitter implements StreamLink {
  private readonly streams = new Map<number, MuxStream>();
  private readonly pending = new Map<number, Pending>();
  private nextStream: number;
  /** id % 2 of the streams the other side allocates. */
  private readonly peerParity: number;
  private nextRequest = 1;
  private heartbeat?: NodeJS.Timeout;
  private closed = false;
  /** The transport is corked until the end of this turn of the event loop. */
  private corked = false;
  /** Set by the close handler: why the session ended. */
  closeReason = '';
  /** The WebSocket close code, once closed. */
  closeCode = 0;
  /** The code of the error the other side ended the session with, if it said. */
  private failureCode?: string;

  constructor(
    readonly socket: WebSocket,
    options: PeerOptions,
  ) {
    super();
    this.nextStream = options.role === 'client' ? 1 : 2;
    this.peerParity = options.role === 'client' ? 0 : 1;
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer, isBinary: boolean) => this.receive(data, isBinary));
    socket.on('close', (code: number, reason: Buffer) => this.onClose(code, reason.toString()));
    socket.on('error', () => {
      /* 'close' follows every 'error'; the reason is reported there. */
    });
    if (options.heartbeatMs) this.startHeartbeat(options.heartbeatMs);
  }

  /** True once the session has ended ('close' was emitted). */
  get isClosed(): boolean {
    return this.closed;
  }

  get isOpen(): boolean {
    return !this.closed && this.socket.readyState === WebSocket.OPEN;
  }

  /** A new stream whose id this side allocates. */
  openStream(): MuxStream {
    const id = this.nextStream;
    if (id > 0xffffffff) throw new RemoteError(ErrorCode.Internal, 'stream ids exhausted for this session');
    this.nextStream += 2;
    return this.register(id);
  }

  /** The local end of a stream the peer allocated (e.g. named in a `connect` request). */
  adoptStream(id: number): MuxStream {
    if (id % 2 !== this.peerParity) {
      throw new RemoteError(ErrorCode.Invalid, `stream ${id} is not the other side's to allocate (client ids are odd, sidecar ids even)`);
    }
    if (this.streams.has(id)) throw new RemoteError(ErrorCode.Invalid, `stream ${id} is already in use`);
    return this.register(id);
  }

  async call<T extends RequestType>(method: T, params: Params<T>, attachment?: Buffer): Promise<Reply<T>> {
    if (!this.isOpen) throw new RemoteError(ErrorCode.Protocol, `session is closed${this.closeReason ? `: ${this.closeReason}` : ''}`);
    const id = this.nextRequest++;
    return new Promise<Reply<T>>((resolve, reject) => {
      this.pending.set(id, { method, resolve: resolve as Pending['resolve'], reject });
      this.sendControl({ type: 'request', id, method, params }, attachment);
    });
  }

  /** `onSent` is called once the reply has been written to the transport (or can no longer be). */
  reply(id: number, result: unknown, attachment?: Buffer, onSent?: () => void): void {
    this.sendFrame(encodeControl({ type: 'reply', id, result }, attachment), onSent);
  }

  replyError(id: number | undefined, code: string, message: string): void {
    this.sendControl({ type: 'error', id, code, message });
  }

  emitEvent<T extends EventType>(name: T, data: Event<T>): void {
    this.sendControl({ type: 'event', event: name, data });
  }

  /** Ends the session with an error message the other side can show, then a close code. */
  fail(code: string, message: string, closeCode: number): void {
    if (this.isOpen) {
      this.replyError(undefined, code, message);
      this.socket.close(closeCode, closeReasonOf(message));
    }
    this.onClose(closeCode, message);
  }

  close(code: number = CloseCode.Normal, reason = 'session closed'): void {
    if (this.isOpen) this.socket.close(code, closeReasonOf(reason));
  }

  /** Drops the connection without a close handshake, as a vanished peer would. */
  terminate(reason: string): void {
    this.closeReason ||= reason;
    this.socket.terminate();
  }

  sendData(stream: number, payload: Buffer): void {
    const frame = encodeData(stream, payload);
    this.sendFrame(frame, fromPool(frame) ? () => recycleBuffer(frame) : undefined);
  }

  sendEnd(stream: number): void {
    this.sendFrame(encodeEnd(stream));
  }

  sendCredit(stream: number, bytes: number): void {
    this.sendFrame(encodeCredit(stream, bytes));
  }

  sendReset(stream: number, reason: string): void {
    this.sendFrame(encodeReset(stream, reason));
  }

  released(stream: number): void {
    this.streams.delete(stream);
  }

  private register(id: number): MuxStream {
    const stream = new MuxStream(id, this);
    this.streams.set(id, stream);
    return stream;
  }

  private sendControl(message: Envelope, attachment?: Buffer): void {
    this.sendFrame(encodeControl(message, attachment));
  }

  private sendFrame(frame: Buffer, onSent?: () => void): void {
    if (!this.isOpen) return onSent?.();
    this.coalesce();
    this.socket.send(frame, { binary: true }, onSent && (() => onSent()));
  }

  /**
   * The frames sent during one turn of the event loop leave in one write: under load (many
   * connections' bytes read in one turn) a write system call per frame costs more than the
   * frames do. The transport is released in the same turn, after its I/O callbacks.
   */
  private coalesce(): void {
    const transport = (this.socket as unknown as { _socket?: Writable })._socket;
    if (this.corked || typeof transport?.cork !== 'function') return;
    this.corked = true;
    transport.cork();
    setImmediate(() => {
      this.corked = false;
      transport.uncork();
    });
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    try {
      if (!isBinary) throw new ProtocolError('text WebSocket messages are not part of the protocol');
      this.dispatch(decodeFrame(data));
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.fail(ErrorCode.Protocol, `malformed frame: ${error.message}`, CloseCode.Protocol);
    }
  }

  private dispatch(frame: Frame): void {
    switch (frame.kind) {
      case FrameKind.Control:
        return this.dispatchControl(frame.message, frame.attachment);
      case FrameKind.Data:
        return this.streams.get(frame.stream)?.receiveData(frame.payload);
      case FrameKind.End:
        return this.streams.get(frame.stream)?.receiveEnd();
      case FrameKind.Credit:
        return this.streams.get(frame.stream)?.receiveCredit(frame.bytes);
      case FrameKind.Reset:
        return this.streams.get(frame.stream)?.receiveReset(frame.reason);
    }
  }

  private dispatchControl(message: Envelope, attachment?: Buffer): void {
    switch (message.type) {
      case 'request':
        this.emit('request', { id: message.id, method: message.method, params: message.params, attachment });
        return;
      case 'reply': {
        const pending = this.takePending(message.id);
        const checked = requests[pending.method].result.safeParse(message.result);
        if (checked.success) pending.resolve({ result: checked.data, attachment });
        else pending.reject(new ProtocolError(`invalid ${pending.method} reply: ${describeIssues(checked.error)}`));
        return;
      }
      case 'error':
        if (message.id === undefined) {
          this.closeReason = `${message.code}: ${message.message}`;
          this.failureCode = message.code;
          return;
        }
        this.takePending(message.id).reject(new RemoteError(message.code, message.message));
        return;
      case 'event': {
        if (!isEventType(message.event)) return; // a newer minor version's event
        const checked = events[message.event].safeParse(message.data);
        if (!checked.success) throw new ProtocolError(`invalid ${message.event} event: ${describeIssues(checked.error)}`);
        this.emit('event', message.event, checked.data);
        return;
      }
    }
  }

  private takePending(id: number): Pending {
    const pending = this.pending.get(id);
    if (!pending) throw new ProtocolError(`reply to unknown request ${id}`);
    this.pending.delete(id);
    return pending;
  }

  private startHeartbeat(periodMs: number): void {
    let answered = true;
    // Any byte is an answer: a pong can queue behind a large upload, and a peer that sends is plainly alive.
    this.socket.on('pong', () => (answered = true));
    onBytesIn(this.socket, () => (answered = true));
    this.heartbeat = setInterval(() => {
      if (!answered) {
        // After a stall of our own event loop the pong may be waiting, unread: read it first.
        setImmediate(() => answered || this.closed || this.terminate(`peer did not answer a ping within ${periodMs} ms`));
        return;
      }
      answered = false;
      this.socket.ping();
    }, periodMs);
    this.heartbeat.unref();
  }

  private onClose(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeCode = code;
    clearInterval(this.heartbeat);
    // 1006: the connection ended without a close frame (a dropped port-forward, a killed peer).
    this.closeReason ||= reason || (code === 1006 ? 'the connection dropped' : `connection closed (code ${code})`);
    const error = new RemoteError(this.failureCode ?? ErrorCode.Protocol, `session closed: ${this.closeReason}`);
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    // Streams cut by a clean close just close; by a dropped session, they error.
    const clean = code === CloseCode.Normal;
    for (const stream of [...this.streams.values()]) stream.destroy(clean ? undefined : error);
    this.streams.clear();
    this.emit('close', code, this.closeReason);
  }
}

/** The longest prefix of `text` that fits a close frame's reason (123 bytes of UTF-8), cut between characters. */
function closeReasonOf(text: string): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    bytes += Buffer.byteLength(char, 'utf8');
    if (bytes > 123) break;
    end += char.length;
  }
  return text.slice(0, end);
}

/**
 * Calls `listener` whenever bytes arrive on the WebSocket's transport, before they make a whole
 * message: a large frame on a slow link takes a while to complete, and its sender is alive meanwhile.
 */
export function onBytesIn(socket: WebSocket, listener: () => void): void {
  const transport = (socket as unknown as { _socket?: { on(event: 'data', listener: () => void): unknown } })._socket;
  if (transport) transport.on('data', listener);
  else socket.on('message', listener);
}
