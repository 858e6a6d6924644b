/** The sidecar's native addon (built by node-gyp at `npm install`). */
import { packagePath } from '../../common/package-root';

export interface SidecarNative {
  originalDestination(fd: number): { address: string; port: number; family: 4 | 6 };
  /** The file calls run in libuv's pool (a hung volume holds a thread, never the event loop). */
  openInRoot(rootFd: number, path: string, flags: number, mode: number): Promise<number>;
  readlinkFd(fd: number): Promise<string>;
  /** renameat2(2): `flags` RENAME_NOREPLACE (1), RENAME_EXCHANGE (2). */
  renameAt(fromDirFd: number, fromName: string, toDirFd: number, toName: string, flags: number): Promise<number>;
  /**
   * A TCP socket bound to `from` (an address not the pod's: IP_TRANSPARENT), marked `mark`, its
   * connect to `to` under way: an fd for `new net.Socket({ fd })`. Throws an errno error.
   */
  transparentConnect(fromAddress: string, fromPort: number, toAddress: string, toPort: number, mark: number): number;
  /** malloc_trim(3): hands the memory malloc holds free back to the system; true if some was. */
  trimMemory(): boolean;
  /**
   * Copies the inbound bytes of new TCP connections to `ports` by packet capture (capture.cc);
   * called again, changes the ports. `onEvents` gets batches of CaptureEvent.
   */
  captureStart(ports: number[], loopbackOnly: boolean, onEvents: (events: CaptureEvent[]) => void): void;
  /** Stops capturing. */
  captureStop(): void;
  /** What the capture has had to mend or give up so far. */
  captureStats(): CaptureStats;
  /** Arms the event-loop watchdog (its thread starts the first time): see sidecar/watchdog.ts. */
  watchdogStart(stallMs: number, removals: string[][]): void;
  /** Disarms it. */
  watchdogStop(): void;
  /** The loop is alive now; returns how many times the watchdog has tripped so far. */
  watchdogBeat(): number;
}

/** What the capture reports: a connection opened, its client's bytes, its end, its copy given up, its reset. */
export type CaptureEvent =
  | [type: 0, id: number, fromAddress: string, fromPort: number, toAddress: string, toPort: number]
  | [type: 1, id: number, bytes: Buffer]
  | [type: 2, id: number]
  | [type: 3, id: number, why: string]
  | [type: 4, id: number];

export interface CaptureStats {
  /** Segments that arrived before one they follow, held until it came. */
  outOfOrder: number;
  /** Segments whose bytes had all been copied already (retransmits, duplicates). */
  repeated: number;
  /** Copies given up: a missed segment, or the event loop behind by more than the queue holds. */
  lost: number;
}

export const native = require(packagePath('build/Release/sidecar_native.node')) as SidecarNative;
