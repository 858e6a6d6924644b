/**
 * copy_target: the session runs on a copy of the target's pod made for it (a Job's pod: see
 * copy-spec.ts), so a breakpoint or a crash of the local process costs the real workload
 * nothing, and targets without a running pod (a Job that finished, a CronJob, a workload scaled
 * to zero) can be attached to. scale_down scales the original to zero for the session (a queue
 * consumer that must not compete with the copy) and restores it after.
 *
 * The copy's Job has a deadline the CLI extends every few seconds; a CLI that dies stops
 * extending it, and the Job ends and is deleted with its pod within a minute or so. The
 * operator scales back a workload whose copy is gone (operator/copies), which is why scale_down
 * needs it.
 */
import { randomBytes } from 'node:crypto';
import { ApisApi, BatchV1Api, CoreV1Api, KubernetesObjectApi, type KubernetesObject, type V1PodTemplateSpec } from '../../common/kube-client';
import {
  readScaleDown,
  restoreIfStillScaled,
  scaleDownPatch,
  SCALABLE_KINDS,
  SCALED_DOWN_ANNOTATION,
  type ScaleDownRecord,
  type WorkloadReference,
} from '../../common/copy-target';
import { workloadApi } from '../../common/kube-merge-patch';
import { OPERATOR_GROUP } from '../../protocol/operator-api';
import { KIND_API } from '../../common/target-path';
import { CliError } from '../errors';
import { explainApiErrors, statusOf, type Kube } from './cluster';
import { copyJob } from './copy-spec';
import { cleanUpOnInterrupt, waitForJobPod } from './job-pod';
import { agentPortOf } from './pod-choice';
import { describeTarget, type Target, type TargetKind } from './target';

/** How long the copy's pod may take to be scheduled, pull its images and start its sidecar. */
const READY_TIMEOUT_MS = 120_000;
/** How often the CLI extends the copy's deadline. */
const RENEW_MS = 10_000;
/** How long the copy outlives a CLI that stopped extending its deadline, besides the reconnection window. */
const LEASE_S = 30;
const FIELD_MANAGER = 'mirrord';

export interface CopyRequest {
  target: Target;
  scaleDown: boolean;
  /** `user@host`. */
  startedBy: string;
  /** How long a dropped connection is retried: the copy must outlast that. */
  reconnectMs: number;
  step(text: string): void;
  warn(text: string): void;
}

export interface CopyPod {
  name: string;
  port: number;
  job: string;
  /** Restores the workload (scale_down) and deletes the copy. */
  release(): Promise<void>;
}

type Workload = KubernetesObject & { spec?: Record<string, unknown> };

/** A target that names one object (not a label selector). */
type ObjectTarget = Target & { kind: TargetKind };

function reference(kube: Kube, target: ObjectTarget): WorkloadReference {
  return { ...KIND_API[target.kind], metadata: { name: target.name, namespace: kube.namespace } };
}

/** The pod template the target's pods are made from (a pod's own spec for a pod). */
export function templateOf(target: Target, object: Workload): V1PodTemplateSpec {
  const spec = object.spec ?? {};
  if (target.kind === 'pod') return { metadata: { annotations: object.metadata?.annotations }, spec: spec as unknown as V1PodTemplateSpec['spec'] };
  if (target.kind === 'cronjob') {
    const jobTemplate = spec.jobTemplate as { spec?: { template?: V1PodTemplateSpec } } | undefined;
    return jobTemplate?.spec?.template ?? {};
  }
  return (spec.template as V1PodTemplateSpec | undefined) ?? {};
}

/** Whether the cluster serves the operator's API (discovery: any authenticated user may ask). */
async function operatorServed(kube: Kube): Promise<boolean> {
  const { groups } = await kube.config.makeApiClient(ApisApi).getAPIVersions();
  return groups.some((group) => group.name === OPERATOR_GROUP);
}

