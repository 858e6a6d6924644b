/**
 * Warnings a client can cause, at a bounded rate. Every refusal is worth a line, but a client
 * sending thousands of bad requests (or connections) a second must not turn them into thousands
 * of log lines: stderr is a pipe, whose writes block the event loop when its reader falls behind.
 * The first `perSecond` warnings of each second are written; the rest are counted, and the count
 * is written when that second is over.
 */
import type { Logger } from '../common/log';

export class ThrottledLog {
  private windowStart = 0;
  private written = 0;
  private suppressed = 0;
  private lastSuppressed = '';
  private flush?: NodeJS.Timeout;

  constructor(
    private readonly log: Logger,
    private readonly perSecond: number,
  ) {}

  warn(msg: string, fields: Record<string, unknown> = {}): void {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.written = 0;
    }
    if (this.written < this.perSecond) {
      this.written++;
      this.log.warn(msg, fields);
      return;
    }
    this.suppressed++;
    this.lastSuppressed = msg;
    this.flush ??= setTimeout(() => this.writeCount(), this.windowStart + 1000 - now);
    this.flush.unref();
  }

  private writeCount(): void {
    this.flush = undefined;
    this.log.warn(`${this.suppressed} more like this were left out in one second (the last: ${this.lastSuppressed})`, { suppressed: this.suppressed });
    this.suppressed = 0;
  }
}
