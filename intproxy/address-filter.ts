/**
 * The entries of mirrord's outgoing and DNS filters: `[PROTOCOL://][NAME|ADDRESS|SUBNET/PREFIX][:PORT]`
 * (mirrord's `feature/network/filter.rs`). An IPv6 address goes in brackets (`[fd00::1]:53`,
 * `[fd00::]/8`); a bare one is taken too when nothing follows it. Port 0, or none, is any port;
 * `0.0.0.0` and `::` are any address; a protocol alone (`udp://`) is everything of it.
 */
import net from 'node:net';

export type Protocol = 'tcp' | 'udp';

export type AddressRule =
  /** Any address: `:PORT`, `0.0.0.0`, `::`, or a protocol alone. */
  | { kind: 'port'; port: number }
  | { kind: 'name'; name: string; port: number }
  /** An address or a subnet: the addresses it holds, built once. */
  | { kind: 'addresses'; addresses: net.BlockList; port: number };

export type ProtocolRule = AddressRule & { protocol: Protocol | 'any' };

const HOST_CHARS = /^[A-Za-z0-9\-_.]+/;

/** An entry of `feature.network.dns.filter`; throws an Error saying what is wrong. */
export function parseAddressRule(entry: string): AddressRule {
  const text = entry.trim();
  if (!text) throw new Error('an empty entry');
  const bare = bareIpv6(text);
  if (bare) return bare;
  let rest = text;
  let host: string | undefined;
  const bracketed = /^\[([A-Za-z0-9:.]+)\]/.exec(rest);
  const plain = HOST_CHARS.exec(rest);
  if (bracketed) {
    host = bracketed[1];
    if (!net.isIPv6(host)) throw new Error(`"[${host}]" is not an IPv6 address`);
  } else if (plain) host = plain[0];
  rest = rest.slice(bracketed?.[0].length ?? plain?.[0].length ?? 0);
  const subnet = /^\/(\d+)/.exec(rest);
  rest = rest.slice(subnet?.[0].length ?? 0);
  const portText = /^:(\d+)/.exec(rest);
  rest = rest.slice(portText?.[0].length ?? 0);
  if (rest) throw new Error(`"${rest}" is left over: entries are [PROTOCOL://][NAME|ADDRESS|SUBNET/PREFIX][:PORT], an IPv6 address in brackets`);
  const port = portText ? parsePort(portText[1]) : 0;
  if (subnet) {
    if (!host || !net.isIP(host)) throw new Error(`a subnet needs an IP address before "/${subnet[1]}"${host ? `, not "${host}"` : ''}`);
    return addresses(host, parsePrefix(host, subnet[1]), port);
  }
  if (host === undefined) return { kind: 'port', port };
  return net.isIP(host) ? addresses(host, undefined, port) : { kind: 'name', name: host, port };
}

/** An entry of `feature.network.outgoing.filter`, which may start with `tcp://`, `udp://` or `any://`. */
export function parseProtocolRule(entry: string): ProtocolRule {
  const text = entry.trim();
  const separator = text.indexOf('://');
  if (separator < 0) return { ...parseAddressRule(text), protocol: 'any' };
  const protocol = text.slice(0, separator).toLowerCase();
  if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'any') throw new Error(`"${text.slice(0, separator)}" is not a protocol (tcp, udp or any)`);
  const rest = text.slice(separator + 3);
  return { ...(rest ? parseAddressRule(rest) : { kind: 'port', port: 0 }), protocol };
}

/** mirrord's `{ local: [...] }` (the listed ones stay on this machine) or `{ remote: [...] }` (only the listed ones are the pod's). */
export interface ListFilter {
  local?: string[];
  remote?: string[];
}

/**
 * A filter's predicate, true for what is the pod's: without lists, everything. `compile` parses
 * an entry (parseEntry: its Error names the entry); `matches` says whether a rule holds what is asked.
 */
export function compileListFilter<R, A extends unknown[]>(
  filter: ListFilter | undefined,
  compile: (entry: string) => R,
  matches: (rule: R, ...asked: A) => boolean,
): (...asked: A) => boolean {
  if (!filter || (!filter.local && !filter.remote)) return () => true;
  const rules = (filter.remote ?? filter.local ?? []).map(compile);
  const listedGoRemote = filter.remote !== undefined;
  return (...asked) => rules.some((rule) => matches(rule, ...asked)) === listedGoRemote;
}

/** `parse(entry)`, its Error saying which entry was wrong. */
export function parseEntry<T>(entry: string, parse: (entry: string) => T): T {
  try {
    return parse(entry);
  } catch (error) {
    throw new Error(`"${entry}": ${(error as Error).message}`);
  }
}

/** Whether a destination (or, for DNS, a looked-up host given as an address) is the rule's. */
export function matchesAddress(rule: { addresses: net.BlockList }, address: string): boolean {
  return holds(rule.addresses, address);
}

/** Names compare as DNS does: without regard to case or a final dot. */
export function sameName(a: string, b: string): boolean {
  const plain = (name: string) => name.toLowerCase().replace(/\.$/, '');
  return plain(a) === plain(b);
}

export function portMatches(rule: AddressRule, port: number): boolean {
  return rule.port === 0 || rule.port === port;
}

/** `::ffff:10.0.0.1` is 10.0.0.1, as mirrord's `to_canonical`. */
export function canonical(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

export function isLoopback(address: string): boolean {
  return holds(LOOPBACK, address);
}

const UNSPECIFIED_IPV6 = new net.BlockList();
UNSPECIFIED_IPV6.addAddress('::', 'ipv6');

/** `0.0.0.0`, or `::` however it is spelled: connect() takes it for this host, a filter entry for any address. */
export function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || (net.isIPv6(address) && UNSPECIFIED_IPV6.check(address, 'ipv6'));
}

/** Whether `list` holds `ip` (false for anything that isn't an IP address); `::ffff:10.0.0.1` is 10.0.0.1 there. */
function holds(list: net.BlockList, ip: string): boolean {
  const family = net.isIP(ip);
  return family !== 0 && list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

/** The rule for an address (`prefix` undefined) or a subnet; an unspecified address is any address. */
function addresses(base: string, prefix: number | undefined, port: number): AddressRule {
  if (prefix === undefined && isUnspecified(base)) return { kind: 'port', port };
  const family = net.isIPv6(base) ? 'ipv6' : 'ipv4';
  const list = new net.BlockList();
  if (prefix === undefined) list.addAddress(base, family);
  else list.addSubnet(base, prefix, family);
  return { kind: 'addresses', addresses: list, port };
}

function bareIpv6(text: string): AddressRule | undefined {
  const [base, prefix, extra] = text.split('/');
  if (extra !== undefined || !net.isIPv6(base)) return undefined;
  return addresses(base, prefix === undefined ? undefined : parsePrefix(base, prefix), 0);
}

function parsePort(text: string): number {
  const port = Number(text);
  if (port > 65535) throw new Error(`port ${text} is not a port (0-65535)`);
  return port;
}

function parsePrefix(base: string, text: string): number {
  const prefix = Number(text);
  const max = net.isIPv6(base) ? 128 : 32;
  if (!/^\d+$/.test(text) || prefix > max) throw new Error(`/${text} is not a prefix length for ${base} (0-${max})`);
  return prefix;
}
