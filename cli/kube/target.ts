/**
 * Targets as kubectl spells them: `pod/NAME`, `deploy/NAME`, `statefulset/NAME`, `rs/NAME`
 * (and their long and plural forms).
 */
import { CliError, USAGE_EXIT } from '../errors';

export type TargetKind = 'pod' | 'deployment' | 'statefulset' | 'replicaset';

export interface Target {
  kind: TargetKind;
  name: string;
}

const KINDS: Record<string, TargetKind> = {
  po: 'pod',
  pod: 'pod',
  pods: 'pod',
  deploy: 'deployment',
  deployment: 'deployment',
  deployments: 'deployment',
  sts: 'statefulset',
  statefulset: 'statefulset',
  statefulsets: 'statefulset',
  rs: 'replicaset',
  replicaset: 'replicaset',
  replicasets: 'replicaset',
};

export function parseTarget(text: string): Target {
  const match = /^([a-z]+)(?:\.apps)?\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(text.trim());
  const kind = match ? KINDS[match[1]] : undefined;
  if (!match || !kind) {
    throw new CliError(
      `"${text}" is not a target`,
      'targets are pod/NAME, deploy/NAME, statefulset/NAME or rs/NAME (kubectl short forms work too)',
      USAGE_EXIT,
    );
  }
  return { kind, name: match[2] };
}

export function describeTarget(target: Target): string {
  return `${target.kind}/${target.name}`;
}
