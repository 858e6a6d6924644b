/**
 * File operations beneath the app root, and only where the pod's files are served: under the
 * app's mounts (or everywhere beneath the root, with the whole-container opt-in). Paths are the
 * app's own (absolute, as the app sees them); the kernel resolves them with the root as "/"
 * (openat2 RESOLVE_IN_ROOT), so neither ".." nor a symlink can reach outside it. A path whose
 * ".." climbs above "/" is refused outright rather than silently clamped. Changes (creating,
 * writing, removing) are made only for a session that may write.
 */
import fs from 'node:fs';
import { ErrorCode, RemoteError } from '../protocol/errors';
import { attachmentBuffer } from '../protocol/frame';
import type { FileTime, Params, Result, Stat } from '../protocol/messages';
import { opensForWriting } from '../protocol/open-flags';
import { native } from './native';

const { O_PATH = 0o10000000, O_NOFOLLOW, O_DIRECTORY, O_WRONLY, O_NONBLOCK, O_CREAT, O_EXCL } = fs.constants as typeof fs.constants & { O_PATH?: number };

/** The path through an fd, which the kernel follows to what the fd names (never further up). */
const viaFd = (fd: number, name?: string) => `/proc/self/fd/${fd}${name === undefined ? '' : `/${name}`}`;

function read(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buffer, 0, length, position, (error, n) => (error ? reject(error) : resolve(n))));
}

function write(fd: number, data: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, data, 0, data.length, position, (error, n) => (error ? reject(error) : resolve(n))));
}

/** "/a/../b" -> "b"; throws when ".." leaves "/". */
export function beneathRoot(path: string): string {
  if (!path.startsWith('/')) throw new RemoteError(ErrorCode.Invalid, `path "${path}" is not absolute`);
  if (path.includes('\0')) throw new RemoteError(ErrorCode.Invalid, 'path contains a NUL byte');
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (!parts.length) throw new RemoteError(ErrorCode.Escape, `path "${path}" escapes the app root`);
      parts.pop();
    } else parts.push(part);
  }
  return parts.length ? parts.join('/') : '.';
}

/**
 * The app root: its fd, opened once so a path resolution never starts from anywhere else, and
 * its path as the kernel names it, which is how /proc/self/fd names what is found beneath it.
 */
export interface AppRoot {
  fd: number;
  path: string;
}

export function openRoot(appRoot: string): AppRoot | Error {
  try {
    const fd = fs.openSync(appRoot, O_PATH | O_DIRECTORY);
    return { fd, path: fs.readlinkSync(viaFd(fd)) };
  } catch (error) {
    return new Error(`app root ${appRoot} is not available: ${(error as Error).message}`);
  }
}

interface Handle {
  position: number;
  /** Opened as a directory: listed with fs.readdir, never read. */
  directory: boolean;
  /** The size last seen (at open, or by a read it would have cut short: the file may have grown). */
  size: number;
}

/** One session's open files; all closed when the session ends. */
export class Files {
  /**
   * Whether the session may change files (its hello said `fs: "write"`). Until then nothing is
   * created, written, truncated or removed, whatever a client asks.
   */
  writable = false;
  private readonly handles = new Map<number, Handle>();
  /** The served paths, relative to the root as beneathRoot gives them ("." serves everything). */
  private readonly served: string[];

  constructor(
    private readonly root: AppRoot | Error,
    /** The app's paths files are served under: its mounts, or "/" for the whole root. */
    served: string[],
    /** How many files the session may hold open at once. */
    private readonly maxOpen = Infinity,
  ) {
    this.served = served.map(beneathRoot);
  }

  /**
   * Opens a regular file or a directory, as open(2) would with the client's flags. What is
   * neither (a FIFO, a device, a socket) is refused before it is opened at all, since opening or
   * reading it could hold the sidecar's event loop.
   */
  open(params: Params<'fs.open'>): Result<'fs.open'> {
    if (this.handles.size >= this.maxOpen) {
      throw new RemoteError('EMFILE', `this session has ${this.handles.size} files open, its limit: close some first`);
    }
    const flags = params.flags & ~O_PATH;
    if (opensForWriting(flags)) this.mayChange(`opening ${params.path} for writing`);
    const fd = this.openServed(params.path, flags, params.mode ?? 0o666);
    const stat = fs.fstatSync(fd);
    this.handles.set(fd, { position: 0, directory: stat.isDirectory(), size: stat.size });
    return { fd, stat: toStat(stat) };
  }

