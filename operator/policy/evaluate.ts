/**
 * The operator's policy decision for a session request: refused, naming the policy and what would
 * be allowed, or granted with the ticket's `allow` and the names of the policies that shaped it.
 */
import type { TicketAllow } from '../../protocol/ticket';
import { fsPathsOrNone } from '../../protocol/fs-paths';
import { fsAllow } from './fs';
import { outgoingAllow } from './outgoing';
import { incomingAllow, incomingRefusal, incomingRules } from './incoming';
import { policyApplies } from './match';
import { dbBranchRefusal } from './db-branches';
import { profileRefusal } from './profile';
import type { PolicyRefusal } from './refusal';
import { invalidPatternRefusal } from './regex';
import { policyName, type NamedPolicy, type Policy, type SessionRequest } from './spec';

export interface PolicyGrant {
  refused: false;
  allow: TicketAllow;
  /** The applying policies, cluster ones first, each group by name: the ticket's `policies`. */
  policies: string[];
}

export type PolicyDecision = PolicyGrant | PolicyRefusal;

/** Cluster policies first, then namespaced ones, each by name: "the first policy" is always the same one. */
function ordered(policies: readonly Policy[]): Policy[] {
  const rank = (policy: Policy) => (policy.kind === 'MirrordClusterPolicy' ? 0 : 1);
  return [...policies].sort((a, b) => rank(a) - rank(b) || policyName(a).localeCompare(policyName(b)));
}

/**
 * Applies the policies (the target namespace's `MirrordPolicy`s and every `MirrordClusterPolicy`;
 * others are ignored) to a session request. Several policies combine restrictively: blocks and env
 * excludes are unions, fs takes the lowest mode, every required header filter must hold.
 */
export function evaluatePolicies(request: SessionRequest, policies: readonly Policy[]): PolicyDecision {
  const applying: NamedPolicy[] = ordered(policies)
    .filter((policy) => policyApplies(policy, request))
    .map((policy) => ({ name: policyName(policy), spec: policy.spec }));
  const targetPath = `${request.target.kind}/${request.target.name}${request.target.container === undefined ? '' : `/container/${request.target.container}`}`;

  const invalid = invalidPatternRefusal(applying);
  if (invalid) return invalid;
  const profile = profileRefusal(applying, request.profile, targetPath);
  if (profile) return profile;
  const branches = dbBranchRefusal(applying, request.dbBranches ?? 0, targetPath);
  if (branches) return branches;
  const rules = incomingRules(applying);
  const incoming = incomingRefusal(rules, request.incoming, targetPath);
  if (incoming) return incoming;

  const exclude = [...new Set(applying.flatMap(({ spec }) => spec.env?.exclude ?? []))];
  const { fs, fsPaths } = fsAllow(applying, request.fs);
  const outgoing = outgoingAllow(applying);
  // With no files at all, path rules have nothing left to hold; a session that may only read
  // changes nothing anyway, so its ticket needs no readOnly rules (and stays one any sidecar reads).
  const paths = fs === 'none' ? undefined : fsPathsOrNone(fs === 'read' ? { ...fsPaths, readOnly: [] } : fsPaths);
  return {
    refused: false,
    allow: { incoming: incomingAllow(rules, request.incoming), fs, env: { exclude }, ...(outgoing && { outgoing }), ...(paths && { fsPaths: paths }) },
    policies: applying.map(({ name }) => name),
  };
}
