/**
 * The policies the operator applies: the `spec` of the `MirrordPolicy` (namespaced) and
 * `MirrordClusterPolicy` (cluster-wide) custom resources, as the API server validated them, and the
 * session request they are applied to.
 */

/** What a policy can block (mirrord's names). */
export type BlockedFeature = 'steal' | 'steal-without-filter' | 'mirror';

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/** A Kubernetes label selector over the target's labels. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** Users and groups, as the API server authenticates them. */
export interface Subjects {
  users?: string[];
  groups?: string[];
}

/** A destination: every part given must match (an address or CIDR block, a host name glob, a port). */
export interface OutgoingRuleSpec {
  cidr?: string;
  host?: string;
  port?: number;
}

export interface PolicySpec {
  /** A glob over the target path (`deploy/checkout`, `deploy/checkout/container/app`, `pod/*`): `*` any run of characters, `?` one. */
  targetPath?: string;
  /** The target's labels. */
  selector?: LabelSelector;
  block?: BlockedFeature[];
  network?: {
    incoming?: {
      /** A regex (RE2) every steal's header filter must match (as the user wrote it). */
      httpFilter?: { headerFilter?: string };
    };
    /** Where outgoing connections may go: blocked destinations, and (when given) the only allowed ones. */
    outgoing?: { allow?: OutgoingRuleSpec[]; block?: OutgoingRuleSpec[] };
  };
  /** Variables of the app hidden from the session: mirrord's patterns (`*` any run, `?` one). */
  env?: { exclude?: string[] };
  /** Path regexes (RE2, searched in the path): read only, served locally, or reported as missing. */
  fs?: { readOnly?: string[]; local?: string[]; notFound?: string[] };
  /** A session must name a profile. */
  requireProfile?: boolean;
  /** The profiles a session may name. */
  profileAllowlist?: string[];
  /** A session must branch the database (`feature.db_branches`) rather than use the target's own. */
  requireDbBranches?: boolean;
  /** The policy applies only to these users and groups (absent: to everyone). */
  subjects?: Subjects;
  /** The policy never applies to these users and groups. */
  exemptSubjects?: Subjects;
}

export type Policy =
  { kind: 'MirrordPolicy'; namespace: string; name: string; spec: PolicySpec } | { kind: 'MirrordClusterPolicy'; name: string; spec: PolicySpec };

/** How a policy is named in tickets and refusals: `NAMESPACE/NAME`, or `cluster/NAME` for a cluster policy. */
export function policyName(policy: Policy): string {
  return policy.kind === 'MirrordPolicy' ? `${policy.namespace}/${policy.name}` : `cluster/${policy.name}`;
}

/** The session's target. */
export interface Target {
  /** The kind as a target path spells it: `deploy`, `pod`, `statefulset`, … (long and short forms are both understood). */
  kind: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  container?: string;
  /**
   * The workloads above the pod the session attaches to (its ReplicaSet, Deployment, …), as
   * `{ kind, name }`: a policy written for any of them applies, however the user named the target,
   * so `pod/checkout-7d9f-x2` can't escape a policy on `deploy/checkout`.
   */
  owners?: { kind: string; name: string }[];
}

export interface HttpFilter {
  header?: string;
  path?: string;
  method?: string;
}

export interface PortRequest {
  port: number;
  mode: 'steal' | 'mirror';
  filter?: HttpFilter;
}

/** What a session asks for. */
export interface SessionRequest {
  user: string;
  groups: string[];
  target: Target;
  incoming: PortRequest[];
  /** The pod's files: `local` asks for none of them. */
  fs: 'read' | 'write' | 'local';
  profile?: string;
  /** How many database branches the session asks for (`feature.db_branches`). */
  dbBranches?: number;
}

/** An applying policy with the name refusals and tickets use. */
export interface NamedPolicy {
  name: string;
  spec: PolicySpec;
}