  /**
   * Reads into a buffer no larger than what is left of the file, not the length asked for (a
   * file that says it is empty, as /proc-like ones do, may still hold what was asked). The size
   * is looked at again only when the one last seen would cut the read short.
   */
  async read(params: Params<'fs.read'>): Promise<{ result: Result<'fs.read'>; attachment: Buffer }> {
    const handle = this.handle(params.fd);
    if (handle.directory) throw new RemoteError('EISDIR', 'a directory is listed with fs.readdir, not read');
    const position = params.position ?? handle.position;
    if (handle.size - position < params.length) handle.size = fs.fstatSync(params.fd).size;
    const length = handle.size > 0 ? Math.max(0, Math.min(params.length, handle.size - position)) : params.length;
    const buffer = attachmentBuffer(length);
    const bytesRead = length ? await read(params.fd, buffer, length, position) : 0;
    if (params.position === undefined) handle.position += bytesRead;
    return { result: { bytesRead }, attachment: buffer.subarray(0, bytesRead) };
  }

  async write(params: Params<'fs.write'>, data: Buffer = Buffer.alloc(0)): Promise<Result<'fs.write'>> {
    const handle = this.handle(params.fd);
    this.mayChange(`writing fd ${params.fd}`);
    const bytesWritten = await write(params.fd, data, params.position ?? handle.position);
    if (params.position === undefined) handle.position += bytesWritten;
    return { bytesWritten };
  }

  seek(params: Params<'fs.seek'>): Result<'fs.seek'> {
    const handle = this.handle(params.fd);
    const base = params.whence === 'set' ? 0 : params.whence === 'cur' ? handle.position : fs.fstatSync(params.fd).size;
    const position = base + params.offset;
    if (position < 0) throw new RemoteError('EINVAL', `seek to ${position} is before the start of the file`);
    handle.position = position;
    return { position };
  }

  fstat(params: Params<'fs.fstat'>): Result<'fs.fstat'> {
    this.handle(params.fd);
    return { stat: toStat(fs.fstatSync(params.fd)) };
  }

  stat(params: Params<'fs.stat'>): Result<'fs.stat'> {
    return this.withPath(params.path, params.follow ? 0 : O_NOFOLLOW, (fd) => ({ stat: toStat(fs.fstatSync(fd)) }));
  }

  readdir(params: Params<'fs.readdir'>): Result<'fs.readdir'> {
    return this.withPath(params.path, O_DIRECTORY, (fd) => ({
      entries: fs.readdirSync(viaFd(fd), { withFileTypes: true }).map((entry) => ({
        name: entry.name,
        type: entry.isFile() ? 'file' : entry.isDirectory() ? 'dir' : entry.isSymbolicLink() ? 'link' : 'other',
      })),
    }));
  }

  readlink(params: Params<'fs.readlink'>): Result<'fs.readlink'> {
    return this.withPath(params.path, O_NOFOLLOW, (fd) => ({ target: native.readlinkFd(fd) }));
  }

  access(params: Params<'fs.access'>): Result<'fs.access'> {
    return this.withPath(params.path, 0, (fd) => {
      fs.accessSync(viaFd(fd), params.mode);
      return {};
    });
  }

  close(params: Params<'fs.close'>): Result<'fs.close'> {
    this.handle(params.fd);
    this.handles.delete(params.fd);
    fs.closeSync(params.fd);
    return {};
  }

  // Changes by path. The last component is looked up in its parent, opened beneath the root,
  // so an entry that is a symlink is itself removed or renamed, never what it points to;
  // calls that act on the target (chmod, truncate, utimes) open it beneath the root first.

  mkdir(params: Params<'fs.mkdir'>): Result<'fs.mkdir'> {
    return this.change(`mkdir ${params.path}`, () => this.inParent(params.path, (dir, name) => fs.mkdirSync(viaFd(dir, name), { mode: params.mode })));
  }

