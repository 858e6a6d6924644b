/**
 * Which host names the program's addresses came from. An outgoing filter entry naming a host
 * (`db.internal:5432`) matches the addresses that name resolved to, as in mirrord: the proxy
 * records each answer of the pod's DNS it hands the program, and the filter's own names
 * resolved once at start (for names the program resolves locally, which the proxy never sees).
 */
import { lookup } from 'node:dns/promises';
import { canonical } from './address-filter';

/** Enough for any program's working set; the oldest answers go first beyond it. */
const MAX_ADDRESSES = 10_000;

export class ResolvedNames {
  private readonly byAddress = new Map<string, Set<string>>();

  record(name: string, addresses: readonly string[]): void {
    for (const raw of addresses) {
      const address = canonical(raw);
      const names = this.byAddress.get(address) ?? new Set<string>();
      this.byAddress.delete(address); // re-inserted last: the most recent
      this.byAddress.set(address, names.add(name.toLowerCase()));
    }
    for (const oldest of this.byAddress.keys()) {
      if (this.byAddress.size <= MAX_ADDRESSES) break;
      this.byAddress.delete(oldest);
    }
  }

  namesOf(address: string): string[] {
    return [...(this.byAddress.get(canonical(address)) ?? [])];
  }

  /** Resolves `names` (in the pod when `inPod` says so, else here) and records the answers; failures are skipped. */
  async learn(names: readonly string[], inPod: (name: string) => boolean, resolveInPod: (name: string) => Promise<string[]>): Promise<void> {
    await Promise.allSettled(
      names.map(async (name) => {
        const addresses = inPod(name) ? await resolveInPod(name) : (await lookup(name, { all: true })).map((a) => a.address);
        this.record(name, addresses);
      }),
    );
  }
}
