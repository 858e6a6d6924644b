/**
 * The sidecar's nat rules: one chain, jumped to from PREROUTING (and from OUTPUT in a pod with a
 * service mesh: mesh.ts), holding one REDIRECT per subscribed port. The chain exists only while some port is subscribed or some redirected
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
import { TRANSPARENT_MARK, TRANSPARENT_ROUTE_TABLE, transparentRouting } from './transparent';
import { jumpsFor, meshOf, type Jump, type MeshMode } from './mesh';

const run = promisify(execFile);

/** Runs `file` and returns what it printed; its error names the command and what it said. */
async function command(file: string, args: string[]): Promise<string> {
  try {
    return (await run(file, args)).stdout;
  } catch (error) {
    const stderr = ((error as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`${file} ${args.join(' ')} failed: ${stderr || (error as Error).message}`);
  }
}

export interface IptablesOptions {
  chain: string;
  log: Logger;
  /** Default `iptables`; for IPv6, `ip6tables` (or `ip6tables-legacy`). */
  binary?: string;
  family?: 4 | 6;
  /** Whether to make the rules for connections to the app from the client's address (transparent.ts). */
  keepClientAddress?: boolean;
  /** Whether the pod has a service mesh whose proxy hands the app its traffic (mesh.ts). */
  mesh?: MeshMode;
}

export class Iptables implements Redirector {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly redirects = new Map<number, number>();
  private liveConnections = 0;
  private chainExists = false;
  /** The jumps to our chain while it exists (where they are depends on a mesh: mesh.ts). */
  private jumps: Jump[] = [];

  /** Told before the jump to our chain is made and after it is gone (the watchdog arms meanwhile). */
  onJump: (exists: boolean) => void = () => undefined;

  readonly chain: string;
  /** The iptables command of this family (ip6tables for IPv6). */
  readonly binary: string;
  readonly family: 4 | 6;
  private readonly log: Logger;
  private readonly keepClientAddress: boolean;
  private readonly mesh: MeshMode;

  constructor(options: IptablesOptions) {
    this.chain = options.chain;
    this.log = options.log;
    this.binary = options.binary ?? 'iptables';
    this.family = options.family ?? 4;
    this.keepClientAddress = options.keepClientAddress ?? true;
    this.mesh = options.mesh ?? 'auto';
  }

  /** The commands that remove the jumps to our chain (the watchdog runs them on a stall). */
  jumpRemovals(): string[][] {
    return this.jumps.map((jump) => [this.binary, '-w', '5', '-t', 'nat', '-D', jump.hook, ...jump.match, '-j', this.chain]);
  }

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
      if (this.chainExists && (await this.makeJumps())) this.log.info('jump restored after a stall', { chain: this.chain });
    });
  }

  /** Whether the pod has a service mesh (looked for now, unless the mode says). */
  async meshed(): Promise<boolean> {
    return (await meshOf(this.mesh, () => this.natRules())) !== undefined;
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
    if (this.keepClientAddress) await this.addTransparentRules();
    const mesh = await meshOf(this.mesh, () => this.natRules());
    if (mesh)
      this.log.info(`${mesh} in the pod: intercepting the connections its proxy makes to the app over loopback, and ports it lets through`, {
        mode: this.mesh,
      });
    this.jumps = jumpsFor(mesh, process.getgid?.() ?? 0);
    this.onJump(true);
    await this.makeJumps();
    this.chainExists = true;
  }

  /** Makes each jump that is missing; says whether one was. */
  private async makeJumps(): Promise<boolean> {
    let made = false;
    for (const { hook, match, first } of this.jumps) {
      if (await this.succeeds('-C', hook, ...match, '-j', this.chain)) continue;
      await this.nat(...(first ? ['-I', hook, '1'] : ['-A', hook]), ...match, '-j', this.chain);
      made = true;
    }
    return made;
  }

  /**
   * Removes every jump to our chain, wherever it is: a predecessor that crashed may have made
   * them in another pod state (with a mesh or without), and one may appear more than once.
   */
  private async removeJumps(): Promise<void> {
    for (const hook of ['PREROUTING', 'OUTPUT']) {
      const rules = (await this.output('nat', ['-S', hook]).catch(() => '')).split('\n');
      for (const rule of rules) {
        const words = rule.trim().split(/\s+/);
        if (words[0] !== '-A' || words.at(-1) !== this.chain || words.at(-2) !== '-j') continue;
        await this.nat('-D', ...words.slice(1)).catch((error: Error) => this.log.warn(error.message));
      }
    }
  }

  private natRules(): Promise<string> {
    return this.output('nat', ['-S']);
  }

  /**
   * What the sidecar's transparent connections to the app need (incoming/transparent.ts): their
   * packets in a conntrack zone of their own in the original direction (else a SYN from the
   * client's address and port matches the client's own, redirected connection and is sent back
   * to our listener), and the app's replies, addressed to the client, routed to the local socket
   * by their connection's mark. Best effort: without them pass-through connects from the pod.
   */
  private async addTransparentRules(): Promise<void> {
    try {
      for (const [table, rule] of TRANSPARENT_RULES) await this.table(table, '-A', ...rule);
      await this.ip('rule', 'add', 'fwmark', MARK, 'lookup', ROUTE_TABLE);
      await this.ip('route', 'replace', 'local', this.family === 4 ? '0.0.0.0/0' : '::/0', 'dev', 'lo', 'table', ROUTE_TABLE);
      transparentRouting(this.family, true);
    } catch (error) {
      this.log.warn(`connections passed on to the app will come from the pod's address: ${(error as Error).message}`);
    }
  }

  private async removeTransparentRules(): Promise<void> {
    transparentRouting(this.family, false);
    for (const [table, rule] of TRANSPARENT_RULES) while (await this.succeedsIn(table, '-D', ...rule));
    while (
      await this.ip('rule', 'del', 'fwmark', MARK, 'lookup', ROUTE_TABLE).then(
        () => true,
        () => false,
      )
    );
    await this.ip('route', 'flush', 'table', ROUTE_TABLE).catch(() => undefined);
  }

  private async dropChain(): Promise<void> {
    await this.removeTransparentRules();
    await this.removeJumps();
    if (await this.succeeds('-S', this.chain)) {
      await this.nat('-F', this.chain);
      await this.nat('-X', this.chain);
      this.log.info('chain removed', { chain: this.chain });
    }
    this.chainExists = false;
    this.jumps = [];
    this.onJump(false);
  }

  private succeeds(...args: string[]): Promise<boolean> {
    return this.succeedsIn('nat', ...args);
  }

  private async succeedsIn(table: string, ...args: string[]): Promise<boolean> {
    try {
      await this.table(table, ...args);
      return true;
    } catch {
      return false;
    }
  }

  private nat(...args: string[]): Promise<void> {
    return this.table('nat', ...args);
  }

  private async table(table: string, ...args: string[]): Promise<void> {
    await this.output(table, args);
  }

  /** Runs the iptables command on `table` and returns what it printed. */
  private output(table: string, args: string[]): Promise<string> {
    return command(this.binary, ['-w', '5', '-t', table, ...args]);
  }

  /** `ip` (iproute2) for this family, for the routing rule and route of transparent connections. */
  private async ip(...args: string[]): Promise<void> {
    await command('ip', [this.family === 4 ? '-4' : '-6', ...args]);
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

const MARK = `0x${TRANSPARENT_MARK.toString(16)}`;
const ROUTE_TABLE = TRANSPARENT_ROUTE_TABLE;
const TRANSPARENT_RULES: [string, string[]][] = [
  ['raw', ['OUTPUT', '-m', 'mark', '--mark', MARK, '-j', 'CT', '--zone-orig', '1']],
  ['mangle', ['OUTPUT', '-m', 'mark', '--mark', MARK, '-j', 'CONNMARK', '--save-mark']],
  ['mangle', ['OUTPUT', '-m', 'connmark', '--mark', MARK, '-j', 'MARK', '--set-mark', MARK]],
];

/** Matches nothing the nat table sees (it only sees a connection's first packet); holds conntrack. */
const KEEPER = ['-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'RETURN'];

function ruleFor(port: number, toPort: number): string[] {
  return ['-p', 'tcp', '--dport', String(port), '-j', 'REDIRECT', '--to-ports', String(toPort)];
}
