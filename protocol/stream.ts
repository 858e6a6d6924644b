/**
 * One multiplexed byte stream: a Duplex whose writes become DATA frames and whose reads come
 * from the peer's DATA frames. Credit-based flow control bounds what either side buffers: a
 * sender may have at most WINDOW unacknowledged bytes in flight, and the receiver returns
 * credit only as its consumer takes the bytes, so one slow stream never bloats the session
 * or stalls the others.
 */
import { Duplex } from 'node:stream';
import { MAX_DATA } from './frame';
import { ProtocolError } from './errors';

export const WINDOW = 512 * 1024;
const CREDIT_BATCH = WINDOW / 4;

/** What a stream needs from the session that carries it. */
export interface StreamLink {
  sendData(stream: number, payload: Buffer): void;
  sendEnd(stream: number): void;
  sendCredit(stream: number, bytes: number): void;
  sendReset(stream: number, reason: string): void;
  released(stream: number): void;
}

export class MuxStream extends Duplex {
  private sendWindow = WINDOW;
  /** Bytes the peer may still send before it must wait for our credit. */
  private peerWindow = WINDOW;
  private blocked?: { chunk: Buffer; callback: (error?: Error | null) => void };
  private withheld = 0;
  private uncredited = 0;
  private resetByPeer = false;
  private endedByPeer = false;

  constructor(
    readonly id: number,
    private readonly link: StreamLink,
  ) {
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024 });
  }

  /** Bytes this side may send right now; mirror copies use it to drop instead of wait. */
  get writableCredit(): number {
    return this.blocked ? 0 : this.sendWindow;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback);
  }

  private send(chunk: Buffer, callback: (error?: Error | null) => void): void {
    let offset = 0;
    while (offset < chunk.length && this.sendWindow > 0) {
      const size = Math.min(MAX_DATA, this.sendWindow, chunk.length - offset);
      this.link.sendData(this.id, chunk.subarray(offset, offset + size));
      this.sendWindow -= size;
      offset += size;
    }
    if (offset < chunk.length) this.blocked = { chunk: chunk.subarray(offset), callback };
    else callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.link.sendEnd(this.id);
    callback();
  }

  override _read(): void {
    if (this.withheld > 0) {
      const bytes = this.withheld;
      this.withheld = 0;
      this.grant(bytes);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const clean = !error && this.endedByPeer && this.writableFinished;
    if (!clean && !this.resetByPeer) this.link.sendReset(this.id, error?.message ?? 'closed');
    this.link.released(this.id);
    if (this.blocked) this.blocked.callback(error ?? new Error('stream closed'));
    this.blocked = undefined;
    callback(error);
  }

  // Socket-shaped no-ops, so HTTP machinery (agents, upgrade proxies) can use a stream as its socket.
  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  setTimeout(): this {
    return this;
  }

  /** A DATA frame arrived. */
  receiveData(payload: Buffer): void {
    if (this.endedByPeer) throw new ProtocolError(`DATA after END on stream ${this.id}`);
    this.peerWindow -= payload.length;
    if (this.peerWindow < 0) throw new ProtocolError(`stream ${this.id} sent beyond its flow-control window`);
    if (this.destroyed) return;
    if (this.push(payload)) this.grant(payload.length);
    else this.withheld += payload.length;
  }

  receiveEnd(): void {
    if (this.endedByPeer) return;
    this.endedByPeer = true;
    this.push(null);
  }

  receiveCredit(bytes: number): void {
    this.sendWindow += bytes;
    const blocked = this.blocked;
    if (blocked) {
      this.blocked = undefined;
      this.send(blocked.chunk, blocked.callback);
    }
  }

  receiveReset(reason: string): void {
    this.resetByPeer = true;
    const error = Object.assign(new Error(`stream reset by peer: ${reason}`), { code: 'ECONNRESET' });
    this.destroy(error);
  }

  private grant(bytes: number): void {
    this.uncredited += bytes;
    if (this.uncredited >= CREDIT_BATCH) {
      this.link.sendCredit(this.id, this.uncredited);
      this.peerWindow += this.uncredited;
      this.uncredited = 0;
    }
  }
}
