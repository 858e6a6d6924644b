/**
 * Which names are looked up in the pod. mirrord's `feature.network.dns.filter`: `{ local: [...] }`
 * resolves the listed queries on this machine and the rest in the pod, `{ remote: [...] }` only
 * the listed ones in the pod. Entries are `[NAME|ADDRESS|SUBNET/PREFIX][:PORT]` (no protocol),
 * compared as mirrord's layer does (`socket/dns_selector.rs`): a name equals the queried host,
 * an address or subnet holds a host given as an address, and a port is the query's service port
 * (getaddrinfo's `service`; none is 0, which only entries without a port match).
 */
import { compileListFilter, matchesAddress, parseAddressRule, parseEntry, portMatches, sameName, type AddressRule, type ListFilter } from './address-filter';

export type DnsFilter = ListFilter;

/** true: `host` is resolved in the pod. */
export type DnsPredicate = (host: string, port?: number) => boolean;

export function compileDnsFilter(filter: DnsFilter | undefined): DnsPredicate {
  return compileListFilter(filter, compileDnsEntry, (rule, host: string, port = 0) => portMatches(rule, port) && matches(rule, host));
}

/** An entry parsed, or an Error saying which entry and what is wrong with it. */
export function compileDnsEntry(entry: string): AddressRule {
  return parseEntry(entry, parseAddressRule);
}

function matches(rule: AddressRule, host: string): boolean {
  if (rule.kind === 'port') return true;
  if (rule.kind === 'name') return sameName(rule.name, host);
  return matchesAddress(rule, host);
}
