/**
 * Remote files for the layer. A remote file opened for reading is copied into a private cache, and
 * the layer opens the copy: read, lseek, fstat and mmap then need nothing more. Opening it again
 * costs one round trip while the pod's file is unchanged (same inode, size and times); a changed
 * file gets a new copy, so an fd still reading the older one is never disturbed. A file opened for
 * writing is opened in the pod first, as the program asked, so what can't be written there fails at
 * open(); it then gets a fresh copy that goes back to the pod whole when the layer flushes it
 * (fsync, close, exit). A remote directory is materialised as a directory of placeholders so
 * readdir works; stat of its entries asks the pod again. A copy opened for reading (file or
 * directory) is answered with the pod's stat of it, so fstat on it reports the pod's file. Changes
 * by path (mkdir, unlink, rename, …) are made in the pod as the system call would.
 */
import { constants, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { NEW_FILE_MODE, type ClientApi } from '../protocol/client';
import type { FileTime, Stat } from '../protocol/messages';
import type { Op, Reply } from './channel';
import { O_ACCMODE, opensForWriting } from '../protocol/open-flags';
import { errorReply } from './errno';
import { OUTSIDE_MOUNTS } from '../protocol/errors';

const { O_CREAT, O_EXCL, O_TRUNC, O_DIRECTORY, O_NOFOLLOW } = constants;
/** The open() flags that decide what opening for writing does to the pod's file, or whether it fails. */
const WRITE_OPEN_FLAGS = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW | O_DIRECTORY;

/** A call the pod failed: the errno it failed with. */
type Failed = { kind: 'error'; errno: number };
/** The pod's answer to a request (never `local`: the policy decided that before). */
type Answer<O extends Op> = Promise<Exclude<Reply<O>, { kind: 'local' }>>;
/** A call made in the pod, or what it failed with. */
type Changed = Promise<{ kind: 'ok' } | Failed>;

export class RemoteFiles {
  private counter = 0;
  /** local copies opened for writing -> the pod path they go back to */
  private readonly written = new Map<string, string>();
  private notedOutsideMounts = false;
  /** pod path -> the read-only copy of its last fetched version */
  private readonly copies = new Map<string, { version: string; copy: string }>();

  constructor(
    private readonly client: ClientApi,
    private readonly cacheRoot: string,
    /** Tells the user something went wrong that the program may not report. */
    private readonly warn: (text: string) => void,
  ) {
    mkdirSync(cacheRoot, { recursive: true });
  }

  /**
   * A local copy of `path`. Opened for reading, the copy of the version the pod still has is
   * reused (it is never written, so an fd reading it sees what a new one would); opened for
   * writing, a fresh copy, which goes back to the pod by flush(), once the pod has opened the
   * file as the program asked (openInPod).
   */
  async open(path: string, flags: number): Answer<'open'> {
    if (flags & O_DIRECTORY && !opensForWriting(flags)) return this.opendir(path);
    return this.answer(async () => {
      if (!opensForWriting(flags)) {
        try {
          return { kind: 'path', ...(await this.readCopy(path)) };
        } catch (error) {
          // A directory opened without O_DIRECTORY (open(dir, O_RDONLY) is valid): its listing.
          if ((error as { code?: string }).code === 'EISDIR') return this.opendir(path);
          throw error;
        }
      }
      await this.openInPod(path, flags);
      const content = flags & O_TRUNC ? Buffer.alloc(0) : (await this.client.fetchFile(path)).content!;
      const copy = this.writeCopy(path, content);
      this.written.set(copy, path);
      return { kind: 'path', copy };
    });
  }

  private async readCopy(path: string): Promise<{ copy: string; stat: Stat }> {
    const cached = this.copies.get(path);
    const { version, content, stat } = await this.client.fetchFile(path, cached?.version);
    if (cached && !content) return { copy: cached.copy, stat };
    const copy = this.writeCopy(path, content!);
    if (version) this.copies.set(path, { version, copy });
    else this.copies.delete(path);
    return { copy, stat };
  }

  private writeCopy(path: string, content: Buffer): string {
    const copy = join(this.cacheRoot, `${++this.counter}-${basename(path)}`);
    writeFileSync(copy, content, { mode: 0o600 });
    return copy;
  }

  /** Sends a written copy back to the pod, replacing the file's content. */
  async flush(copy: string): Changed {
    const path = this.written.get(copy);
    if (!path) return { kind: 'ok' };
    try {
      await this.client.writeFile(path, readFileSync(copy));
      return { kind: 'ok' };
    } catch (error) {
      // The layer's fsync or close fails with it, but many programs never look, and one that
      // exits without closing has no call left to fail: the user hears of the lost data here.
      this.warn(`the program's writes to ${path} did not reach the pod: ${(error as Error).message}`);
      return errorReply(error);
    }
  }

  /**
   * Opens `path` in the pod as the program opens it for writing, and closes it again: what the
   * pod won't let it write (a read-only volume, a file it may not write, a path outside the
   * mounts, a session that only reads) fails the program's open(), not only its close(), which
   * many programs never check; and O_CREAT, O_EXCL and O_TRUNC act when the program expects.
   */
  private async openInPod(path: string, flags: number): Promise<void> {
    const { fd } = (await this.client.call('fs.open', { path, flags: flags & WRITE_OPEN_FLAGS, mode: NEW_FILE_MODE })).result;
    void this.client.call('fs.close', { fd }).catch(() => undefined);
  }

  async opendir(path: string): Answer<'opendir'> {
    return this.answer(async () => {
      const [entries, status] = await Promise.all([this.client.readdir(path), this.client.call('fs.stat', { path, follow: true })]);
      const dir = mkdtempSync(join(this.cacheRoot, 'dir-'));
      // The links' targets are asked for all at once: a mounted ConfigMap is a directory of links.
      // A link the pod won't read (a policy keeps it on this machine, or it went away since the
      // listing) is listed as a plain entry: the listing is what the pod had, its entries are
      // opened one by one.
      await Promise.all(
        entries.map(async (entry) => {
          const at = join(dir, entry.name);
          if (entry.type === 'dir') return mkdirSync(at);
          const target =
            entry.type === 'link'
              ? await this.client.call('fs.readlink', { path: join(path, entry.name) }).then(
                  ({ result }) => result.target,
                  (error: { code?: string }) => {
                    if (error.code === 'EACCES' || error.code === 'ENOENT') return undefined;
                    throw error;
                  },
                )
              : undefined;
          if (target === undefined) writeFileSync(at, '');
          else symlinkSync(target, at);
        }),
      );
      return { kind: 'path', copy: dir, stat: status.result.stat };
    });
  }

  async stat(path: string, follow: boolean): Answer<'stat'> {
    return this.answer(async () => ({ kind: 'ok', stat: (await this.client.call('fs.stat', { path, follow })).result.stat }));
  }

  async statfs(path: string): Answer<'statfs'> {
    return this.answer(async () => ({ kind: 'ok', statfs: (await this.client.call('fs.statfs', { path })).result.statfs }));
  }

  mkdir(path: string, mode: number): Changed {
    return this.change(() => this.client.call('fs.mkdir', { path, mode }));
  }

  rmdir(path: string): Changed {
    return this.change(() => this.client.call('fs.rmdir', { path }));
  }

  unlink(path: string): Changed {
    return this.change(() => this.client.call('fs.unlink', { path }));
  }

  rename(from: string, to: string, flags: number): Changed {
    return this.change(() => this.client.call('fs.rename', { from, to, flags: flags || undefined }));
  }

  truncate(path: string, length: number): Changed {
    return this.change(() => this.client.call('fs.truncate', { path, length }));
  }

  chmod(path: string, mode: number): Changed {
    return this.change(() => this.client.call('fs.chmod', { path, mode }));
  }

  utimes(path: string, atime: FileTime, mtime: FileTime): Changed {
    return this.change(() => this.client.call('fs.utimes', { path, atime, mtime }));
  }

  access(path: string, mode: number): Changed {
    return this.change(() => this.client.call('fs.access', { path, mode }));
  }

  async readlink(path: string): Answer<'readlink'> {
    return this.answer(async () => ({ kind: 'ok', target: (await this.client.call('fs.readlink', { path })).result.target }));
  }

  dispose(): void {
    rmSync(this.cacheRoot, { recursive: true, force: true });
  }

  /** A call made in the pod: `ok`, or the errno it failed with. */
  private change(work: () => Promise<unknown>): Changed {
    return this.answer(async () => {
      await work();
      return { kind: 'ok' };
    });
  }

  private async answer<R>(work: () => Promise<R>): Promise<R | Failed> {
    try {
      return await work();
    } catch (error) {
      this.noteOutsideMounts(error);
      return errorReply(error);
    }
  }

  /** The first path the pod refused as outside the app's mounts: why, and what would serve it (once a session: a program may try many). */
  private noteOutsideMounts(error: unknown): void {
    if (this.notedOutsideMounts || !(error instanceof Error) || !error.message.includes(OUTSIDE_MOUNTS)) return;
    this.notedOutsideMounts = true;
    this.warn(`${error.message}; files baked into the image are served when the pod is annotated mirrord.dev/whole-container: "true" (docs/sidecar.md)`);
  }
}
