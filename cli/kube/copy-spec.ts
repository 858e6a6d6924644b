/**
 * The Job a copy of a target runs as (copy_target): the target's pod template, without its
 * probes (nobody restarts a copy held at a breakpoint), without its labels (its Services and
 * controllers don't pick the copy up), without a sidecar a copied pod already carried (the
 * webhook injects a fresh one), and with a deadline the CLI keeps extending while it runs: a CLI
 * that dies stops extending it, and the Job then ends and is removed with its pod.
 */
import type { V1Container, V1Job, V1PodTemplateSpec } from '../../common/kube-client';
import { COPY_LABEL, COPY_OF_ANNOTATION } from '../../common/copy-target';
import { ANNOTATION, OPERATOR_KEYS, SIDECAR_NAME, SIDECAR_SCRATCH, TLS_SECRET } from '../../common/pod-contract';

export const STARTED_BY_ANNOTATION = 'mirrord.dev/started-by';

export interface CopyJobOptions {
  /** The Job's name. */
  name: string;
  /** The target it copies, `kind/name`. */
  copyOf: string;
  /** `user@host`, for whoever lists the Jobs. */
  startedBy: string;
  /** The Job's first deadline, from its start. */
  deadlineS: number;
}

const INJECTED_VOLUMES = new Set([SIDECAR_SCRATCH.run, SIDECAR_SCRATCH.tmp, OPERATOR_KEYS.volume, TLS_SECRET.volume]);

function withoutProbes(container: V1Container): V1Container {
  const copy = { ...container };
  delete copy.livenessProbe;
  delete copy.readinessProbe;
  delete copy.startupProbe;
  return copy;
}

/** The pod template of the copy. */
export function copyTemplate(source: V1PodTemplateSpec): V1PodTemplateSpec {
  const spec = structuredClone(source.spec!);
  spec.containers = spec.containers.filter((c) => c.name !== SIDECAR_NAME).map(withoutProbes);
  if (spec.initContainers) spec.initContainers = spec.initContainers.filter((c) => c.name !== SIDECAR_NAME).map(withoutProbes);
  if (spec.volumes) spec.volumes = spec.volumes.filter((v) => !INJECTED_VOLUMES.has(v.name));
  // A Job's pod is never restarted in place; the copy is scheduled afresh, not where a copied pod was bound.
  spec.restartPolicy = 'Never';
  delete spec.nodeName;
  delete spec.activeDeadlineSeconds;
  delete spec.ephemeralContainers;
  const annotations = { ...source.metadata?.annotations };
  delete annotations[ANNOTATION.injected];
  return { metadata: { labels: { [COPY_LABEL]: 'true', 'app.kubernetes.io/managed-by': 'mirrord' }, annotations }, spec };
}

export function copyJob(source: V1PodTemplateSpec, { name, copyOf, startedBy, deadlineS }: CopyJobOptions): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      labels: { [COPY_LABEL]: 'true', 'app.kubernetes.io/managed-by': 'mirrord' },
      annotations: { [COPY_OF_ANNOTATION]: copyOf, [STARTED_BY_ANNOTATION]: startedBy },
    },
    spec: {
      // One pod, never replaced: a copy that fails ends the session, and the Job with it.
      backoffLimit: 0,
      ttlSecondsAfterFinished: 0,
      activeDeadlineSeconds: deadlineS,
      template: copyTemplate(source),
    },
  };
}
