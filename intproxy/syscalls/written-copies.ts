/**
 * The copies of pod files the program opened for writing (the proxy makes them as it does for
 * the layer, intproxy/files.ts). The layer sends one back when the program closes or syncs it;
 * the syscall mode doesn't see close, but the kernel tells when the program's last descriptor of
 * a copy is gone (inotify's IN_CLOSE_WRITE): it goes back then. What the program hasn't closed
 * when it ends (a child still holding it) goes back at the end.
 */
import type { SyscallNative } from '../../layer/syscall/native';
import type { ChannelHandlers } from '../channel';

export class WrittenCopies {
  private watcher: number | undefined;
  /** The copies not sent back yet, by their inotify watch. */
  private readonly open = new Map<number, string>();
  private readonly sending = new Set<Promise<unknown>>();

  constructor(
    private readonly native: SyscallNative,
    private readonly flush: ChannelHandlers['flush'],
  ) {}

  /** Sends `copy` back to the pod once the program has closed it. */
  watch(copy: string): void {
    this.watcher ??= this.native.watchCloses((watch) => this.closed(watch));
    const watch = this.watcher >= 0 ? this.native.watchClose(this.watcher, copy) : this.watcher;
    // Without inotify (no watches left), the copy goes back when the program ends.
    this.open.set(watch >= 0 ? watch : -this.open.size - 1, copy);
  }

  /** Once the program has ended: sends back what is still open, and waits for every copy to be back. */
  async settle(): Promise<void> {
    for (const copy of this.open.values()) this.send(copy);
    this.open.clear();
    await Promise.all(this.sending);
  }

  private closed(watch: number): void {
    const copy = this.open.get(watch);
    if (copy === undefined) return;
    this.open.delete(watch);
    this.send(copy);
  }

  private send(copy: string): void {
    // A failure is the proxy's to tell the user (RemoteFiles.flush warns); nobody is left to fail.
    const sent: Promise<unknown> = Promise.resolve(this.flush({ op: 'flush', copy })).finally(() => this.sending.delete(sent));
    this.sending.add(sent);
  }
}
