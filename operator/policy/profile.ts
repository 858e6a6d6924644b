/** `requireProfile` and `profileAllowlist`: which profile, if any, a session must name. */
import { refusal, type PolicyRefusal } from './refusal';
import type { NamedPolicy } from './spec';

/** The profiles every applying allowlist admits (undefined: no policy restricts them). */
function allowedProfiles(policies: readonly NamedPolicy[]): string[] | undefined {
  let allowed: string[] | undefined;
  for (const { spec } of policies) {
    if (spec.profileAllowlist === undefined) continue;
    allowed = allowed === undefined ? [...spec.profileAllowlist] : allowed.filter((name) => spec.profileAllowlist?.includes(name));
  }
  return allowed;
}

function describeProfiles(allowed: string[] | undefined): string {
  if (allowed === undefined) return 'a session with a profile (--profile NAME)';
  if (allowed.length === 0) return 'no profile satisfies every applying policy';
  return `a session with one of the profiles ${allowed.join(', ')}`;
}

/** The first policy the session's profile (or the lack of one) does not satisfy, or undefined. */
export function profileRefusal(policies: readonly NamedPolicy[], profile: string | undefined, targetPath: string): PolicyRefusal | undefined {
  const allowed = allowedProfiles(policies);
  for (const { name, spec } of policies) {
    if (profile === undefined && spec.requireProfile) {
      return refusal(name, `a session without a profile on ${targetPath}`, describeProfiles(allowed));
    }
    if (profile !== undefined && spec.profileAllowlist !== undefined && !spec.profileAllowlist.includes(profile)) {
      return refusal(name, `a session with the profile "${profile}" on ${targetPath}`, describeProfiles(allowed));
    }
  }
  return undefined;
}
