/**
 * How much of something a kind of work may hold at once: taken before the work holds it, given
 * back once it no longer does. Bytes of a session's reads (taken before the read, given back once
 * its reply has been written out, so a client that asks faster than it reads waits for its own
 * replies), or slots of the thread pool for name look-ups. Waiters are served in order; one
 * request larger than the whole budget still runs, alone.
 */
export class Budget {
  private used = 0;
  private readonly waiting: { units: number; go(): void }[] = [];

  constructor(private readonly limit: number) {}

  /** Resolves once `units` fit; rejects (and waits no more) if `signal` aborts first. */
  take(units: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(aborted(signal));
    if (!this.waiting.length && this.fits(units)) {
      this.used += units;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        units,
        go: () => {
          signal?.removeEventListener('abort', leave);
          resolve();
        },
      };
      const leave = () => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(aborted(signal!));
      };
      signal?.addEventListener('abort', leave, { once: true });
      this.waiting.push(waiter);
    });
  }

  give(units: number): void {
    this.used -= units;
    while (this.waiting.length && this.fits(this.waiting[0].units)) {
      const next = this.waiting.shift()!;
      this.used += next.units;
      next.go();
    }
  }

  private fits(units: number): boolean {
    return this.used === 0 || this.used + units <= this.limit;
  }
}

/** Runs `task` once `budget` has `units` for it, and gives them back when it settles; not at all if `signal` aborts first. */
export async function within<T>(budget: Budget, units: number, task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  await budget.take(units, signal);
  try {
    return await task();
  } finally {
    budget.give(units);
  }
}

function aborted(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
