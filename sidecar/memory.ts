/**
 * Gives memory back after a burst. The sidecar lives as long as the pod, under a tight memory
 * limit, and a burst (a large file copied in or out, a flood of connections) leaves two kinds of
 * slack behind: garbage V8 won't collect until it next allocates enough, and freed buffers glibc
 * keeps between live ones. Neither is a leak, but both count against the limit for the pod's
 * whole life. So when a session ends, and whenever resident memory has grown well past where it
 * last settled, the sidecar collects its garbage and trims malloc's free memory: a few
 * milliseconds, and back within a few MB of idle. The sidecar also runs with
 * `--max-semi-space-size=1` (its images' entrypoints): a burst would otherwise grow V8's young
 * generation by megabytes, committed until V8 shrinks it again, whatever a collection frees.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Logger } from '../common/log';
import { native } from './native';

/** How often growth is checked. */
const CHECK_MS = 5000;
/** Growth past the last settled size that calls for a reclaim. */
const GROWTH_BYTES = 16 * 1024 * 1024;
/** A reclaim asked for (a session ended) waits this long, so a burst of endings makes one. */
const SETTLE_MS = 1000;
/**
 * A reclaim is repeated once this long after: what a collection frees is partly given back
 * later (array buffers' memory is released by a background sweeper, the session's last sockets
 * and file operations finish after it ends), so a trim right after the collection misses it.
 */
const FOLLOW_UP_MS = 3000;

// A collection on demand: V8's own `gc`, which the flag exposes to contexts created after it.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

export class MemoryReclaimer {
  private settledBytes = process.memoryUsage.rss();
  private timer?: NodeJS.Timeout;
  private soon?: NodeJS.Timeout;
  /** Lets go of caches before a collection (set once sessions are loaded: the frames' buffer pool). */
  beforeCollect: () => void = () => undefined;

  constructor(private readonly log: Logger) {}

  /**
   * Growth is checked only while some session is open: without one nothing grows, and an idle
   * sidecar wakes for nothing.
   */
  watch(sessions: number): void {
    if (sessions > 0 && !this.timer) {
      this.timer = setInterval(() => process.memoryUsage.rss() > this.settledBytes + GROWTH_BYTES && this.reclaim(), CHECK_MS);
      this.timer.unref();
    } else if (sessions === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Reclaims shortly (after a session ended). */
  reclaimSoon(): void {
    clearTimeout(this.soon);
    this.soon = setTimeout(() => {
      this.reclaim();
      this.soon = setTimeout(() => this.reclaim(), FOLLOW_UP_MS);
      this.soon.unref();
    }, SETTLE_MS);
    this.soon.unref();
  }

  stop(): void {
    this.watch(0);
    clearTimeout(this.soon);
  }

  private reclaim(): void {
    const before = process.memoryUsage.rss();
    this.beforeCollect();
    collectGarbage();
    native.trimMemory();
    this.settledBytes = process.memoryUsage.rss();
    this.log.debug('memory reclaimed', { beforeMiB: mib(before), afterMiB: mib(this.settledBytes) });
  }
}

const mib = (bytes: number) => Math.round(bytes / 1024 / 102.4) / 10;
