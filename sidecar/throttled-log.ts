/**
 * Warnings a client can cause, at a bounded rate. Every refusal is worth a line, but a client
 * sending thousands of bad requests (or connections) a second must not turn them into thousands
 * of log lines: stderr is a pipe, whose writes block the event loop when its reader falls behind.
 * The first `perSecond` warnings of each second are written; the rest are counted, and the count
 * is written with the next warning that gets through.
 */
import type { Logger } from '../common/log';

export class ThrottledLog {
  private windowStart = 0;
  private written = 0;
  private suppressed = 0;

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
    if (this.written >= this.perSecond) {
      this.suppressed++;
      return;
    }
    this.written++;
    this.log.warn(msg, this.suppressed ? { ...fields, suppressedBefore: this.suppressed } : fields);
    this.suppressed = 0;
  }
}
