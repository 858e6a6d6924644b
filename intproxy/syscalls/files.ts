/**
 * The file calls of the syscall mode, decided as the layer's file hooks are (docs/layer.md, "Which
 * files are the pod's"): a path the proxy calls the pod's is opened as the proxy's copy of the
 * pod's file, put into the program as the descriptor its call returns, so reads, seeks and maps
 * need nothing more; stat, access and readlink are answered from the pod. Under remote DNS a
 * program's own resolver (Go's, a static glibc's) reads the resolver files of resolver.ts instead of this
 * machine's, and a program reading its host name from /proc reads the pod's (hostname.ts). Opening for writing runs on this machine: without the layer's close hook, a written
 * copy could not go back to the pod.
 */
import { constants as fsConstants, openSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import type { Notification, SyscallNative } from '../../layer/syscall/native';
import { O_ACCMODE, opensForWriting } from '../../protocol/open-flags';
import type { ChannelHandlers, Reply } from '../channel';
import { errorReply } from '../errno';
import { afterWrite, CONTINUE, int, otherwise, type Answer, type CallHandler } from './answer';
import type { WrittenCopies } from './written-copies';

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const { O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY } = fsConstants;
/** Not in Node's constants: Node opens every file close-on-exec. */
const O_CLOEXEC = 0o2000000;
const PATH_MAX = 4096;

export class FileCalls {
  constructor(
    private readonly native: SyscallNative,
    private readonly handlers: ChannelHandlers,
    private readonly written: WrittenCopies,
    /** Paths the program opens that are files of ours instead (resolver.ts, hostname.ts): their local paths. */
    private readonly replacements: ReadonlyMap<string, string> = new Map(),
  ) {}

  calls(): Record<string, CallHandler> {
    const args = (call: Notification, i: number) => call.args[i]!;
    return {
      open: (call) => this.open(call, AT_FDCWD, args(call, 0), int(args(call, 1))),
      openat: (call) => this.open(call, int(args(call, 0)), args(call, 1), int(args(call, 2))),
      openat2: (call) => this.openat2(call),
      stat: (call) => this.stat(call, AT_FDCWD, args(call, 0), args(call, 1), 0, 'stat'),
      lstat: (call) => this.stat(call, AT_FDCWD, args(call, 0), args(call, 1), AT_SYMLINK_NOFOLLOW, 'stat'),
      newfstatat: (call) => this.stat(call, int(args(call, 0)), args(call, 1), args(call, 2), int(args(call, 3)), 'stat'),
      statx: (call) => this.stat(call, int(args(call, 0)), args(call, 1), args(call, 4), int(args(call, 2)), 'statx'),
      access: (call) => this.access(call, AT_FDCWD, args(call, 0), int(args(call, 1))),
      faccessat: (call) => this.access(call, int(args(call, 0)), args(call, 1), int(args(call, 2))),
      faccessat2: (call) => this.access(call, int(args(call, 0)), args(call, 1), int(args(call, 2))),
      readlink: (call) => this.readlink(call, AT_FDCWD, args(call, 0), args(call, 1), int(args(call, 2))),
      readlinkat: (call) => this.readlink(call, int(args(call, 0)), args(call, 1), args(call, 2), int(args(call, 3))),
    };
  }

  private async open(call: Notification, dirfd: number, pathAt: bigint, flags: number): Promise<Answer> {
    const path = this.pathOf(call, dirfd, pathAt);
    const writing = opensForWriting(flags);
    if (!path) return CONTINUE;
    await this.written.before(path);
    const replacement = this.replacements.get(path);
    let reply: Reply<'open'>;
    if (replacement) reply = writing ? { kind: 'local' } : { kind: 'path', copy: replacement };
    else if (flags & O_DIRECTORY && !writing) reply = await this.handlers.opendir({ op: 'opendir', flags, path });
    else reply = await this.handlers.open({ op: 'open', flags, path });
    if (reply.kind !== 'path') return otherwise(reply);
    // The copy, opened as the program asked: one to read is never written (nothing of the flags
    // can create or truncate it); one to write is the program's own, made already (the pod has
    // done what O_CREAT, O_EXCL and O_TRUNC ask).
    let fd: number;
    try {
      fd = openSync(reply.copy, flags & ~(O_CLOEXEC | O_CREAT | O_EXCL));
    } catch (error) {
      // The pod has opened it (created, truncated) already: the program hears why, it doesn't write here instead.
      return otherwise(errorReply(error));
    }
    // Only a descriptor that can write is told of when closed (IN_CLOSE_WRITE); O_RDONLY|O_CREAT was done in the pod.
    if ((flags & O_ACCMODE) !== O_RDONLY) this.written.watch(reply.copy, path);
    return { kind: 'fd', fd, cloexec: (flags & O_CLOEXEC) !== 0 };
  }

  /** openat2(dirfd, path, how, size): `how` starts with the open flags (a u64). */
  private openat2(call: Notification): Promise<Answer> {
    const how = this.native.readMemory(call.pid, call.args[2]!, 8);
    if (how.length < 8) return Promise.resolve(CONTINUE);
    return this.open(call, int(call.args[0]), call.args[1]!, Number(how.readBigUInt64LE() & 0xffffffffn));
  }

  private async stat(call: Notification, dirfd: number, pathAt: bigint, out: bigint, flags: number, kind: 'stat' | 'statx'): Promise<Answer> {
    if (flags & AT_EMPTY_PATH && this.native.readMemory(call.pid, pathAt, 1)[0] === 0) return CONTINUE; // fstat of a descriptor
    const path = this.pathOf(call, dirfd, pathAt);
    if (!path) return CONTINUE;
    await this.written.before(path);
    const reply = await this.handlers.stat({ op: 'stat', follow: (flags & AT_SYMLINK_NOFOLLOW) === 0, path });
    if (reply.kind !== 'ok') return otherwise(reply);
    const bytes = kind === 'stat' ? this.native.encodeStat(reply.stat) : this.native.encodeStatx(reply.stat);
    return afterWrite(this.native.writeMemory(call.pid, out, bytes), 0);
  }

  private async access(call: Notification, dirfd: number, pathAt: bigint, mode: number): Promise<Answer> {
    const path = this.pathOf(call, dirfd, pathAt);
    if (!path) return CONTINUE;
    await this.written.before(path);
    const reply = await this.handlers.access({ op: 'access', mode, path });
    return reply.kind === 'ok' ? { kind: 'value', value: 0 } : otherwise(reply);
  }

  private async readlink(call: Notification, dirfd: number, pathAt: bigint, out: bigint, size: number): Promise<Answer> {
    const path = this.pathOf(call, dirfd, pathAt);
    if (!path || size <= 0) return CONTINUE;
    const reply = await this.handlers.readlink({ op: 'readlink', path });
    if (reply.kind !== 'ok') return otherwise(reply);
    // As readlink(2): the target truncated to the room given, without a terminating NUL.
    const target = Buffer.from(reply.target).subarray(0, size);
    return afterWrite(this.native.writeMemory(call.pid, out, target), target.length);
  }

  /**
   * The absolute path a call names: its path argument, relative to its directory descriptor or
   * to the caller's working directory. Undefined when it can't be read, or is relative to a
   * directory this process can't name (the call then runs as made).
   */
  private pathOf(call: Notification, dirfd: number, pathAt: bigint): string | undefined {
    if (pathAt === 0n) return undefined;
    const bytes = this.native.readMemory(call.pid, pathAt, PATH_MAX, true);
    const end = bytes.indexOf(0);
    if (end <= 0) return undefined;
    const path = bytes.toString('utf8', 0, end);
    if (path.startsWith('/')) return posix.normalize(path);
    try {
      const base = readlinkSync(dirfd === AT_FDCWD ? `/proc/${call.pid}/cwd` : `/proc/${call.pid}/fd/${dirfd}`);
      return base.startsWith('/') ? posix.join(base, path) : undefined;
    } catch {
      return undefined;
    }
  }
}
