/** Which policies apply to a session: by target path, by the target's labels, and by who asks. */
import { envPattern } from '../../protocol/ticket';
import type { LabelSelector, Policy, SessionRequest, Subjects, Target } from './spec';

/** The spellings of each kind a target path may use; a policy written with either applies. */
const KIND_SPELLINGS: readonly (readonly string[])[] = [
  ['deploy', 'deployment'],
  ['pod', 'po'],
  ['statefulset', 'sts'],
  ['rollout'],
  ['job'],
  ['cronjob', 'cj'],
  ['replicaset', 'rs'],
  ['service', 'svc'],
];

/**
 * Every path that names the target: each spelling of its kind, without and (when the session
 * names one) with its container, for the target and each of its owners. A policy applies when its
 * glob matches any of them, so naming a container or the pod never escapes a policy written for
 * the workload, nor a short kind one written with the long.
 */
export function targetPaths(target: Target): string[] {
  const named = [target, ...(target.owners ?? []).map((owner) => ({ ...owner, container: target.container }))];
  return named.flatMap(pathsOf);
}

function pathsOf(target: Pick<Target, 'kind' | 'name' | 'container'>): string[] {
  const kind = target.kind.toLowerCase();
  const spellings = KIND_SPELLINGS.find((names) => names.includes(kind)) ?? [kind];
  return spellings.flatMap((spelling) => {
    const path = `${spelling}/${target.name}`;
    return target.container === undefined ? [path] : [path, `${path}/container/${target.container}`];
  });
}

/** A target path glob as a regex: `*` any run of characters (`/` too), `?` one, the rest literal; the whole path (mirrord's patterns, as `env.exclude`'s). */
export const globRegex = envPattern;

export function targetPathMatches(glob: string, target: Target): boolean {
  const regex = globRegex(glob);
  return targetPaths(target).some((path) => regex.test(path));
}

/** Kubernetes' label selector semantics: every `matchLabels` pair and every expression must hold; an empty selector selects everything. */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  const has = (key: string) => Object.prototype.hasOwnProperty.call(labels, key);
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!has(key) || labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const holds =
      operator === 'In'
        ? has(key) && values.includes(labels[key])
        : operator === 'NotIn'
          ? !has(key) || !values.includes(labels[key])
          : operator === 'Exists'
            ? has(key)
            : !has(key);
    if (!holds) return false;
  }
  return true;
}

/** Whether the user, or one of their groups, is among the subjects. */
export function isSubject(subjects: Subjects, user: string, groups: readonly string[]): boolean {
  return (subjects.users ?? []).includes(user) || (subjects.groups ?? []).some((group) => groups.includes(group));
}

/**
 * Whether a policy applies to a session: a namespaced policy only in its own namespace; its
 * `targetPath` and `selector` (each when given) must match the target; `subjects`, when it lists
 * anyone, must include the user (by name or group); `exemptSubjects` must not. A `subjects` that
 * lists no one is read as absent (the policy applies to everyone): an empty list never turns a policy off.
 */
export function policyApplies(policy: Policy, request: SessionRequest): boolean {
  const { spec } = policy;
  if (policy.kind === 'MirrordPolicy' && policy.namespace !== request.target.namespace) return false;
  if (spec.targetPath !== undefined && !targetPathMatches(spec.targetPath, request.target)) return false;
  if (spec.selector !== undefined && !selectorMatches(spec.selector, request.target.labels)) return false;
  const listsAnyone = (spec.subjects?.users?.length ?? 0) + (spec.subjects?.groups?.length ?? 0) > 0;
  if (spec.subjects && listsAnyone && !isSubject(spec.subjects, request.user, request.groups)) return false;
  if (spec.exemptSubjects && isSubject(spec.exemptSubjects, request.user, request.groups)) return false;
  return true;
}
