/**
 * How the cluster components (the webhook, the operator) stop on SIGTERM or SIGINT: once, not
 * ready from then on, in-flight calls answered while their endpoints are removed, and forced out
 * if that takes too long.
 */
import type { Logger } from './log';

/** How long endpoints take to drop a terminating pod: calls may still arrive meanwhile. */
const DRAIN_MS = 3_000;
/** The kubelet's grace is 30 s by default; stopping never comes near it. */
const FORCE_AFTER_MS = 15_000;

export function stopOnSignals(log: Logger, stop: (drainMs: number) => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    setTimeout(() => process.exit(1), FORCE_AFTER_MS).unref();
    void stop(DRAIN_MS).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}
