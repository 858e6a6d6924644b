/**
 * An http.Agent whose connections are streams to a session: one at a time (a client connection's
 * requests are sequential), kept alive for the next request when `keepAlive`.
 */
import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { MuxStream } from '../../protocol/stream';

/** How long a stream kept alive for a client's later requests may stay unused. */
const IDLE_STREAM_MS = 4000;
/** Closed this long before the idle timeout a local server announces (`Keep-Alive: timeout=N`). */
const HINT_MARGIN_MS = 1000;

/** The `Keep-Alive` header of the latest answer that came back over each stream. */
const announced = new WeakMap<object, string>();

export class StreamAgent extends http.Agent {
  private readonly idle = new WeakMap<Duplex, NodeJS.Timeout>();

  /** Notes an answer the local server sent over a stream, for the idle timeout it announces. */
  static heard(answer: http.IncomingMessage): void {
    announced.set(answer.socket, String(answer.headers['keep-alive'] ?? ''));
  }

  constructor(
    private readonly open: () => MuxStream | undefined,
    keepAlive: boolean,
  ) {
    super({ keepAlive, maxSockets: 1 });
  }

  override createConnection(_options: http.ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void): Duplex | undefined {
    const stream = this.open();
    if (!stream) {
      callback?.(new Error('the stealing session has ended'), undefined as unknown as Duplex);
      return undefined;
    }
    // The local server closed its connection: this stream can carry no other request.
    stream.once('end', () => stream.end());
    // What the agent does to a kept-alive TCP socket has no meaning for a stream.
    return Object.assign(stream, { ref: () => stream, unref: () => stream, setKeepAlive: () => stream });
  }

  /**
   * Idle streams are closed before the local server's keep-alive timeout would close them under
   * a request: before the one it announces, else before the usual 5 s (Node's).
   */
  override keepSocketAlive(socket: Duplex): boolean {
    const hint = /timeout=(\d+)/.exec(announced.get(socket) ?? '')?.[1];
    const idleMs = hint === undefined ? IDLE_STREAM_MS : Math.min(IDLE_STREAM_MS, Number(hint) * 1000 - HINT_MARGIN_MS);
    if (idleMs <= 0) return false;
    this.idle.set(
      socket,
      setTimeout(() => socket.destroy(), idleMs),
    );
    return true;
  }

  override reuseSocket(socket: Duplex, request: http.ClientRequest): void {
    clearTimeout(this.idle.get(socket));
    super.reuseSocket(socket as net.Socket, request);
  }
}