  rmdir(params: Params<'fs.rmdir'>): Result<'fs.rmdir'> {
    return this.change(`rmdir ${params.path}`, () => this.inParent(params.path, (dir, name) => fs.rmdirSync(viaFd(dir, name))));
  }

  unlink(params: Params<'fs.unlink'>): Result<'fs.unlink'> {
    return this.change(`unlink ${params.path}`, () => this.inParent(params.path, (dir, name) => fs.unlinkSync(viaFd(dir, name))));
  }

  rename(params: Params<'fs.rename'>): Result<'fs.rename'> {
    return this.change(`rename ${params.from}`, () =>
      this.inParent(params.from, (fromDir, fromName) =>
        this.inParent(params.to, (toDir, toName) => native.renameAt(fromDir, fromName, toDir, toName, params.flags ?? 0)),
      ),
    );
  }

  truncate(params: Params<'fs.truncate'>): Result<'fs.truncate'> {
    return this.change(`truncate ${params.path}`, () => {
      const fd = this.openServed(params.path, O_WRONLY, 0);
      try {
        fs.ftruncateSync(fd, params.length);
      } finally {
        fs.closeSync(fd);
      }
    });
  }

  chmod(params: Params<'fs.chmod'>): Result<'fs.chmod'> {
    return this.change(`chmod ${params.path}`, () => this.withPath(params.path, 0, (fd) => fs.chmodSync(viaFd(fd), params.mode)));
  }

  utimes(params: Params<'fs.utimes'>): Result<'fs.utimes'> {
    return this.change(`utimes ${params.path}`, () =>
      this.withPath(params.path, 0, (fd) => {
        const current = fs.statSync(viaFd(fd));
        const time = (value: FileTime, kept: number) => (value === 'now' ? Date.now() : value === 'omit' ? kept : value) / 1000;
        fs.utimesSync(viaFd(fd), time(params.atime, current.atimeMs), time(params.mtime, current.mtimeMs));
      }),
    );
  }

  statfs(params: Params<'fs.statfs'>): Result<'fs.statfs'> {
    return this.withPath(params.path, 0, (fd) => {
      const { type, bsize, blocks, bfree, bavail, files, ffree } = fs.statfsSync(viaFd(fd));
      return { statfs: { type, bsize, blocks, bfree, bavail, files, ffree } };
    });
  }

  closeAll(): void {
    for (const fd of this.handles.keys()) fs.closeSync(fd);
    this.handles.clear();
  }

  /** Refuses a change for a session that may only read: the pod's files look read-only to it. */
  private mayChange(what: string): void {
    if (!this.writable) {
      throw new RemoteError(
        'EROFS',
        `${what}: this session may only read the pod's files (its client did not attach to write: feature.fs mode "write" or a read_write pattern)`,
      );
    }
  }

  /** A change by path, once mayChange allowed it. */
  private change(what: string, work: () => void): Record<string, never> {
    this.mayChange(what);
    work();
    return {};
  }

