/**
 * What one session may have the sidecar working on at once: `requests` requests, holding `bytes`
 * of attachments (file writes). One beyond either is refused at once with EAGAIN, and its bytes
 * are let go: a client that sends faster than the sidecar serves gets errors for the excess
 * instead of filling the sidecar's memory with work it can't do yet. Refusing (rather than no
 * longer reading the session) keeps the session's streams and pings flowing meanwhile.
 */
import { RemoteError } from '../protocol/errors';

export class Inflow {
  private requests = 0;
  private bytes = 0;

  constructor(private readonly limits: { requests: number; bytes: number }) {}

  async serve<T>(attachmentBytes: number, task: () => Promise<T>): Promise<T> {
    if (this.requests >= this.limits.requests) {
      throw new RemoteError('EAGAIN', `this session has ${this.requests} requests under way, its limit: wait for their replies`);
    }
    if (attachmentBytes && this.bytes + attachmentBytes > this.limits.bytes) {
      throw new RemoteError('EAGAIN', `this session's requests under way carry ${this.bytes} bytes, its limit ${this.limits.bytes}: wait for their replies`);
    }
    this.requests++;
    this.bytes += attachmentBytes;
    try {
      return await task();
    } finally {
      this.requests--;
      this.bytes -= attachmentBytes;
    }
  }
}
