/**
 * What keeps the app's traffic flowing when the sidecar's own event loop stalls (a bug, a
 * pathological input we didn't foresee): the loop beats a native thread's clock every few tens of
 * milliseconds; the thread, which doesn't need the loop, removes the jump to our nat chain when
 * the beats stop for `stallMs`, so new connections reach the app directly instead of a listener
 * nobody serves. When the loop runs again, the jump is put back and the sessions go on.
 *
 * It is armed only while the jump exists (some port intercepted): with no rules there is nothing
 * to remove, and an idle sidecar, in every pod of a labeled namespace, must cost no CPU.
 *
 * The loop's delays measured here, while armed, are what the liveness endpoint reports
 * (sidecar/health.ts).
 */
import { native } from './native';

export interface WatchdogOptions {
  stallMs: number;
  /** Called on the loop once it runs again after the watchdog removed the jump. */
  onRecovered(): void;
}

export class Watchdog {
  private timer?: NodeJS.Timeout;
  private trips = 0;
  private last = performance.now();
  /** The longest time the loop took to come back to a beat, beyond its period, since the last report. */
  private worstDelayMs = 0;

  constructor(private readonly options: WatchdogOptions) {}

  /**
   * Watches the loop (the jumps to our chain are about to exist); `removals` are the commands
   * (argv lists) that remove them, run by the native thread on a stall.
   */
  arm(removals: string[][]): void {
    native.watchdogStart(this.options.stallMs, removals);
    if (this.timer) return;
    this.trips = native.watchdogBeat();
    this.last = performance.now();
    const periodMs = Math.min(100, Math.floor(this.options.stallMs / 10));
    this.timer = setInterval(() => this.beat(periodMs), periodMs);
    this.timer.unref();
  }

  /** Stops watching (the jump is gone). */
  disarm(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    native.watchdogStop();
  }

  /** The worst event-loop delay since the last call, in ms. */
  takeWorstDelayMs(): number {
    const worst = this.worstDelayMs;
    this.worstDelayMs = 0;
    return Math.round(worst);
  }

  private beat(periodMs: number): void {
    const now = performance.now();
    this.worstDelayMs = Math.max(this.worstDelayMs, now - this.last - periodMs);
    this.last = now;
    const trips = native.watchdogBeat();
    if (trips === this.trips) return;
    this.trips = trips;
    this.options.onRecovered();
  }
}
