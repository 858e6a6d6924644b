/**
 * Which outgoing destinations go through the pod. mirrord's `feature.network.outgoing.filter`:
 * `{ local: [...] }` keeps the listed destinations on this machine, `{ remote: [...] }` sends
 * only the listed ones to the pod. An entry is `ADDRESS`, `ADDRESS/PREFIX`, `:PORT`, or either
 * address form followed by `:PORT` (IPv6 in brackets: `[::1]:53`).
 */
import net from 'node:net';

export interface OutgoingFilter {
  local?: string[];
  remote?: string[];
}

type Rule = (address: string, port: number) => boolean;

export function compileOutgoingFilter(filter: OutgoingFilter | undefined): (address: string, port: number) => boolean {
  if (!filter || (!filter.local && !filter.remote)) return () => true;
  const local = (filter.local ?? []).map(compileRule);
  const remote = filter.remote?.map(compileRule);
  return (address, port) => {
    if (remote) return remote.some((rule) => rule(address, port));
    return !local.some((rule) => rule(address, port));
  };
}

function compileRule(entry: string): Rule {
  const match = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(entry.trim()) ?? /^([^/]*:[^/]*)()()$/.exec(entry.trim());
  if (!match) throw new Error(`outgoing filter entry "${entry}" is not ADDRESS[/PREFIX][:PORT] or :PORT`);
  const host = match[1] ?? match[2] ?? '';
  const port = match[3] === undefined ? undefined : Number(match[3]);
  const inRange = host ? addressMatcher(host, entry) : () => true;
  return (address, p) => (port === undefined || port === p) && inRange(address);
}

function addressMatcher(host: string, entry: string): (address: string) => boolean {
  const [base, prefixText] = host.split('/');
  const family = net.isIP(base);
  if (!family) throw new Error(`outgoing filter entry "${entry}": "${base}" is not an IP address`);
  const list = new net.BlockList();
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (prefixText === undefined) list.addAddress(base, type);
  else list.addSubnet(base, Number(prefixText), type);
  return (address) => net.isIP(address) === family && list.check(address, type);
}
