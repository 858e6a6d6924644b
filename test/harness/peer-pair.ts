/**
 * Test support: real sessions over loopback. A WebSocketServer on 127.0.0.1 (port 0) gives each
 * connection a sidecar-role Peer; `connect` opens a client WebSocket and pairs the two ends.
 * Used by the unit tests; nothing in the product imports it.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { MAX_FRAME } from '../../protocol/frame';
import { Peer } from '../../protocol/peer';

export interface Pair {
  client: Peer;
  server: Peer;
  clientSocket: WebSocket;
  serverSocket: WebSocket;
}

export interface RawPair {
  /** A client WebSocket with no Peer on it: the test speaks the wire itself. */
  socket: WebSocket;
  serverSocket: WebSocket;
  server: Peer;
}

export interface ServerOptions {
  /** Ping period of the server's Peers (0: none). */
  heartbeatMs?: number;
  /** Called for each server Peer as soon as it exists (e.g. to answer requests). */
  onPeer?: (peer: Peer) => void;
}

export class LoopbackServer {
  private readonly waiting = new Map<number, (entry: { socket: WebSocket; peer: Peer }) => void>();
  private readonly arrived = new Map<number, { socket: WebSocket; peer: Peer }>();
  private readonly sockets = new Set<WebSocket>();
  private newest?: Peer;

  private constructor(
    private readonly wss: WebSocketServer,
    readonly port: number,
  ) {}

  static async start(options: ServerOptions = {}): Promise<LoopbackServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX_FRAME, perMessageDeflate: false });
    await once(wss, 'listening');
    const server = new LoopbackServer(wss, (wss.address() as AddressInfo).port);
    wss.on('connection', (socket, request) => {
      server.sockets.add(socket);
      socket.on('error', () => undefined);
      const peer = new Peer(socket, { role: 'sidecar', heartbeatMs: options.heartbeatMs ?? 0 });
      server.newest = peer;
      options.onPeer?.(peer);
      const key = request.socket.remotePort ?? 0;
      const entry = { socket, peer };
      const waiter = server.waiting.get(key);
      if (waiter) {
        server.waiting.delete(key);
        waiter(entry);
      } else server.arrived.set(key, entry);
    });
    return server;
  }

  /** The server Peer of the most recent connection, from any client (e.g. another process). */
  latest(): Peer | undefined {
    return this.newest;
  }

  /** A client WebSocket, open, and the server Peer of the same connection. */
  async connectRaw(): Promise<RawPair> {
    const socket = new WebSocket(`ws://127.0.0.1:${this.port}/`, { maxPayload: MAX_FRAME, perMessageDeflate: false });
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    await once(socket, 'open');
    const key = (socket as unknown as { _socket: { localPort: number } })._socket.localPort;
    const entry = this.arrived.get(key) ?? (await new Promise<{ socket: WebSocket; peer: Peer }>((resolve) => this.waiting.set(key, resolve)));
    this.arrived.delete(key);
    return { socket, serverSocket: entry.socket, server: entry.peer };
  }

  /** A full session: client Peer and server Peer on one WebSocket. */
  async connect(options: { clientHeartbeatMs?: number } = {}): Promise<Pair> {
    const { socket, serverSocket, server } = await this.connectRaw();
    const client = new Peer(socket, { role: 'client', heartbeatMs: options.clientHeartbeatMs ?? 0 });
    return { client, server, clientSocket: socket, serverSocket };
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    await new Promise((resolve) => this.wss.close(resolve));
  }
}

/** Resolves with the Peer's close code and reason. */
export function closed(peer: Peer): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => peer.once('close', (code: number, reason: string) => resolve({ code, reason })));
}

/** Waits until `condition` holds, checking on every turn of the event loop; fails after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Pseudo-random bytes with a prime period, shorter than the largest DATA frame. */
const PERIOD = 65_521;
let block: Buffer | undefined;

/**
 * `size` bytes that repeat only every 65,521 bytes (a prime, so no frame boundary lines up with
 * the period): a lost, doubled or reordered frame shows. `salt` shifts the start.
 */
export function pattern(size: number, salt = 0): Buffer {
  if (!block) {
    block = Buffer.allocUnsafe(PERIOD * 2);
    let x = 0x2545f491;
    for (let i = 0; i < PERIOD; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      block[i] = x >>> 24;
    }
    block.copy(block, PERIOD, 0, PERIOD);
  }
  const start = (salt * 7919) % PERIOD;
  return Buffer.alloc(size, block.subarray(start, start + PERIOD));
}
