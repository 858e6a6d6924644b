/** Wire protocol version. A peer accepts any minor of its own major. */
export const PROTOCOL_VERSION = '1.7';

export interface Version {
  major: number;
  minor: number;
}

export function parseVersion(text: string): Version | undefined {
  const match = /^(\d{1,4})\.(\d{1,4})$/.exec(text);
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/** Why a peer speaking `theirs` can't talk to us, or undefined when it can. */
export function incompatibility(theirs: string, ours = PROTOCOL_VERSION): string | undefined {
  const them = parseVersion(theirs);
  const us = parseVersion(ours)!;
  if (!them) return `protocol version "${theirs}" is not of the form MAJOR.MINOR`;
  if (them.major !== us.major) {
    return `protocol ${theirs} is not supported: this sidecar speaks ${us.major}.x; use a mirrord CLI of the same major version as the sidecar`;
  }
  return undefined;
}

/** The first minor whose HTTP filters nest (`all`, `any`) and look at JSON bodies (`body`). */
export const NESTED_FILTERS_SINCE = '1.6';

/** The first minor that mirrors with HTTP filters (a sidecar before it refuses a filter in mirror mode). */
export const FILTERED_MIRROR_SINCE = '1.7';

/** The first minor of major 1 whose `hello` carries a ticket (protocol/ticket.ts). */
export const TICKETS_SINCE = '1.4';

/** Whether a peer speaking `version` (compatible with ours) knows `since`'s additions. */
export function atLeast(version: string, since: string): boolean {
  const them = parseVersion(version);
  const first = parseVersion(since)!;
  return them !== undefined && (them.major > first.major || (them.major === first.major && them.minor >= first.minor));
}
