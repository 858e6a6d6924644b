/**
 * File operations beneath the app root, and only where the pod's files are served: under the
 * app's mounts (or everywhere beneath the root, with the whole-container opt-in). Paths are the
 * app's own (absolute, as the app sees them); the kernel resolves them with the root as "/"
 * (openat2 RESOLVE_IN_ROOT), so neither ".." nor a symlink can reach outside it. A path whose
 * ".." climbs above "/" is refused outright rather than silently clamped. Changes (creating,
 * writing, removing) are made only for a session that may write.
 */
import fs from 'node:fs';
import { promisify } from 'node:util';
import { ErrorCode, OUTSIDE_MOUNTS, RemoteError } from '../protocol/errors';
import { attachmentBuffer } from '../protocol/frame';
import type { FsPathRules, PathUse } from '../protocol/fs-paths';
import type { FileTime, Params, Result, Stat } from '../protocol/messages';
import { opensForWriting } from '../protocol/open-flags';
import { native } from './native';

const { O_PATH = 0o10000000, O_NOFOLLOW, O_DIRECTORY, O_WRONLY, O_NONBLOCK, O_CREAT, O_EXCL } = fs.constants as typeof fs.constants & { O_PATH?: number };

/** renameat2's flag that swaps the two entries. */
const RENAME_EXCHANGE = 2;

/** The most JSON one page of a listing holds (names, escaped, and their types): far below a frame's limit. */
const LISTING_PAGE_BYTES = 512 * 1024;
/** Unfinished listings one session keeps. */
const MAX_LISTINGS = 16;

/** The path through an fd, which the kernel follows to what the fd names (never further up). */
const viaFd = (fd: number, name?: string) => `/proc/self/fd/${fd}${name === undefined ? '' : `/${name}`}`;

const fstat = promisify(fs.fstat);
const close = promisify(fs.close);
const openFd = promisify(fs.open);
const ftruncate = promisify(fs.ftruncate);
/** Closes an fd that nothing waits on (a session's leftovers, a late open). */
const closeQuietly = (fd: number) => fs.close(fd, () => undefined);
/** Closes a listing that nothing waits on. */
const closeListingQuietly = (dir: fs.Dir) => void dir.close().catch(() => undefined);

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

interface Listing {
  dir: fs.Dir;
  /** Whether an entry's name is left out (a path rule says it doesn't exist). */
  hides?: (name: string) => boolean;
}

interface Handle {
  position: number;
  /** Opened as a directory: listed with fs.readdir, never read. */
  directory: boolean;
  /** The size last seen (at open, or by a read it would have cut short: the file may have grown). */
  size: number;
  /** Operations on the fd still running in a thread (a timed-out one included): its close waits for them. */
  busy: number;
  /** Called when `busy` drops to 0 (set by a close waiting for it). */
  drained?: () => void;
}

/**
 * One session's open files; all closed when the session ends. Everything that could wait on the
 * file system (a hung network volume, a frozen one, a huge directory) runs in libuv's threads,
 * not on the event loop, and gets `callMs` to finish: past it, the client gets ETIMEDOUT and the
 * work's late result is let go (a late fd is closed). Resolving a path (openat2 with O_PATH)
 * stays on the loop: it reads no data and changes nothing.
 */
export class Files {
  /**
   * Whether the session may change files (its hello said `fs: "write"`). Until then nothing is
   * created, written, truncated or removed, whatever a client asks.
   */
  writable = false;
  /** Why the session may only read, when something other than its client's choice decided it. */
  readOnlyReason: string | undefined;
  /** Its ticket's path rules (readOnly, local, notFound), checked on each path asked for and where it leads. */
  pathRules: FsPathRules | undefined;
  private readonly handles = new Map<number, Handle>();
  /** Opens under way, counted against maxOpen with the open files. */
  private opening = 0;
  /** The session ended (closeAll): what finishes after that is closed at once. */
  private closed = false;
  /** Operations that timed out and still run in a thread of the pool. */
  private stuck = 0;
  /** Directory listings a client is reading page by page, by cursor. */
  private readonly listings = new Map<number, Listing>();
  private nextListing = 1;
  /** The served paths, relative to the root as beneathRoot gives them ("." serves everything). */
  private readonly served: string[];

