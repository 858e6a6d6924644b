/**
 * Copies of a target made for one session (copy_target) and workloads scaled to zero for them
 * (scale_down): the names the CLI writes on the copy's Job and on the workload, which the
 * operator reads to treat a copy's pod as its target's, and to scale a workload back up when the
 * CLI that scaled it down died before it could.
 */

/** On a copy's Job and pod: "true". Services select on the target's labels, which a copy doesn't carry. */
export const COPY_LABEL = 'mirrord.dev/copy';

/** On a copy's Job: the target it copies, as `kind/name` (`deployment/shop`). */
export const COPY_OF_ANNOTATION = 'mirrord.dev/copy-of';

/** On a workload scaled to zero for a copy: "true", so the operator finds them with one list. */
export const SCALED_DOWN_LABEL = 'mirrord.dev/scaled-down';

/** On a workload scaled to zero for a copy: a ScaleDownRecord as JSON. */
export const SCALED_DOWN_ANNOTATION = 'mirrord.dev/scaled-down-for';

export interface ScaleDownRecord {
  /** The replicas it had, to restore. */
  replicas: number;
  /** The copy's Job (in the workload's namespace): while it runs, the workload stays at zero. */
  job: string;
}

export function writeScaleDown(record: ScaleDownRecord): string {
  return JSON.stringify(record);
}

/** The record, or undefined when the annotation is absent or not one (someone edited it). */
export function readScaleDown(text: string | undefined): ScaleDownRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<ScaleDownRecord>;
    if (Number.isInteger(value.replicas) && value.replicas! >= 0 && typeof value.job === 'string' && value.job) {
      return { replicas: value.replicas!, job: value.job };
    }
  } catch {
    // not JSON: no record
  }
  return undefined;
}

/** A JSON merge patch that scales a workload to zero and records what to restore. */
export function scaleDownPatch(record: ScaleDownRecord) {
  return {
    metadata: { labels: { [SCALED_DOWN_LABEL]: 'true' }, annotations: { [SCALED_DOWN_ANNOTATION]: writeScaleDown(record) } },
    spec: { replicas: 0 },
  };
}

/** A JSON merge patch that gives a workload its replicas back and removes the record. */
export function restorePatch(record: ScaleDownRecord) {
  return {
    metadata: { labels: { [SCALED_DOWN_LABEL]: null }, annotations: { [SCALED_DOWN_ANNOTATION]: null } },
    spec: { replicas: record.replicas },
  };
}

/** The kinds scale_down applies to: those with `spec.replicas` their controller keeps. */
export const SCALABLE_KINDS = ['deployment', 'statefulset', 'replicaset', 'rollout'] as const;

/** A workload as the API serves it, named by `apiVersion`, `kind`, name and namespace. */
export interface WorkloadReference {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
}

/** What restoring needs of the API server (KubernetesObjectApi, by common/kube-merge-patch.ts). */
export interface WorkloadApi {
  annotations(reference: WorkloadReference): Promise<Record<string, string> | undefined>;
  mergePatch(reference: WorkloadReference, patch: object): Promise<void>;
}

/**
 * Gives the workload its replicas back if it still carries this record: the CLI and the
 * operator may both try, and another session may have scaled it down since.
 */
export async function restoreIfStillScaled(api: WorkloadApi, reference: WorkloadReference, record: ScaleDownRecord): Promise<boolean> {
  if (readScaleDown((await api.annotations(reference))?.[SCALED_DOWN_ANNOTATION])?.job !== record.job) return false;
  await api.mergePatch(reference, restorePatch(record));
  return true;
}
