/**
 * The copies of pod files the program opened for writing (the proxy makes them as it does for
 * the layer, intproxy/files.ts). The layer sends one back when the program closes or syncs it;
 * the syscall mode doesn't see close, but the kernel tells when the program's last descriptor of
 * a copy is gone (inotify's IN_CLOSE_WRITE): it goes back then. What the program hasn't closed
 * when it ends (a child still holding it) goes back at the end. A call naming a pod path waits
 * until the copies of it the program has closed are back (`before`): a program that closes a file
 * and opens it again (a logger appending line by line) reads, and appends to, what it wrote.
 */
import type { SyscallNative } from '../../layer/syscall/native';
import type { ChannelHandlers } from '../channel';

export class WrittenCopies {
  private watcher: number | undefined;
  /** The copies not sent back yet (and the pod path each stands for), by their inotify watch. */
  private readonly open = new Map<number, { copy: string; path: string }>();
  /** Copies on their way back, by pod path. */
  private readonly sending = new Map<string, Set<Promise<unknown>>>();
  /** Keys for copies inotify can't watch (no watches left): they go back at the end. */
  private unwatched = 0;

  constructor(
    private readonly native: SyscallNative,
    private readonly flush: ChannelHandlers['flush'],
  ) {}

  /** Sends `copy` (of the pod's `path`) back to the pod once the program has closed it. */
  watch(copy: string, path: string): void {
    this.watcher ??= this.native.watchCloses(() => this.readCloses());
    const watch = this.watcher >= 0 ? this.native.watchClose(this.watcher, copy) : this.watcher;
    this.open.set(watch >= 0 ? watch : --this.unwatched, { copy, path });
  }

  /** Before a call naming the pod's `path`: the copies of it the program has closed are back in the pod. */
  async before(path: string): Promise<void> {
    if (!this.open.size && !this.sending.size) return;
    // The close is queued by the time the program makes its next call; the loop may not have read it yet.
    this.readCloses();
    const sending = this.sending.get(path);
    if (sending) await Promise.all(sending);
  }

  /** Once the program has ended: sends back what is still open, and waits for every copy to be back. */
  async settle(): Promise<void> {
    this.readCloses();
    for (const written of this.open.values()) this.send(written);
    this.open.clear();
    await Promise.all([...this.sending.values()].flatMap((sending) => [...sending]));
  }

  /** Sends back the copies whose closes the watcher has queued. */
  private readCloses(): void {
    if (this.watcher === undefined || this.watcher < 0) return;
    for (const watch of this.native.readCloses(this.watcher)) {
      const written = this.open.get(watch);
      if (written === undefined) continue;
      this.open.delete(watch);
      this.send(written);
    }
  }

  private send({ copy, path }: { copy: string; path: string }): void {
    const sending = this.sending.get(path) ?? new Set();
    this.sending.set(path, sending);
    // A failure is the proxy's to tell the user (RemoteFiles.flush warns); nobody is left to fail.
    const sent: Promise<unknown> = Promise.resolve(this.flush({ op: 'flush', copy })).finally(() => {
      sending.delete(sent);
      if (!sending.size) this.sending.delete(path);
    });
    sending.add(sent);
  }
}
