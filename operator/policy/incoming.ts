/**
 * Incoming traffic: `block` (steal, steal-without-filter, mirror) and the required header filter
 * of every applying policy, combined restrictively, checked against the session's subscriptions.
 */
import type { TicketAllow } from '../../protocol/ticket';
import { re2Finds } from '../../protocol/re2';
import { exactlyOneOf } from './regex';
import { refusal, type PolicyRefusal } from './refusal';
import type { BlockedFeature, NamedPolicy, PortRequest } from './spec';

interface RequiredHeaderFilter {
  policy: string;
  pattern: string;
}

/** The applying policies' incoming rules combined: the first policy that blocks each feature, and every required header filter. */
export interface IncomingRules {
  blockedBy: Partial<Record<BlockedFeature, string>>;
  headerFilters: RequiredHeaderFilter[];
}

export function incomingRules(policies: readonly NamedPolicy[]): IncomingRules {
  const blockedBy: IncomingRules['blockedBy'] = {};
  const headerFilters: RequiredHeaderFilter[] = [];
  for (const { name, spec } of policies) {
    for (const feature of spec.block ?? []) blockedBy[feature] ??= name;
    const pattern = spec.network?.incoming?.httpFilter?.headerFilter;
    if (pattern !== undefined) headerFilters.push({ policy: name, pattern });
  }
  return { blockedBy, headerFilters };
}

/** What the rules allow, in words, for refusals. */
export function describeIncoming({ blockedBy, headerFilters }: IncomingRules): string {
  const allowed: string[] = [];
  if (!blockedBy.steal) {
    if (headerFilters.length) allowed.push(`steal with a header filter matching ${headerFilters.map(({ pattern }) => `/${pattern}/`).join(' and ')}`);
    else if (blockedBy['steal-without-filter']) allowed.push('steal with an HTTP filter');
    else allowed.push('steal');
  }
  if (!blockedBy.mirror) allowed.push('mirror');
  return allowed.length ? allowed.join(' or ') : 'no incoming traffic (neither steal nor mirror)';
}

function describePort({ port, mode, filter }: PortRequest, targetPath: string): string {
  const how =
    mode === 'mirror'
      ? ''
      : filter?.header !== undefined
        ? ` with the header filter "${filter.header}"`
        : filter
          ? ' without a header filter'
          : ' without a filter';
  // Port 0: every port the program will listen on (the CLI doesn't know them in advance).
  return `${mode} of ${port === 0 ? 'any port' : `port ${port}`}${how} on ${targetPath}`;
}

/** The first subscription the rules refuse, naming the policy, or undefined. */
export function incomingRefusal(rules: IncomingRules, ports: readonly PortRequest[], targetPath: string): PolicyRefusal | undefined {
  const refuse = (policy: string, request: PortRequest) => refusal(policy, describePort(request, targetPath), describeIncoming(rules));
  for (const request of ports) {
    if (request.mode === 'mirror') {
      if (rules.blockedBy.mirror) return refuse(rules.blockedBy.mirror, request);
      continue;
    }
    if (rules.blockedBy.steal) return refuse(rules.blockedBy.steal, request);
    if (!request.filter && rules.blockedBy['steal-without-filter']) return refuse(rules.blockedBy['steal-without-filter'], request);
    for (const { policy, pattern } of rules.headerFilters) {
      const header = request.filter?.header;
      if (header === undefined || !re2Finds(pattern, header)) return refuse(policy, request);
    }
  }
  return undefined;
}

/**
 * The ticket's `allow.incoming`. A ticket carries one required header filter. With one policy
 * setting it, it is that policy's pattern. With several, every one must hold for the session's
 * whole life, and RE2 has no lookahead to express "matches all of these" in one pattern; so the
 * ticket carries a pattern admitting exactly the header filters the session asked for (each
 * already checked above against every policy's pattern), and a session that asked for none may not
 * steal. Nothing any policy refuses can pass, at the cost of a later steal with a new filter.
 */
export function incomingAllow(rules: IncomingRules, ports: readonly PortRequest[]): TicketAllow['incoming'] {
  const { blockedBy, headerFilters } = rules;
  let steal = !blockedBy.steal;
  let requiredHeaderFilter: string | undefined;
  if (headerFilters.length === 1) requiredHeaderFilter = headerFilters[0].pattern;
  if (headerFilters.length > 1) {
    const asked = [...new Set(ports.flatMap(({ mode, filter }) => (mode === 'steal' && filter?.header !== undefined ? [filter.header] : [])))];
    if (asked.length) requiredHeaderFilter = exactlyOneOf(asked);
    else steal = false;
  }
  return {
    steal,
    stealWithoutFilter: steal && !blockedBy['steal-without-filter'] && !headerFilters.length,
    mirror: !blockedBy.mirror,
    ...(requiredHeaderFilter === undefined ? {} : { requiredHeaderFilter }),
  };
}
