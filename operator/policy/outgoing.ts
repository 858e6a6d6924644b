/** `network.outgoing`: the applying policies' blocks (all of them) and allow lists (each must admit a destination). */
import type { TicketOutgoing } from '../../protocol/outgoing-rules';
import type { NamedPolicy } from './spec';

/** The ticket's outgoing rules, or undefined when no applying policy restricts outgoing traffic. */
export function outgoingAllow(policies: readonly NamedPolicy[]): TicketOutgoing | undefined {
  const block = policies.flatMap(({ name, spec }) => (spec.network?.outgoing?.block ?? []).map((rule) => ({ ...rule, policy: name })));
  const allow = policies
    .filter(({ spec }) => (spec.network?.outgoing?.allow ?? []).length > 0)
    .map(({ name, spec }) => spec.network!.outgoing!.allow!.map((rule) => ({ ...rule, policy: name })));
  return block.length || allow.length ? { block, allow } : undefined;
}
