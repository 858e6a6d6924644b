/**
 * Which outgoing destinations go through the pod. mirrord's `feature.network.outgoing.filter`:
 * `{ local: [...] }` keeps the listed destinations on this machine, `{ remote: [...] }` sends
 * only the listed ones to the pod. Entries are address-filter.ts's, with an optional protocol
 * (`tcp://1.1.1.0/24:1337`, `udp://:53`, `db.internal:5432`, `[fd00::1]:443`). A host name
 * matches the addresses the app resolved that name to (`names`: the names the proxy's DNS
 * answers gave for `address`), as mirrord's layer compares a name's resolved addresses;
 * `localhost` also matches the loopback addresses.
 */
import {
  compileListFilter,
  isLoopback,
  matchesAddress,
  parseEntry,
  parseProtocolRule,
  portMatches,
  sameName,
  type ListFilter,
  type Protocol,
  type ProtocolRule,
} from './address-filter';

export type OutgoingFilter = ListFilter;

/** true: the connection goes through the pod. */
export type OutgoingPredicate = (protocol: Protocol, address: string, port: number, names: readonly string[]) => boolean;

/** Throws an Error naming the first bad entry; the config checks every entry before this. */
export function compileOutgoingFilter(filter: OutgoingFilter | undefined): OutgoingPredicate {
  return compileListFilter(filter, compileEntry, matches);
}

/** An entry parsed, or an Error saying which entry and what is wrong with it. */
export function compileEntry(entry: string): ProtocolRule {
  return parseEntry(entry, parseProtocolRule);
}

function matches(rule: ProtocolRule, protocol: Protocol, address: string, port: number, names: readonly string[]): boolean {
  if ((rule.protocol !== 'any' && rule.protocol !== protocol) || !portMatches(rule, port)) return false;
  if (rule.kind === 'port') return true;
  if (rule.kind === 'name') return names.some((name) => sameName(name, rule.name)) || (sameName(rule.name, 'localhost') && isLoopback(address));
  return matchesAddress(rule, address);
}

/** The host names the filter's entries name (resolved once at start, see resolved-names.ts). */
export function filterNames(filter: OutgoingFilter | undefined): string[] {
  const rules = (filter?.remote ?? filter?.local ?? []).map(compileEntry);
  return [...new Set(rules.flatMap((rule) => (rule.kind === 'name' && rule.name !== 'localhost' ? [rule.name] : [])))];
}
