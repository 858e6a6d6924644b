/**
 * Waiting for the pod of a Job the CLI started for a session (a targetless pod, a copy of the
 * target) until its sidecar is ready, or until the pod shows it never will: not given the
 * sidecar, not schedulable, a container that can't start.
 */
import type { CoreV1Api, V1Pod } from '../../common/kube-client';
import { CliError } from '../errors';
import { sidecarOf, usablePods } from './pod-choice';

const POLL_MS = 250;

/** Why the pod will not become ready by waiting, or undefined while it still may. */
export function podProblem(pod: V1Pod): { text: string; kind: 'no-sidecar' | 'unschedulable' | 'container' } | undefined {
  if (!sidecarOf(pod)) return { text: 'was not given the sidecar', kind: 'no-sidecar' };
  const unschedulable = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
  if (unschedulable) return { text: `cannot be scheduled: ${unschedulable.message ?? 'no node fits it'}`, kind: 'unschedulable' };
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const waiting = statuses.find((c) => c.state?.waiting?.reason && /Err|BackOff|Invalid/.test(c.state.waiting.reason));
  if (waiting) {
    const { reason, message } = waiting.state!.waiting!;
    return { text: `has a container that can't start (${waiting.name}: ${reason}${message ? `, ${message}` : ''})`, kind: 'container' };
  }
  const ended = statuses.find((c) => c.state?.terminated && c.state.terminated.exitCode !== 0);
  if (pod.status?.phase === 'Failed' || ended) {
    const terminated = ended?.state?.terminated;
    return {
      text: `ended before its sidecar was ready${terminated ? ` (${ended!.name}: exit code ${terminated.exitCode}${terminated.reason ? `, ${terminated.reason}` : ''})` : ''}`,
      kind: 'container',
    };
  }
  return undefined;
}

export interface JobPodWait {
  /** For messages: "the targetless pod", "the copy of deployment/shop". */
  what: string;
  /** What to check when a container can't start (which image, how to name another). */
  containerHint: string;
  timeoutMs: number;
}

/** The Job's pod once its sidecar is ready; a CliError saying what is wrong otherwise. */
export async function waitForJobPod(core: CoreV1Api, namespace: string, job: string, { what, containerHint, timeoutMs }: JobPodWait): Promise<V1Pod> {
  const deadline = Date.now() + timeoutMs;
  let last: V1Pod | undefined;
  while (Date.now() < deadline) {
    const pods = (await core.listNamespacedPod({ namespace, labelSelector: `job-name=${job}` })).items;
    const [ready] = usablePods(pods);
    if (ready) return ready;
    last = pods[0];
    const problem = last && podProblem(last);
    if (problem) {
      const describe = `kubectl describe pod ${last!.metadata?.name} -n ${namespace}`;
      const hint =
        problem.kind === 'no-sidecar'
          ? 'mirrord doctor checks the webhook; is it running?'
          : problem.kind === 'container'
            ? `${containerHint}; ${describe}`
            : describe;
      throw new CliError(`${what} (pod ${last!.metadata?.name}) ${problem.text}`, hint);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new CliError(
    `${what}${last ? ` (pod ${last.metadata?.name})` : ''} was not ready within ${timeoutMs / 1000} s`,
    `kubectl describe pods -l job-name=${job} -n ${namespace}`,
  );
}

const INTERRUPTS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const SIGNAL_NUMBER: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/**
 * Until the returned function is called, Ctrl-C (or SIGTERM, SIGHUP) first runs `cleanup` (the
 * Job just created must not outlive a user who gave up waiting for it), then exits as the
 * signal would have.
 */
export function cleanUpOnInterrupt(cleanup: () => Promise<void>, say: (text: string) => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    remove();
    say(`${signal}: removing what was started in the cluster…`);
    void cleanup()
      .catch(() => undefined)
      .finally(() => process.exit(128 + (SIGNAL_NUMBER[signal] ?? 1)));
  };
  const remove = () => INTERRUPTS.forEach((signal) => process.off(signal, onSignal));
  INTERRUPTS.forEach((signal) => process.on(signal, onSignal));
  return remove;
}
