/**
 * Targets as kubectl spells them (common/target-path.ts reads them), with the CLI's usage error
 * for what is no target.
 */
import { readTargetPath, type TargetKind } from '../../common/target-path';
import { CliError, USAGE_EXIT } from '../errors';

export type { TargetKind };

/** What `target` says for a targetless session (mirrord's spelling), and what the flag `--targetless` sets. */
export const TARGETLESS = 'targetless';

export interface Target {
  kind: TargetKind;
  name: string;
}

export function parseTarget(text: string): Target {
  const target = readTargetPath(text);
  if (!target) {
    throw new CliError(
      `"${text}" is not a target`,
      'targets are pod/NAME, deploy/NAME, statefulset/NAME, rs/NAME, svc/NAME, rollout/NAME, job/NAME or cronjob/NAME (kubectl short forms work too)',
      USAGE_EXIT,
    );
  }
  return target;
}

export function describeTarget(target: Target): string {
  return `${target.kind}/${target.name}`;
}
