/**
 * Targets as kubectl spells them (common/target-path.ts reads them), with the CLI's usage error
 * for what is no target.
 */
import { readTargetPath, type TargetKind } from '../../common/target-path';
import { CliError, USAGE_EXIT } from '../errors';

export type { TargetKind };

/** What `target` says for a targetless session (mirrord's spelling), and what the flag `--targetless` sets. */
export const TARGETLESS = 'targetless';

/** The pods a label selector matches, whatever owns them: `selector/app=web,tier!=cache` (`--selector`). */
export const SELECTOR = 'selector';

export interface Target {
  /** For `selector`, `name` is the label selector. */
  kind: TargetKind | typeof SELECTOR;
  name: string;
}

export function parseTarget(text: string): Target {
  if (text.startsWith(`${SELECTOR}/`)) {
    const selector = text.slice(SELECTOR.length + 1).trim();
    if (!selector) throw new CliError('an empty label selector matches every pod of the namespace', 'name the labels: --selector app=web', USAGE_EXIT);
    return { kind: SELECTOR, name: selector };
  }
  const target = readTargetPath(text);
  if (!target) {
    throw new CliError(
      `"${text}" is not a target`,
      'targets are pod/NAME, deploy/NAME, statefulset/NAME, rs/NAME, svc/NAME, rollout/NAME, job/NAME or cronjob/NAME (kubectl short forms work too), or --selector LABELS',
      USAGE_EXIT,
    );
  }
  return target;
}

export function describeTarget(target: Target): string {
  return `${target.kind}/${target.name}`;
}