  constructor(
    private readonly root: AppRoot | Error,
    /** The app's paths files are served under: its mounts, or "/" for the whole root. */
    served: string[],
    /** How many files the session may hold open at once. */
    private readonly maxOpen = Infinity,
    /** How long one operation may take before the client is told ETIMEDOUT. */
    private readonly callMs = Infinity,
    /** How many timed-out operations may still hold a thread before new ones are refused (admit). */
    private readonly maxStuck = Infinity,
  ) {
    this.served = served.map(beneathRoot);
  }

  /**
   * Opens a regular file or a directory, as open(2) would with the client's flags. What is
   * neither (a FIFO, a device, a socket) is refused before it is opened at all, since opening or
   * reading it could hold the sidecar's event loop.
   */
  async open(params: Params<'fs.open'>): Promise<Result<'fs.open'>> {
    if (this.handles.size + this.opening >= this.maxOpen) {
      throw new RemoteError('EMFILE', `this session has ${this.handles.size + this.opening} files open, its limit: close some first`);
    }
    const flags = params.flags & ~O_PATH;
    if (opensForWriting(flags)) this.mayChange(`opening ${params.path} for writing`);
    const opening = this.openServed(params.path, flags, params.mode ?? 0o666, opensForWriting(flags) ? 'change' : 'read').then(async (fd) => {
      try {
        return { fd, stat: await fstat(fd) };
      } catch (error) {
        closeQuietly(fd);
        throw error;
      }
    });
    this.opening++;
    let opened: { fd: number; stat: fs.Stats };
    try {
      opened = await this.bounded(`open ${params.path}`, opening, (late) => closeQuietly(late.fd));
    } finally {
      this.opening--;
    }
    const { fd, stat } = opened;
    if (this.closed) {
      closeQuietly(fd);
      throw new RemoteError('EBADF', 'the session ended while the file was being opened');
    }
    this.handles.set(fd, { position: 0, directory: stat.isDirectory(), size: stat.size, busy: 0 });
    return { fd, stat: toStat(stat) };
  }

  /**
   * Reads into a buffer no larger than what is left of the file, not the length asked for (a
   * file that says it is empty, as /proc-like ones do, may still hold what was asked). The size
   * is looked at again only when the one last seen would cut the read short.
   */
  read(params: Params<'fs.read'>): Promise<{ result: Result<'fs.read'>; attachment: Buffer }> {
    return this.onHandle(`read fd ${params.fd}`, params.fd, async (handle) => {
      if (handle.directory) throw new RemoteError('EISDIR', 'a directory is listed with fs.readdir, not read');
      const position = params.position ?? handle.position;
      if (handle.size - position < params.length) handle.size = (await fstat(params.fd)).size;
      const length = handle.size > 0 ? Math.max(0, Math.min(params.length, handle.size - position)) : params.length;
      const buffer = attachmentBuffer(length);
      const bytesRead = length ? await read(params.fd, buffer, length, position) : 0;
      if (params.position === undefined) handle.position += bytesRead;
      return { result: { bytesRead }, attachment: buffer.subarray(0, bytesRead) };
    });
  }

  write(params: Params<'fs.write'>, data: Buffer = Buffer.alloc(0)): Promise<Result<'fs.write'>> {
    this.mayChange(`writing fd ${params.fd}`);
    return this.onHandle(`write fd ${params.fd}`, params.fd, async (handle) => {
      const bytesWritten = await write(params.fd, data, params.position ?? handle.position);
      if (params.position === undefined) handle.position += bytesWritten;
      return { bytesWritten };
    });
  }

  seek(params: Params<'fs.seek'>): Promise<Result<'fs.seek'>> {
    return this.onHandle(`seek fd ${params.fd}`, params.fd, async (handle) => {
      const base = params.whence === 'set' ? 0 : params.whence === 'cur' ? handle.position : (await fstat(params.fd)).size;
      const position = base + params.offset;
      if (position < 0) throw new RemoteError('EINVAL', `seek to ${position} is before the start of the file`);
      handle.position = position;
      return { position };
    });
  }

  fstat(params: Params<'fs.fstat'>): Promise<Result<'fs.fstat'>> {
    return this.onHandle(`fstat fd ${params.fd}`, params.fd, async () => ({ stat: toStat(await fstat(params.fd)) }));
  }

  stat(params: Params<'fs.stat'>): Promise<Result<'fs.stat'>> {
    return this.withPath(`stat ${params.path}`, params.path, params.follow ? 0 : O_NOFOLLOW, 'read', async (fd) => ({ stat: toStat(await fstat(fd)) }));
  }