export async function startCopy(kube: Kube, request: CopyRequest): Promise<CopyPod> {
  const { step } = request;
  const { namespace } = kube;
  const name = describeTarget(request.target);
  if (request.target.kind === 'service' || request.target.kind === 'selector') {
    throw new CliError(
      `a copy is made of a workload, and ${name} is ${request.target.kind === 'service' ? 'a Service' : 'a label selector'}`,
      'copy the workload behind it (deploy/NAME)',
    );
  }
  const target = request.target as ObjectTarget;
  if (request.scaleDown && !(SCALABLE_KINDS as readonly string[]).includes(target.kind)) {
    throw new CliError(
      `scale_down scales a workload with replicas, and ${name} has none`,
      `use it with deploy/, statefulset/, rs/ or rollout/ targets, or drop it`,
    );
  }
  const objects = KubernetesObjectApi.makeApiClient(kube.config);
  const workloads = workloadApi(kube.config, FIELD_MANAGER);
  const object = await explainApiErrors(kube, target, () => objects.read(reference(kube, target)) as Promise<Workload>);
  const template = templateOf(target, object);
  if (!template.spec?.containers?.length) throw new CliError(`${name} has no pod template to copy`, `kubectl get ${name} -n ${namespace} -o yaml`);
  if (request.scaleDown) {
    if (!(await operatorServed(kube))) {
      throw new CliError(
        'scale_down needs the mirrord operator: it scales the workload back up if this CLI is killed before it can',
        'mirrord install (with the operator), or drop --scale-down',
      );
    }
    const held = readScaleDown(object.metadata?.annotations?.[SCALED_DOWN_ANNOTATION]);
    if (held) throw new CliError(`${name} is already scaled down for another session's copy (job/${held.job})`, 'attach to that copy, or drop --scale-down');
  }

  const job = `mirrord-copy-${randomBytes(4).toString('hex')}`;
  const batch = kube.config.makeApiClient(BatchV1Api);
  const core = kube.config.makeApiClient(CoreV1Api);
  const leaseS = Math.ceil(request.reconnectMs / 1000) + LEASE_S;
  const created = Date.now();
  step(`copying ${name} (job/${job})…`);
  try {
    await batch.createNamespacedJob({
      namespace,
      body: copyJob(template, { name: job, copyOf: name, startedBy: request.startedBy, deadlineS: READY_TIMEOUT_MS / 1000 + leaseS }),
    });
  } catch (error) {
    const code = statusOf(error);
    throw new CliError(
      `cannot create the copy of ${name} in namespace ${namespace}${code ? ` (HTTP ${code})` : ''}: ${(error as Error).message}`,
      code === 403 ? `kubectl auth can-i create jobs -n ${namespace}: the mirrord-copy-target role grants it` : 'check that the cluster is up',
    );
  }

  // While the CLI lives the copy does: its deadline moves on, a lease nobody else has to keep.
  let renewFailed = false;
  const extend = () =>
    workloads
      .mergePatch(
        { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: job, namespace } },
        { spec: { activeDeadlineSeconds: Math.ceil((Date.now() - created) / 1000) + leaseS } },
      )
      .then(
        () => (renewFailed = false),
        (error: unknown) => {
          if (!renewFailed) request.warn(`could not extend the copy's deadline (${(error as Error).message}); it ends ${leaseS} s after the last extension`);
          renewFailed = true;
        },
      );
  const renew = setInterval(() => void extend(), RENEW_MS);
  renew.unref();

  let scaled: ScaleDownRecord | undefined;
  const release = async () => {
    interrupted();
    clearInterval(renew);
    if (scaled) {
      const record = scaled;
      scaled = undefined;
      await restoreIfStillScaled(workloads, reference(kube, target), record).catch((error: unknown) =>
        request.warn(`could not scale ${name} back to ${record.replicas} (${(error as Error).message}); the operator will`),
      );
    }
    await batch.deleteNamespacedJob({ name: job, namespace, propagationPolicy: 'Background' }).catch((error: unknown) => {
      if (statusOf(error) !== 404) request.warn(`could not delete job/${job} (${(error as Error).message}); it ends by itself within ${leaseS} s`);
    });
  };
  const interrupted = cleanUpOnInterrupt(release, step);
  try {
    if (request.scaleDown) {
      const record = { replicas: replicasOf(object), job };
      step(`scaling ${name} down from ${record.replicas} to 0 for the session…`);
      await workloads.mergePatch(reference(kube, target), scaleDownPatch(record)).catch((error: unknown) => {
        throw new CliError(
          `cannot scale ${name} down (HTTP ${statusOf(error) ?? '?'}): ${(error as Error).message}`,
          `kubectl auth can-i patch ${KIND_API[target.kind].kind.toLowerCase()}s -n ${namespace}: the mirrord-copy-target role grants it`,
        );
      });
      scaled = record;
    }
    const pod = await waitForJobPod(core, namespace, job, {
      what: `the copy of ${name}`,
      containerHint: `the copy runs ${name}'s own images and settings`,
      timeoutMs: READY_TIMEOUT_MS,
    });
    // From now on the copy outlives a dead CLI by the lease, not by the time it had to start.
    await extend();
    interrupted();
    return { name: pod.metadata?.name ?? '', port: agentPortOf(pod), job, release };
  } catch (error) {
    await release();
    throw error;
  }
}

function replicasOf(object: Workload): number {
  const replicas = object.spec?.replicas;
  return typeof replicas === 'number' ? replicas : 1;
}
