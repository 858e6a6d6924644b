/**
 * The sidecar's nat rules: one chain, jumped to from PREROUTING, holding one REDIRECT per
 * subscribed port. The chain exists only while some port is subscribed or some redirected
 * connection is still open, so a pod without a session has no rules at all.
 *
 * Why wait for the connections: connections redirected earlier still need the kernel to
 * translate each of their packets (a mirrored upload, a keep-alive connection of a filtered
 * steal). That translation runs only while some rule in the namespace uses conntrack; in a
 * pod, ours are usually the only ones, and deleting the last REDIRECT would unhook conntrack
 * and reset those connections. So the chain always starts with a no-op rule that uses
 * conntrack (KEEPER), and stays until the last redirected connection has closed.
 *
 * Commands are serialised: iptables takes a lock, but our check-then-act sequences must not
 * interleave.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Logger } from '../../common/log';
import type { Redirector } from './redirector';

const run = promisify(execFile);

export class Iptables implements Redirector {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly redirects = new Map<number, number>();
  private liveConnections = 0;
  private chainExists = false;

  /** Told before the jump to our chain is made and after it is gone (the watchdog arms meanwhile). */
  onJump: (exists: boolean) => void = () => undefined;

  constructor(
    readonly chain: string,
    private readonly log: Logger,
    readonly binary = 'iptables',
  ) {}

  /** Removes whatever a previous, crashed sidecar left: the jump and the chain. */
  removeStale(): Promise<void> {
    return this.serial(() => this.dropChain());
  }

  /** Keeps the chain (and so the kernel's NAT state) alive until `connection` closes. */
  track(connection: { once(event: 'close', listener: () => void): unknown }): void {
    this.liveConnections++;
    connection.once('close', () => {
      this.liveConnections--;
      void this.serial(() => this.dropChainIfIdle()).catch((error: Error) => this.log.error(error.message));
    });
  }

  /** Sends new TCP connections for `port` to `toPort` on the receiving address. */
  redirect(port: number, toPort: number): Promise<void> {
    return this.serial(async () => {
      if (!this.chainExists) await this.createChain();
      await this.nat('-A', this.chain, ...ruleFor(port, toPort));
      this.redirects.set(port, toPort);
      this.log.info('redirect added', { port, toPort });
    });
  }

  /** Stops redirecting `port`; the chain goes when its last rule does. */
  unredirect(port: number): Promise<void> {
    return this.serial(async () => {
      const toPort = this.redirects.get(port);
      if (toPort === undefined) return;
      this.redirects.delete(port);
      try {
        await this.nat('-D', this.chain, ...ruleFor(port, toPort));
      } finally {
        await this.dropChainIfIdle();
      }
      this.log.info('redirect removed', { port });
    });
  }

  /**
   * Puts back the jump to our chain, if the chain is still wanted and the jump is gone: the
   * watchdog removes it while the event loop is stalled (sidecar/watchdog.ts).
   */
  restoreJump(): Promise<void> {
    return this.serial(async () => {
      if (!this.chainExists || (await this.succeeds('-C', 'PREROUTING', '-j', this.chain))) return;
      await this.nat('-I', 'PREROUTING', '1', '-j', this.chain);
      this.log.info('jump restored after a stall', { chain: this.chain });
    });
  }

  /** Removes every rule of ours (shutdown). */
  removeAll(): Promise<void> {
    return this.serial(async () => {
      this.redirects.clear();
      await this.dropChain();
    });
  }

  private async dropChainIfIdle(): Promise<void> {
    if (this.chainExists && this.redirects.size === 0 && this.liveConnections === 0) await this.dropChain();
  }

  private async createChain(): Promise<void> {
    await this.nat('-N', this.chain).catch((error: Error) => {
      if (!/exists/i.test(error.message)) throw error;
    });
    await this.nat('-F', this.chain);
    await this.nat('-A', this.chain, ...KEEPER);
    this.onJump(true);
    if (!(await this.succeeds('-C', 'PREROUTING', '-j', this.chain))) {
      await this.nat('-I', 'PREROUTING', '1', '-j', this.chain);
    }
    this.chainExists = true;
  }

  private async dropChain(): Promise<void> {
    while (await this.succeeds('-D', 'PREROUTING', '-j', this.chain)) {
      /* a jump can appear more than once after crashes; remove them all */
    }
    if (await this.succeeds('-S', this.chain)) {
      await this.nat('-F', this.chain);
      await this.nat('-X', this.chain);
      this.log.info('chain removed', { chain: this.chain });
    }
    this.chainExists = false;
    this.onJump(false);
  }

  private async succeeds(...args: string[]): Promise<boolean> {
    try {
      await this.nat(...args);
      return true;
    } catch {
      return false;
    }
  }

  private async nat(...args: string[]): Promise<void> {
    try {
      await run(this.binary, ['-w', '5', '-t', 'nat', ...args]);
    } catch (error) {
      const stderr = ((error as { stderr?: string }).stderr ?? '').trim();
      throw new Error(`${this.binary} -t nat ${args.join(' ')} failed: ${stderr || (error as Error).message}`);
    }
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/** Matches nothing the nat table sees (it only sees a connection's first packet); holds conntrack. */
const KEEPER = ['-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'RETURN'];

function ruleFor(port: number, toPort: number): string[] {
  return ['-p', 'tcp', '--dport', String(port), '-j', 'REDIRECT', '--to-ports', String(toPort)];
}
