/**
 * Whether a session's client is answering, known within `graceMs`. Stolen traffic waits on the
 * laptop, so a laptop that froze (asleep, off the network, its CLI stopped) would hang the app's
 * clients until the heartbeat (MIRRORD_HEARTBEAT_MS) ends the session, seconds later. While a
 * session steals, any byte it sends counts as an answer, and a ping asks for one after half the
 * grace of silence; past the grace, the session is not answering until it is heard again.
 *
 * A ping queued behind a large transfer to a slow link is answered late: such a session can
 * count as not answering for a while, and its new connections then go to the app meanwhile.
 */
import type WebSocket from 'ws';
import { onBytesIn } from '../protocol/peer';

export class AnsweringWatch {
  private lastHeard = performance.now();
  private lastPing = 0;
  private timer?: NodeJS.Timeout;
  private answeringNow = true;

  constructor(
    private readonly socket: WebSocket,
    private readonly graceMs: number,
    /** Told each time the client stops answering (false) and answers again (true). */
    private readonly onChange: (answering: boolean, silentMs: number) => void,
  ) {
    const heard = () => this.heard();
    onBytesIn(socket, heard);
    socket.on('pong', heard);
  }

  get answering(): boolean {
    return this.answeringNow;
  }

  /** Starts watching (the session holds a steal); idempotent. */
  start(): void {
    if (this.timer) return;
    this.lastHeard = performance.now();
    this.timer = setInterval(() => this.check(), Math.max(10, Math.floor(this.graceMs / 5)));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private heard(): void {
    const silentMs = performance.now() - this.lastHeard;
    this.lastHeard = performance.now();
    if (this.answeringNow) return;
    this.answeringNow = true;
    this.onChange(true, silentMs);
  }

  private check(): void {
    const now = performance.now();
    const silentMs = now - this.lastHeard;
    if (silentMs >= this.graceMs / 2 && now - this.lastPing >= this.graceMs / 2 && this.socket.readyState === this.socket.OPEN) {
      this.lastPing = now;
      this.socket.ping();
    }
    if (silentMs < this.graceMs || !this.answeringNow) return;
    // After a stall of our own event loop the answer may be waiting, unread: read it first.
    setImmediate(() => {
      if (!this.answeringNow || !this.timer || performance.now() - this.lastHeard < this.graceMs) return;
      this.answeringNow = false;
      this.onChange(false, performance.now() - this.lastHeard);
    });
  }
}
