/**
 * Mirroring off the path: a mirrored port gets no REDIRECT and no hop through the sidecar. The
 * native addon captures the segments clients send to it (a packet socket with a kernel BPF filter
 * for the mirrored ports) and puts each connection's byte stream back together on a thread of its
 * own (capture.cc); each connection reaches the mirror as a CapturedConnection, with the bytes the
 * app received, in order. The app's packets have gone their way before any of this runs, so a
 * slow or gone laptop, or a sidecar that falls behind, costs the app nothing: the copy is dropped
 * ('lost', with the reason) and the session told.
 */
import { EventEmitter } from 'node:events';
import { native, type CaptureEvent, type CaptureStats } from '../native';
import type { Logger } from '../../common/log';
import type { Origin } from './origin';

/**
 * A captured connection: 'data' (what its client sent, in order), then 'end' when the client
 * finished, or 'lost' (why) when the copy was given up, then 'close'.
 */
export class CapturedConnection extends EventEmitter {
  constructor(readonly port: number) {
    super();
  }

  /** Ends the copy, without an 'end': the connection's bytes are no longer wanted or known. */
  close(why?: string): void {
    if (why) this.emit('lost', why);
    this.emit('close');
  }
}

export type OnCapturedConnection = (connection: CapturedConnection, origin: Origin) => void;

/** What the registry needs of a capture. */
export interface MirrorCapture {
  watch(port: number, loopbackOnly: boolean, onConnection: OnCapturedConnection): void;
  unwatch(port: number): void;
}

/** The pod's capture: one packet socket and thread for all mirrored ports, while there are some. */
export class PacketCapture implements MirrorCapture {
  private readonly ports = new Map<number, OnCapturedConnection>();
  private readonly connections = new Map<number, CapturedConnection>();
  private loopbackOnly = false;

  constructor(private readonly log: Logger) {}

  /**
   * Hands `onConnection` each new connection to `port` from now on: those from outside the pod, or
   * with `loopbackOnly` those a mesh's proxy makes to the app. Throws when the pod allows no
   * capture (a packet socket needs CAP_NET_RAW).
   */
  watch(port: number, loopbackOnly: boolean, onConnection: OnCapturedConnection): void {
    this.ports.set(port, onConnection);
    try {
      this.apply(loopbackOnly);
    } catch (error) {
      this.ports.delete(port);
      throw error;
    }
  }

  /** No more copies of `port`'s connections; those in flight end. */
  unwatch(port: number): void {
    if (!this.ports.delete(port)) return;
    if (this.ports.size) this.apply(this.loopbackOnly);
    else {
      native.captureStop();
      this.log.info('packet capture stopped', { ...this.stats() });
    }
    for (const [id, connection] of this.connections) {
      if (this.ports.has(connection.port)) continue;
      this.connections.delete(id);
      connection.close();
    }
  }

  /** What the capture has had to mend or give up so far. */
  stats(): CaptureStats {
    return native.captureStats();
  }

  private apply(loopbackOnly: boolean): void {
    native.captureStart([...this.ports.keys()], loopbackOnly, (events) => this.take(events));
    this.loopbackOnly = loopbackOnly;
  }

  private take(events: CaptureEvent[]): void {
    for (const event of events) {
      if (event[0] === 0) {
        const [, id, fromAddress, fromPort, toAddress, toPort] = event;
        const onConnection = this.ports.get(toPort);
        if (!onConnection) continue;
        const connection = new CapturedConnection(toPort);
        this.connections.set(id, connection);
        onConnection(connection, { port: toPort, remote: { address: fromAddress, port: fromPort }, local: { address: toAddress, port: toPort } });
        continue;
      }
      const connection = this.connections.get(event[1]);
      if (!connection) continue;
      if (event[0] === 1) {
        connection.emit('data', event[2]);
        continue;
      }
      this.connections.delete(event[1]);
      if (event[0] === 2) {
        // As a socket's: 'close' comes after 'end' in a later turn of the loop, so what reads the
        // last bytes (the filtered mirror's parser) has them before the copy is torn down. A
        // client's last bytes and its FIN often arrive in one batch.
        connection.emit('end');
        setImmediate(() => connection.close());
        continue;
      }
      // A reset (4) closes the copy without an end, as a reset connection's socket closes.
      connection.close(event[0] === 3 ? event[2] : undefined);
    }
  }
}
