/**
 * Backpressure on what a session sends. Its requests are read off the WebSocket only while fewer
 * than `requests` are being served and their attachments (file writes) hold fewer than `bytes`;
 * beyond, the socket is paused until replies go out. A client that sends faster than the sidecar
 * serves then waits, in its own buffers and the kernel's, instead of filling the sidecar's memory
 * with requests it can't serve yet. While paused the sidecar reads nothing from the client, pongs
 * included, so its liveness checks don't count that time as the client's silence.
 */
import type WebSocket from 'ws';

export class Inflow {
  private requests = 0;
  private bytes = 0;

  constructor(
    private readonly socket: WebSocket,
    private readonly limits: { requests: number; bytes: number },
  ) {}

  async serve<T>(attachmentBytes: number, task: () => Promise<T>): Promise<T> {
    this.requests++;
    this.bytes += attachmentBytes;
    this.adjust();
    try {
      return await task();
    } finally {
      this.requests--;
      this.bytes -= attachmentBytes;
      this.adjust();
    }
  }

  private adjust(): void {
    const full = this.requests >= this.limits.requests || this.bytes >= this.limits.bytes;
    if (full && !this.socket.isPaused) this.socket.pause();
    else if (!full && this.socket.isPaused) this.socket.resume();
  }
}