  /**
   * Opens `path` as open(2) would with `flags`, where it is served: an existing file through
   * the O_PATH fd that was checked (so O_TRUNC, or opening at all, touches only what may be
   * reached), a new one in its checked parent. Never waits: a FIFO without a writer or a reader
   * can't hold the sidecar.
   */
  private openServed(path: string, flags: number, mode: number): number {
    const creating = (flags & O_CREAT) !== 0;
    let found: number | undefined;
    // O_CREAT | O_EXCL creates or fails, whatever is there.
    if (!(creating && flags & O_EXCL)) {
      try {
        found = this.locate(path, flags & (O_NOFOLLOW | O_DIRECTORY));
      } catch (error) {
        if (!creating || (error as { code?: string }).code !== 'ENOENT') throw error;
      }
    }
    // Not followed: where a dangling symlink leads is not looked at, so nothing is created through one (ELOOP).
    if (found === undefined) return this.inParent(path, (dir, name) => native.openInRoot(dir, name, flags | O_NOFOLLOW | O_NONBLOCK, mode));
    try {
      const stat = fs.fstatSync(found);
      if (stat.isSymbolicLink()) throw new RemoteError('ELOOP', `${path} is a symlink and O_NOFOLLOW was asked for`);
      if (!stat.isFile() && !stat.isDirectory()) {
        throw new RemoteError('EPERM', `${path} is ${kindOf(stat)}: the sidecar serves regular files and directories only`);
      }
      // O_NOFOLLOW was the O_PATH open's to apply: here it would refuse /proc's link itself.
      return fs.openSync(viaFd(found), (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_NONBLOCK, mode);
    } finally {
      fs.closeSync(found);
    }
  }

  /**
   * Runs `use` on the entry `path` names: its parent directory's fd and its name there. The
   * parent must be served, so the root and the mount points themselves can't be created,
   * removed or renamed.
   */
  private inParent<T>(path: string, use: (dir: number, name: string) => T): T {
    const relative = beneathRoot(path);
    if (!this.isServed(relative)) throw this.notServed(path, 'is not under');
    const cut = relative.lastIndexOf('/');
    const parent = cut < 0 ? '.' : relative.slice(0, cut);
    if (relative === '.' || !this.isServed(parent)) throw new RemoteError('EBUSY', `${path} is the app root or one of its mounts: it can't be changed itself`);
    return this.withPath(`/${parent}`, O_DIRECTORY, (fd) => use(fd, relative.slice(cut + 1)));
  }

  private withPath<T>(path: string, flags: number, use: (fd: number) => T): T {
    const fd = this.locate(path, flags);
    try {
      return use(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * An O_PATH fd of what `path` names (O_NOFOLLOW, O_DIRECTORY as given), if it is served: the
   * path must lie under a served path, and so must what the kernel resolved it to, since a
   * symlink under a mount may lead anywhere in the root (RESOLVE_IN_ROOT keeps it inside the
   * root, not inside the mounts). An O_PATH open does nothing to what it finds, so nothing is
   * touched before both checks pass.
   */
  private locate(path: string, flags: number): number {
    if (this.root instanceof Error) throw new RemoteError('ENOENT', this.root.message);
    const relative = beneathRoot(path);
    if (!this.isServed(relative)) throw this.notServed(path, 'is not under');
    const fd = native.openInRoot(this.root.fd, relative, O_PATH | flags, 0);
    const found = beneath(this.root.path, fs.readlinkSync(viaFd(fd)));
    if (found === undefined || !this.isServed(found)) {
      fs.closeSync(fd);
      throw this.notServed(path, 'leads outside');
    }
    return fd;
  }

  /** Whether `relative` (beneath the root, as beneathRoot gives it) is a served path or beneath one. */
  private isServed(relative: string): boolean {
    return this.served.some((mount) => mount === '.' || relative === mount || relative.startsWith(`${mount}/`));
  }

  private notServed(path: string, how: 'is not under' | 'leads outside'): RemoteError {
    const mounts = this.served.map((mount) => `/${mount}`).join(', ') || 'none';
    return new RemoteError('EACCES', `${path} ${how} the app's mounts (${mounts}): the sidecar serves only those`);
  }

  private handle(fd: number): Handle {
    const handle = this.handles.get(fd);
    if (!handle) throw new RemoteError('EBADF', `fd ${fd} is not open in this session`);
    return handle;
  }
}

/** `location` (a path as /proc/self/fd names it) relative to `root` ("." for the root itself), or undefined when it is not beneath it. */
function beneath(root: string, location: string): string | undefined {
  if (location === root) return '.';
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return location.startsWith(prefix) ? location.slice(prefix.length) : undefined;
}

function kindOf(stat: fs.Stats): string {
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

function toStat(s: fs.Stats): Stat {
  return {
    dev: s.dev,
    ino: s.ino,
    mode: s.mode,
    nlink: s.nlink,
    uid: s.uid,
    gid: s.gid,
    rdev: s.rdev,
    size: s.size,
    blksize: s.blksize,
    blocks: s.blocks,
    atimeMs: s.atimeMs,
    mtimeMs: s.mtimeMs,
    ctimeMs: s.ctimeMs,
  };
}