  /**
   * A page of a directory's entries, at most LISTING_PAGE_BYTES of JSON (so any directory fits in
   * frames, however many entries it has); `cursor` continues a listing where its last page ended.
   */
  async readdir(params: Params<'fs.readdir'>): Promise<Result<'fs.readdir'>> {
    const what = `readdir ${params.path}`;
    const listing = params.cursor === undefined ? await this.openListing(what, params.path) : this.takeListing(params.cursor);
    const { dir, hides } = listing;
    const entries: Result<'fs.readdir'>['entries'] = [];
    let bytes = 0;
    try {
      while (bytes < LISTING_PAGE_BYTES) {
        const entry = await this.bounded(what, dir.read());
        if (entry === null) {
          await dir.close();
          return { entries };
        }
        if (hides?.(entry.name)) continue;
        bytes += JSON.stringify(entry.name).length + 24;
        entries.push({
          name: entry.name,
          type: entry.isFile() ? 'file' : entry.isDirectory() ? 'dir' : entry.isSymbolicLink() ? 'link' : 'other',
        });
      }
    } catch (error) {
      closeListingQuietly(dir);
      throw error;
    }
    const cursor = params.cursor ?? this.nextListing++;
    this.keepListing(cursor, listing);
    return { entries, cursor };
  }

  /** A directory's listing; with path rules, what leaves out the names of its entries that don't exist for the session. */
  private openListing(what: string, path: string): Promise<Listing> {
    const rules = this.pathRules;
    return this.withPath(
      what,
      path,
      O_DIRECTORY,
      'read',
      async (fd) => {
        // As asked, and where the kernel resolved it: a name hidden under either stays hidden.
        const found = rules && beneath((this.root as AppRoot).path, await fs.promises.readlink(viaFd(fd)));
        const asked = rules && beneathRoot(path);
        const hides = rules && ((name: string) => [asked, found].some((dir) => dir !== undefined && rules.hides(absolute(dir, name))));
        return { dir: await fs.promises.opendir(viaFd(fd), { bufferSize: 256 }), hides };
      },
      (late) => closeListingQuietly(late.dir),
    );
  }

  private takeListing(cursor: number): Listing {
    const listing = this.listings.get(cursor);
    if (!listing) throw new RemoteError(ErrorCode.Invalid, `listing ${cursor} is over or was let go (a session keeps ${MAX_LISTINGS} unfinished): list again`);
    this.listings.delete(cursor);
    return listing;
  }

  /** An unfinished listing holds an fd: a session keeps a few, the oldest let go first. */
  private keepListing(cursor: number, listing: Listing): void {
    if (this.closed) {
      closeListingQuietly(listing.dir);
      throw new RemoteError('EBADF', 'the session ended while the directory was being listed');
    }
    this.listings.set(cursor, listing);
    for (const [old, oldest] of this.listings) {
      if (this.listings.size <= MAX_LISTINGS) break;
      this.listings.delete(old);
      closeListingQuietly(oldest.dir);
    }
  }

  readlink(params: Params<'fs.readlink'>): Promise<Result<'fs.readlink'>> {
    return this.withPath(`readlink ${params.path}`, params.path, O_NOFOLLOW, 'read', async (fd) => ({ target: await native.readlinkFd(fd) }));
  }

  access(params: Params<'fs.access'>): Promise<Result<'fs.access'>> {
    const writing = (params.mode & fs.constants.W_OK) !== 0;
    if (writing) this.mayChange(`access ${params.path} for writing`);
    return this.withPath(`access ${params.path}`, params.path, 0, writing ? 'change' : 'read', async (fd) => {
      await fs.promises.access(viaFd(fd), params.mode);
      return {};
    });
  }

  /** A written file's close can flush to a network volume: it gets the same bound as the rest. */
  async close(params: Params<'fs.close'>): Promise<Result<'fs.close'>> {
    const handle = this.handle(params.fd);
    this.handles.delete(params.fd);
    // Not while an operation on it still runs: the number could be reused under it, by then another file.
    const idle = handle.busy ? new Promise<void>((resolve) => (handle.drained = resolve)) : Promise.resolve();
    await this.bounded(
      `close fd ${params.fd}`,
      idle.then(() => close(params.fd)),
    );
    return {};
  }

