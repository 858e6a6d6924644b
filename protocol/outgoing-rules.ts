/**
 * Outgoing rules of a ticket: which destinations a session's `connect` may reach from the pod.
 * Written by the operator from the policies' `network.outgoing`, checked by the sidecar on the
 * address it is about to connect to (after resolving the name, so the check and the connection
 * see the same address).
 */
import { BlockList, isIP } from 'node:net';
import { z } from './zod';

export const outgoingRule = z
  .object({
    /** An address or a CIDR block (`10.0.0.0/8`, `fd00::/8`): the destination's address is in it. */
    cidr: z.string().min(1).max(64).optional(),
    /** A host name glob (`*.internal`, `db.shop.svc.cluster.local`; `*` any run, `?` one character, case-insensitive): the name the program connected to. */
    host: z.string().min(1).max(253).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    /** The policy the rule comes from, named in refusals. */
    policy: z.string(),
  })
  .refine((rule) => rule.cidr !== undefined || rule.host !== undefined || rule.port !== undefined, { message: 'a rule needs cidr, host or port' })
  .refine((rule) => rule.cidr === undefined || cidrProblem(rule.cidr) === undefined, { message: 'cidr is not an address or a CIDR block', path: ['cidr'] });

export const ticketOutgoing = z.object({
  /** A destination matching any of these is refused. */
  block: z.array(outgoingRule),
  /** Each list is one policy's allow list: a destination must match a rule of every list (none: anything not blocked). */
  allow: z.array(z.array(outgoingRule)),
});

export type OutgoingRule = z.infer<typeof outgoingRule>;
export type TicketOutgoing = z.infer<typeof ticketOutgoing>;

export interface Destination {
  /**
   * The names the destination goes by for this session: the one it connected to, or those whose
   * resolution (through the sidecar) gave the address it connected to. Programs resolve first
   * and connect to the address, so host rules would see no name otherwise.
   */
  names: readonly string[];
  /** The address the connection goes to. */
  address: string;
  port: number;
}

/** Why `text` is not an address or CIDR block, or undefined when it is one. */
export function cidrProblem(text: string): string | undefined {
  const [address, prefix, ...rest] = text.split('/');
  const family = isIP(address ?? '');
  if (!family || rest.length) return `"${text}" is not an address or a CIDR block`;
  if (prefix === undefined) return undefined;
  const bits = Number(prefix);
  if (!/^\d+$/.test(prefix) || bits > (family === 4 ? 32 : 128)) return `"${text}" has an invalid prefix length`;
  return undefined;
}

function inCidr(cidr: string, address: string): boolean {
  const [network, prefix] = cidr.split('/');
  const family = isIP(network!) === 4 ? 'ipv4' : 'ipv6';
  const addressFamily = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  if (prefix === undefined) list.addAddress(network!, family);
  else list.addSubnet(network!, Number(prefix), family);
  return list.check(address, addressFamily);
}

/** A fully qualified name's trailing dot names the same host. */
const withoutRootDot = (name: string) => name.replace(/\.$/, '');

function hostGlob(glob: string): RegExp {
  const escaped = withoutRootDot(glob)
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

/** Whether every part the rule sets matches the destination. */
export function ruleMatches(rule: OutgoingRule, destination: Destination): boolean {
  if (rule.port !== undefined && rule.port !== destination.port) return false;
  if (rule.cidr !== undefined && !inCidr(rule.cidr, destination.address)) return false;
  if (rule.host !== undefined) {
    const glob = hostGlob(rule.host);
    if (!destination.names.some((name) => glob.test(withoutRootDot(name)))) return false;
  }
  return true;
}

export function describeRule(rule: OutgoingRule): string {
  const parts = [rule.host && `host ${rule.host}`, rule.cidr && `cidr ${rule.cidr}`, rule.port !== undefined && `port ${rule.port}`].filter(Boolean);
  return parts.join(' ');
}

/** Why the rules refuse the destination (naming the policy), or undefined when they allow it. */
export function outgoingRefusal(rules: TicketOutgoing, destination: Destination): string | undefined {
  const blocking = rules.block.find((rule) => ruleMatches(rule, destination));
  if (blocking) return `blocked (${describeRule(blocking)}) by policy ${blocking.policy}`;
  for (const list of rules.allow) {
    if (list.length && !list.some((rule) => ruleMatches(rule, destination))) {
      return `not among the destinations policy ${list[0]!.policy} allows (${list.map(describeRule).join('; ')})`;
    }
  }
  return undefined;
}
