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
  /** Arms the event-loop watchdog (its thread starts the first time): see sidecar/watchdog.ts. */
  watchdogStart(stallMs: number, removals: string[][]): void;
  /** Disarms it. */
  watchdogStop(): void;
  /** The loop is alive now; returns how many times the watchdog has tripped so far. */
  watchdogBeat(): number;
}

export const native = require(packagePath('build/Release/sidecar_native.node')) as SidecarNative;