  // Changes by path. The last component is looked up in its parent, opened beneath the root,
  // so an entry that is a symlink is itself removed or renamed, never what it points to;
  // calls that act on the target (chmod, truncate, utimes) open it beneath the root first.

  mkdir(params: Params<'fs.mkdir'>): Promise<Result<'fs.mkdir'>> {
    const what = `mkdir ${params.path}`;
    return this.change(what, () => this.inParent(what, params.path, (dir, name) => fs.promises.mkdir(viaFd(dir, name), { mode: params.mode })));
  }

  rmdir(params: Params<'fs.rmdir'>): Promise<Result<'fs.rmdir'>> {
    const what = `rmdir ${params.path}`;
    return this.change(what, () => this.inParent(what, params.path, (dir, name) => fs.promises.rmdir(viaFd(dir, name))));
  }

  unlink(params: Params<'fs.unlink'>): Promise<Result<'fs.unlink'>> {
    const what = `unlink ${params.path}`;
    return this.change(what, () => this.inParent(what, params.path, (dir, name) => fs.promises.unlink(viaFd(dir, name))));
  }

  rename(params: Params<'fs.rename'>): Promise<Result<'fs.rename'>> {
    const what = `rename ${params.from}`;
    const flags = params.flags ?? 0;
    return this.change(what, () =>
      this.inParent(what, params.from, (fromDir, fromName) =>
        this.inParent(what, params.to, async (toDir, toName) => {
          if (this.pathRules) {
            // Path rules are checked on the names a request gives: a directory renamed would take
            // what lies beneath it out from under them. EXDEV makes mv copy it file by file instead.
            await this.refuseDirectory(what, viaFd(fromDir, fromName));
            if (flags & RENAME_EXCHANGE) await this.refuseDirectory(what, viaFd(toDir, toName));
          }
          await native.renameAt(fromDir, fromName, toDir, toName, flags);
        }),
      ),
    );
  }

  private async refuseDirectory(what: string, path: string): Promise<void> {
    const stat = await fs.promises.lstat(path).catch(() => undefined);
    if (stat?.isDirectory()) {
      throw new RemoteError('EXDEV', `${what}: directories are not renamed in a session held to path rules (its ticket's fsPaths); files are, one by one`);
    }
  }

  truncate(params: Params<'fs.truncate'>): Promise<Result<'fs.truncate'>> {
    const what = `truncate ${params.path}`;
    return this.change(what, async () => {
      const opening = this.openServed(params.path, O_WRONLY, 0, 'change');
      const fd = await this.bounded(what, opening, closeQuietly);
      try {
        await this.bounded(what, ftruncate(fd, params.length));
      } finally {
        closeQuietly(fd);
      }
    });
  }

  chmod(params: Params<'fs.chmod'>): Promise<Result<'fs.chmod'>> {
    const what = `chmod ${params.path}`;
    return this.change(what, () => this.withPath(what, params.path, 0, 'change', (fd) => fs.promises.chmod(viaFd(fd), params.mode)));
  }

  utimes(params: Params<'fs.utimes'>): Promise<Result<'fs.utimes'>> {
    const what = `utimes ${params.path}`;
    return this.change(what, () =>
      this.withPath(what, params.path, 0, 'change', async (fd) => {
        const current = await fs.promises.stat(viaFd(fd));
        const time = (value: FileTime, kept: number) => (value === 'now' ? Date.now() : value === 'omit' ? kept : value) / 1000;
        await fs.promises.utimes(viaFd(fd), time(params.atime, current.atimeMs), time(params.mtime, current.mtimeMs));
      }),
    );
  }

  statfs(params: Params<'fs.statfs'>): Promise<Result<'fs.statfs'>> {
    return this.withPath(`statfs ${params.path}`, params.path, 0, 'read', async (fd) => {
      const { type, bsize, blocks, bfree, bavail, files, ffree } = await fs.promises.statfs(viaFd(fd));
      return { statfs: { type, bsize, blocks, bfree, bavail, files, ffree } };
    });
  }

  closeAll(): void {
    this.closed = true;
    for (const [fd, handle] of this.handles) {
      if (handle.busy) handle.drained = () => closeQuietly(fd);
      else closeQuietly(fd);
    }
    this.handles.clear();
    for (const { dir } of this.listings.values()) closeListingQuietly(dir);
    this.listings.clear();
  }

