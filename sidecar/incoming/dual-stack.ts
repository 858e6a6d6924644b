/**
 * The sidecar's rules for both IP families: IPv4's (iptables) always, IPv6's (ip6tables, the same
 * chain, jumps and REDIRECTs in the IPv6 rule set) in a pod that has IPv6 addresses. The two are
 * made side by side. IPv6's failing (no ip6tables in a custom image, a kernel without its nat
 * table) is logged once and leaves IPv4 working: the pod's IPv6 connections then reach the app
 * untouched, as without mirrord.
 */
import type { Logger } from '../../common/log';
import { Iptables, type IptablesOptions } from './iptables';
import type { Redirector } from './redirector';

export class DualStackIptables implements Redirector {
  readonly v4: Iptables;
  readonly v6?: Iptables;
  private v6Failed = false;
  private readonly jumping = { 4: false, 6: false };
  private readonly log: Logger;

  /** Told when the first jump to our chains is about to be made, and after the last is gone. */
  onJump: (exists: boolean) => void = () => undefined;

  constructor(options: Omit<IptablesOptions, 'family'>, ipv6: boolean) {
    this.log = options.log;
    this.v4 = new Iptables({ ...options, family: 4 });
    if (ipv6) this.v6 = new Iptables({ ...options, family: 6, binary: ip6tablesOf(options.binary ?? 'iptables'), log: options.log.child({ family: 6 }) });
    for (const rules of this.families()) {
      rules.onJump = (exists) => {
        this.jumping[rules.family] = exists;
        this.onJump(this.jumping[4] || this.jumping[6]);
      };
    }
  }

  /** The commands that remove every jump to our chains (the watchdog runs them on a stall). */
  jumpRemovals(): string[][] {
    return this.families().flatMap((rules) => rules.jumpRemovals());
  }

  async removeStale(): Promise<void> {
    await Promise.all([this.v4.removeStale(), this.v6?.removeStale().catch((error: Error) => this.log.debug(error.message))]);
  }

  async redirect(port: number, toPort: number): Promise<void> {
    await Promise.all([
      this.v4.redirect(port, toPort),
      this.onV6((v6) => v6.redirect(port, toPort), `IPv6 connections to port ${port} reach the app untouched`),
    ]);
  }

  async unredirect(port: number): Promise<void> {
    await Promise.all([this.v4.unredirect(port), this.v6?.unredirect(port).catch((error: Error) => this.log.warn(error.message))]);
  }

  track(connection: { once(event: 'close', listener: () => void): unknown }): void {
    for (const rules of this.families()) rules.track(connection);
  }

  meshed(): Promise<boolean> {
    return this.v4.meshed();
  }

  async restoreJump(): Promise<void> {
    await Promise.all(this.families().map((rules) => rules.restoreJump()));
  }

  async removeAll(): Promise<void> {
    await Promise.all([this.v4.removeAll(), this.v6?.removeAll().catch((error: Error) => this.log.warn(error.message))]);
  }

  private families(): Iptables[] {
    return this.v6 ? [this.v4, this.v6] : [this.v4];
  }

  /** Runs `task` on the IPv6 rules, unless they failed before; a failure is logged once. */
  private async onV6(task: (v6: Iptables) => Promise<void>, consequence: string): Promise<void> {
    if (!this.v6 || this.v6Failed) return;
    try {
      await task(this.v6);
    } catch (error) {
      this.v6Failed = true;
      this.log.warn(`${consequence}: ${(error as Error).message}`);
    }
  }
}

/** ip6tables for an iptables command: iptables-legacy → ip6tables-legacy, /sbin/iptables → /sbin/ip6tables. */
export function ip6tablesOf(iptables: string): string {
  return iptables.replace(/iptables(?=[^/]*$)/, 'ip6tables');
}
