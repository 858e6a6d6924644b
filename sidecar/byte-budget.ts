/**
 * Bytes one session may have on their way at once: taken before the work that holds them
 * (a read's buffer), given back once they have left (its reply written to the transport). A
 * client that asks faster than it reads then waits for its own replies, instead of the sidecar
 * holding everything it asked for. Waiters are served in order; one request larger than the
 * whole budget still runs, alone.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiting: { bytes: number; go(): void }[] = [];

  constructor(private readonly limit: number) {}

  take(bytes: number): Promise<void> {
    if (!this.waiting.length && this.fits(bytes)) {
      this.used += bytes;
      return Promise.resolve();
    }
    return new Promise((go) => this.waiting.push({ bytes, go }));
  }

  give(bytes: number): void {
    this.used -= bytes;
    while (this.waiting.length && this.fits(this.waiting[0].bytes)) {
      const next = this.waiting.shift()!;
      this.used += next.bytes;
      next.go();
    }
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.limit;
  }
}