  /**
   * `work`, or ETIMEDOUT once it has taken callMs; `late` gets what it gives after that (so an
   * fd opened too late is closed). The work itself goes on in its thread: it can't be stopped.
   */
  private bounded<T>(what: string, work: Promise<T>, late?: (value: T) => void): Promise<T> {
    if (this.callMs === Infinity) return work;
    return new Promise<T>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        this.stuck++;
        reject(new RemoteError('ETIMEDOUT', `${what}: the pod's file system did not answer within ${this.callMs / 1000} s`));
      }, this.callMs);
      const settled = () => {
        clearTimeout(timer);
        if (timedOut) this.stuck--;
      };
      work.then(
        (value) => {
          settled();
          if (timedOut) late?.(value);
          else resolve(value);
        },
        (error: unknown) => {
          settled();
          if (!timedOut) reject(error);
        },
      );
    });
  }

  /**
   * Refuses new file operations while `maxStuck` of the session's timed-out ones still hold a
   * thread of the pool (their volume hasn't answered): one session on a hung volume can't take
   * every thread the other sessions' files need.
   */
  admit(what: string): void {
    if (this.stuck >= this.maxStuck) {
      throw new RemoteError(
        'EAGAIN',
        `${what}: ${this.stuck} of this session's file operations timed out and are still waiting for the pod's file system; try again once they end`,
      );
    }
  }

  /** Refuses a change for a session that may only read: the pod's files look read-only to it. */
  private mayChange(what: string): void {
    if (!this.writable) {
      throw new RemoteError(
        'EROFS',
        `${what}: this session may only read the pod's files (${this.readOnlyReason ?? 'its client did not attach to write: feature.fs mode "write" or a read_write pattern'})`,
      );
    }
  }

  /** A change by path, once mayChange allowed it. */
  private async change(what: string, work: () => Promise<unknown>): Promise<Record<string, never>> {
    this.mayChange(what);
    await work();
    return {};
  }

  /**
   * Opens `path` as open(2) would with `flags`, where it is served: an existing file through
   * the O_PATH fd that was checked (so O_TRUNC, or opening at all, touches only what may be
   * reached), a new one in its checked parent. Never waits: a FIFO without a writer or a reader
   * can't hold the sidecar.
   */
  private async openServed(path: string, flags: number, mode: number, use: PathUse): Promise<number> {
    const creating = (flags & O_CREAT) !== 0;
    let found: number | undefined;
    // O_CREAT | O_EXCL creates or fails, whatever is there.
    if (!(creating && flags & O_EXCL)) {
      try {
        found = await this.locate(path, flags & (O_NOFOLLOW | O_DIRECTORY), use);
      } catch (error) {
        if (!creating || (error as { code?: string }).code !== 'ENOENT') throw error;
      }
    }
    // Not followed: where a dangling symlink leads is not looked at, so nothing is created through one (ELOOP).
    if (found === undefined) return this.inParent(`open ${path}`, path, (dir, name) => openFd(viaFd(dir, name), flags | O_NOFOLLOW | O_NONBLOCK, mode));
    try {
      const stat = await fstat(found);
      if (stat.isSymbolicLink()) throw new RemoteError('ELOOP', `${path} is a symlink and O_NOFOLLOW was asked for`);
      if (!stat.isFile() && !stat.isDirectory()) {
        throw new RemoteError('EPERM', `${path} is ${kindOf(stat)}: the sidecar serves regular files and directories only`);
      }
      // O_NOFOLLOW was the O_PATH open's to apply: here it would refuse /proc's link itself.
      return await openFd(viaFd(found), (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_NONBLOCK, mode);
    } finally {
      closeQuietly(found);
    }
  }

  /**
   * Runs `use` on the entry `path` names: its parent directory's fd and its name there. The
   * parent must be served, so the root and the mount points themselves can't be created,
   * removed or renamed.
   */
  private inParent<T>(what: string, path: string, use: (dir: number, name: string) => Promise<T>): Promise<T> {
    const relative = beneathRoot(path);
    if (!this.isServed(relative)) throw this.notServed(path, 'is not under');
    const cut = relative.lastIndexOf('/');
    const parent = cut < 0 ? '.' : relative.slice(0, cut);
    if (relative === '.' || !this.isServed(parent)) throw new RemoteError('EBUSY', `${path} is the app root or one of its mounts: it can't be changed itself`);
    return this.withPath(what, `/${parent}`, O_DIRECTORY, { changing: relative.slice(cut + 1) }, (fd) => use(fd, relative.slice(cut + 1)));
  }

  /**
   * `use` of an O_PATH fd of what `path` names (locate), within callMs; the fd is closed when
   * `use` settles, however late (`late` gets a result that came too late).
   */
  private withPath<T>(what: string, path: string, flags: number, as: LocateAs, use: (fd: number) => Promise<T>, late?: (value: T) => void): Promise<T> {
    let givenUp = false;
    const work = this.locate(path, flags, as).then(async (fd) => {
      try {
        // A lookup that came back after the client was told ETIMEDOUT goes no further.
        if (givenUp) throw new RemoteError('ETIMEDOUT', `${what}: given up`);
        return await use(fd);
      } finally {
        closeQuietly(fd);
      }
    });
    const bounded = this.bounded(what, work, late);
    bounded.catch(() => (givenUp = true));
    return bounded;
  }

  /**
   * `work` on an open fd of the session's, within callMs. The fd counts as busy until `work`
   * itself settles, timed out or not, so that its close waits: closing it under a running
   * read or write could let the number go to another file first.
   */
  private onHandle<T>(what: string, fd: number, work: (handle: Handle) => Promise<T>): Promise<T> {
    const handle = this.handle(fd);
    handle.busy++;
    const running = Promise.resolve().then(() => work(handle));
    void running
      .finally(() => {
        if (--handle.busy === 0) handle.drained?.();
      })
      .catch(() => undefined);
    return this.bounded(what, running);
  }

  /**
   * An O_PATH fd of what `path` names (O_NOFOLLOW, O_DIRECTORY as given), if it is served: the
   * path must lie under a served path, and so must what the kernel resolved it to, since a
   * symlink under a mount may lead anywhere in the root (RESOLVE_IN_ROOT keeps it inside the
   * root, not inside the mounts). An O_PATH open does nothing to what it finds, so nothing is
   * touched before both checks pass.
   */
  private async locate(path: string, flags: number, as: LocateAs): Promise<number> {
    if (this.root instanceof Error) throw new RemoteError('ENOENT', this.root.message);
    const relative = beneathRoot(path);
    if (!this.isServed(relative)) throw this.notServed(path, 'is not under');
    this.followRules(relative, as);
    const fd = await native.openInRoot(this.root.fd, relative, O_PATH | flags, 0);
    try {
      const found = beneath(this.root.path, await fs.promises.readlink(viaFd(fd)));
      if (found === undefined || !this.isServed(found)) throw this.notServed(path, 'leads outside');
      if (found !== relative) this.followRules(found, as);
      return fd;
    } catch (error) {
      closeQuietly(fd);
      throw error;
    }
  }

  /**
   * Refuses what the ticket's path rules hold `relative` (beneath the root) to: the entry
   * `as.changing` in it, for a change made in a directory.
   */
  private followRules(relative: string, as: LocateAs): void {
    if (!this.pathRules) return;
    const path = absolute(relative, typeof as === 'string' ? undefined : as.changing);
    const refusal = this.pathRules.refusal(path, typeof as === 'string' ? as : 'change');
    if (refusal) throw new RemoteError(refusal.code, refusal.reason);
  }

  /** Whether `relative` (beneath the root, as beneathRoot gives it) is a served path or beneath one. */
  private isServed(relative: string): boolean {
    return this.served.some((mount) => mount === '.' || relative === mount || relative.startsWith(`${mount}/`));
  }

  private notServed(path: string, how: 'is not under' | 'leads outside'): RemoteError {
    const mounts = this.served.map((mount) => `/${mount}`).join(', ') || 'none';
    return new RemoteError('EACCES', `${path} ${how} the app's mounts (${mounts}): ${OUTSIDE_MOUNTS}`);
  }

  private handle(fd: number): Handle {
    const handle = this.handles.get(fd);
    if (!handle) throw new RemoteError('EBADF', `fd ${fd} is not open in this session`);
    return handle;
  }
}

/**
 * What a path is located for: reading or changing what it names, or (`changing`) changing the
 * entry of that name in the directory it names.
 */
type LocateAs = PathUse | { changing: string };

/** The app's absolute path of `relative` (beneath the root, "." for the root itself), or of `entry` in it. */
function absolute(relative: string, entry?: string): string {
  const dir = relative === '.' ? '' : `/${relative}`;
  return entry === undefined ? dir || '/' : `${dir}/${entry}`;
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
