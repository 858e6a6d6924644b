/**
 * The syscall mode's native parts (built by node-gyp at `npm install`, from layer/syscall/): the
 * launcher that starts a program under the seccomp filter, and the addon through which the
 * mirrord process receives and answers its trapped calls. The decisions are the local proxy's
 * (intproxy/syscalls/).
 */
import { packagePath } from '../../common/package-root';

/** A trapped call: which thread made it, the call's number and its six raw arguments. */
export interface Notification {
  id: bigint;
  /** The notification descriptor it came from (for idValid). */
  notifyFd: number;
  pid: number;
  nr: number;
  args: bigint[];
}

export interface Endpoint {
  address: string;
  port: number;
}

export interface SocketInfo {
  family: number;
  /** SOCK_STREAM (1), SOCK_DGRAM (2), … */
  type: number;
  inode: number;
  local: Endpoint | null;
  peer: Endpoint | null;
  /** SO_RCVTIMEO: how long a blocking receive or accept waits; 0 for ever. */
  receiveTimeoutMs: number;
}

/** A datagram received by `receive`. */
export interface Received {
  /** What fitted of it. */
  data: Buffer;
  /** What recvmsg returned: with MSG_TRUNC, the whole datagram's length. */
  length: number;
  /** The ancillary data (struct cmsghdr's). */
  control: Buffer;
  /** recvmsg's msg_flags (MSG_TRUNC, MSG_CTRUNC). */
  flags: number;
  from: Endpoint | null;
}

export interface StatFields {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** The addon. Calls on descriptors and processes return 0 (or a descriptor) or -errno. */
export interface SyscallNative {
  /** The numbers of the trapped calls, by name (this architecture's). */
  calls: Record<string, number>;
  /** Takes the notification descriptor `fd` of process `pid`; `deliver` gets each trapped call, then null when no process is left. */
  supervise(pid: number, fd: number, deliver: (notification: Notification | null) => void): number;
  respond(notifyFd: number, id: bigint, value: number, error: number, continueCall: boolean): number;
  /** Whether the call still waits for its answer (its thread wasn't interrupted or killed since). */
  idValid(notifyFd: number, id: bigint): boolean;
  /** Puts our `fd` into the caller, whose call returns its number there. */
  addFd(notifyFd: number, id: bigint, fd: number, cloexec: boolean): number;
  /** A descriptor of ours for the caller's `fd` (the same open file). */
  takeFd(pid: number, fd: number): number;
  /** At most `length` bytes (fewer at an unmapped page); a `string` stops once its NUL is read. */
  readMemory(pid: number, address: bigint, length: number, string?: boolean): Buffer;
  writeMemory(pid: number, address: bigint, data: Buffer): number;
  /** The program's recvfrom and recvmsg on descriptor number `fd` (in any of its processes) come to the supervisor; others run at once. */
  watchReceives(fd: number): void;
  connectTo(fd: number, ip: string, port: number): number;
  bindTo(fd: number, ip: string, port: number): number;
  listenOn(fd: number, backlog: number): number;
  /** accept4 on a listener, never waiting: the new descriptor (ours) and its peer, or -errno (EAGAIN: none yet). */
  acceptFrom(fd: number, flags: number): { fd: number; peer: Endpoint | null } | number;
  /** Whether calls on the open file wait (no O_NONBLOCK). */
  blocks(fd: number): boolean;
  /** One datagram to ip:port (with a sendmsg's ancillary data), never waiting: bytes sent, or -errno. */
  sendTo(fd: number, data: Buffer, flags: number, ip: string, port: number, control?: Buffer): number;
  /** One datagram, never waiting, at most `capacity` bytes and `controlCapacity` of ancillary data; or -errno (EAGAIN: none yet). */
  receive(fd: number, capacity: number, controlCapacity: number, flags: number): Received | number;
  /** Calls `done(true)` once `fd` is readable (a listener: has a connection), `done(false)` after `timeoutMs`; 0 or -errno. */
  whenReadable(fd: number, timeoutMs: number, done: (ready: boolean) => void): number;
  /** An inotify descriptor, `readable` called when it has close events for readCloses; or -errno. */
  watchCloses(readable: () => void): number;
  /** The watches (watchClose results) of the files closed after writing that `watcher` has queued now. */
  readCloses(watcher: number): number[];
  /** Watches `path` for its one close after writing: the watch, or -errno. */
  watchClose(watcher: number, path: string): number;
  socketInfo(fd: number): SocketInfo | null;
  parseSockaddr(data: Buffer): (Endpoint & { family: number }) | null;
  sockaddr(family: number, ip: string, port: number): Buffer;
  encodeStat(stat: StatFields): Buffer;
  encodeStatx(stat: StatFields): Buffer;
}

/** The launcher: `launcherPath() PROGRAM ARGS…`, with mirrord's channel on fd 3. */
export function launcherPath(): string {
  return packagePath('build/Release/mirrord_syscall_launcher');
}

let loaded: SyscallNative | undefined;

export function syscallNative(): SyscallNative {
  loaded ??= require(packagePath('build/Release/mirrord_syscall.node')) as SyscallNative;
  return loaded;
}
