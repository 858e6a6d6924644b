/**
 * The names a session resolved through the sidecar, by the addresses they gave: a program
 * resolves a name and connects to the address, and the ticket's host rules must still see the
 * name. Bounded: the oldest addresses are forgotten first (a program that resolved thousands of
 * names and connects to one of the first again gets it checked by address only).
 */
const MAX_ADDRESSES = 4096;

export class ResolvedNames {
  private readonly byAddress = new Map<string, Set<string>>();

  remember(name: string, addresses: readonly string[]): void {
    for (const address of addresses) {
      const names = this.byAddress.get(address) ?? new Set<string>();
      // Re-inserted: the Map's order is then the order of last use.
      this.byAddress.delete(address);
      this.byAddress.set(address, names.add(name));
      if (this.byAddress.size > MAX_ADDRESSES) this.byAddress.delete(this.byAddress.keys().next().value!);
    }
  }

  namesOf(address: string): string[] {
    return [...(this.byAddress.get(address) ?? [])];
  }
}
