/**
 * The CLI's questions to the API server: which pod a target means, and what explains a pod
 * without the sidecar. Kubeconfig discovery is kubectl's: --kubeconfig, else $KUBECONFIG, else
 * ~/.kube/config, else the in-cluster service account.
 *
 * @kubernetes/client-node is an ES module that jest can't load; keep logic that needs tests in
 * the pure modules beside this one.
 */
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1LabelSelector,
  type V1Pod,
} from '../../common/kube-client';
import { CliError, USAGE_EXIT } from '../errors';
import { choosePod, explainMissingSidecar, type InjectionContext } from './pod-choice';
import { selectorString } from '../../common/label-selector';
import { describeTarget, SELECTOR, type Target } from './target';
import { reuseConnections } from '../../common/kube-connections';
import { statusMessage, statusOf } from '../../common/kube-status';

export { statusOf };

export interface KubeOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface Kube {
  config: KubeConfig;
  namespace: string;
}

export const WEBHOOK_CONFIGURATION = 'mirrord-webhook';

export function loadKube(options: KubeOptions): Kube {
  const config = reuseConnections(new KubeConfig());
  try {
    if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
    else config.loadFromDefault();
  } catch (error) {
    throw new CliError(
      `cannot read the kubeconfig${options.kubeconfig ? ` ${options.kubeconfig}` : ''}: ${(error as Error).message}`,
      'check --kubeconfig or $KUBECONFIG',
    );
  }
  if (options.context) {
    if (!config.getContextObject(options.context)) {
      throw new CliError(`context "${options.context}" is not in the kubeconfig`, `kubectl config get-contexts lists them`);
    }
    config.setCurrentContext(options.context);
  }
  if (!config.getCurrentCluster()) throw new CliError('the kubeconfig has no current cluster', 'kubectl config use-context NAME, or --context NAME');
  const namespace = options.namespace ?? config.getContextObject(config.getCurrentContext())?.namespace ?? 'default';
  return { config, namespace };
}

/** The pod a session attaches to, with the sidecar Running and Ready; with the target's pods as they were listed, and how to list them again. */
export async function resolvePod(kube: Kube, target: Target, wanted?: string): Promise<{ pod: V1Pod; pods: V1Pod[]; again(): Promise<V1Pod[]> }> {
  const { namespace } = kube;
  const { pods, again } = await listTargetPods(kube, target);
  const choice = choosePod(target, pods, namespace, wanted);
  if ('pod' in choice) return { pod: choice.pod, pods, again };
  throw explainMissingSidecar(target, choice.withoutSidecar, namespace, await injectionContext(kube));
}

/** The target's pods (the pod itself, or those its workload's selector matches). */
export async function podsOfTarget(kube: Kube, target: Target): Promise<V1Pod[]> {
  return (await listTargetPods(kube, target)).pods;
}

/** The target's pods, and a listing of them again that reads the workload's selector no more. */
async function listTargetPods(kube: Kube, target: Target): Promise<{ pods: V1Pod[]; again(): Promise<V1Pod[]> }> {
  const core = kube.config.makeApiClient(CoreV1Api);
  const { namespace } = kube;
  return explainApiErrors(kube, target, async () => {
    if (target.kind === 'pod') {
      const read = async () => [await core.readNamespacedPod({ name: target.name, namespace })];
      return { pods: await read(), again: read };
    }
    const labelSelector = target.kind === SELECTOR ? target.name : selectorString(await workloadSelector(kube, target));
    // An empty selector lists every pod of the namespace: never another workload's.
    if (!labelSelector) {
      throw new CliError(`${describeTarget(target)} has no pod selector mirrord can follow`, `target its pods (pod/NAME) or the workload that owns them`);
    }
    const list = async () => (await core.listNamespacedPod({ namespace, labelSelector })).items;
    return { pods: await list(), again: list };
  });
}

async function workloadSelector(kube: Kube, target: Target): Promise<V1LabelSelector | undefined> {
  const apps = kube.config.makeApiClient(AppsV1Api);
  const request = { name: target.name, namespace: kube.namespace };
  switch (target.kind) {
    case 'deployment':
      return (await apps.readNamespacedDeployment(request)).spec?.selector;
    case 'statefulset':
      return (await apps.readNamespacedStatefulSet(request)).spec?.selector;
    case 'replicaset':
      return (await apps.readNamespacedReplicaSet(request)).spec?.selector;
    case 'rollout': {
      const custom = kube.config.makeApiClient(CustomObjectsApi);
      const rollout = (await custom.getNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts', ...request })) as {
        spec?: { selector?: V1LabelSelector };
      };
      return rollout.spec?.selector;
    }
    case 'job':
      return (await kube.config.makeApiClient(BatchV1Api).readNamespacedJob(request)).spec?.selector;
    case 'cronjob':
      throw new CliError(`cronjob/${target.name} has no pods of its own to attach to (its Jobs come and go)`, 'attach to a copy of it: --copy-target');
    case 'service': {
      const selector = (await kube.config.makeApiClient(CoreV1Api).readNamespacedService(request)).spec?.selector;
      if (!selector || !Object.keys(selector).length) {
        throw new CliError(`service/${target.name} has no selector: its endpoints are not pods mirrord can find`, 'target the workload behind it');
      }
      return { matchLabels: selector };
    }
    default:
      return undefined;
  }
}

async function injectionContext(kube: Kube): Promise<InjectionContext> {
  const core = kube.config.makeApiClient(CoreV1Api);
  const admission = kube.config.makeApiClient(AdmissionregistrationV1Api);
  const namespace = await core.readNamespace({ name: kube.namespace }).catch(() => undefined);
  const webhookInstalled = await admission.readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION }).then(
    () => true,
    (error: unknown) => statusOf(error) !== 404, // not allowed to look: assume it is there
  );
  return { namespace, webhookInstalled };
}

export async function explainApiErrors<T>(kube: Kube, target: Target, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof CliError) throw error;
    const status = statusOf(error);
    const where = `namespace ${kube.namespace}`;
    if (status === 404) throw new CliError(`${describeTarget(target)} not found in ${where}`, `kubectl get ${target.kind} -n ${kube.namespace}`);
    if (status === 400 && target.kind === SELECTOR) {
      throw new CliError(
        `"${target.name}" is not a label selector the API server accepts: ${statusMessage(error) ?? (error as Error).message}`,
        "kubectl's syntax: app=web,tier!=cache,env in (dev,qa)",
        USAGE_EXIT,
      );
    }
    if (status === 401 || status === 403) {
      throw new CliError(
        `not allowed to read ${describeTarget(target)} in ${where} (HTTP ${status})`,
        'check your credentials and RBAC: kubectl auth can-i get pods',
      );
    }
    const server = kube.config.getCurrentCluster()?.server ?? 'the API server';
    throw new CliError(
      `cannot reach the Kubernetes API at ${server}: ${(error as Error).message}`,
      'check the context (kubectl config current-context) and that the cluster is up',
    );
  }
}
