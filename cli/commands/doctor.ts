/**
 * `mirrord doctor [TARGET]`: what must hold for `mirrord attach` to work, each a ✓ or a ✗ with
 * the fix. The verdicts are in admin/doctor-checks.ts; this module only asks the API server.
 * Exit code 0 when every check passes, 1 otherwise.
 */
import { AdmissionregistrationV1Api, ApiregistrationV1Api, AppsV1Api, AuthorizationV1Api, CoreV1Api, VersionApi } from '../../common/kube-client';
import type { AdminArgs } from '../admin-args';
import {
  apiCheck,
  caBundleCheck,
  formatChecks,
  namespaceCheck,
  operatorCheck,
  portForwardCheck,
  ticketCheck,
  targetCheck,
  webhookCheck,
  WEBHOOK_DEPLOYMENT,
  WEBHOOK_NAMESPACE,
  type Check,
} from '../admin/doctor-checks';
import { CliError } from '../errors';
import { loadKube, podsOfTarget, statusOf, WEBHOOK_CONFIGURATION } from '../kube/cluster';
import { describeTarget, parseTarget } from '../kube/target';
import { OPERATOR_API_SERVICE, OPERATOR_GROUP, TICKETS_RESOURCE } from '../../protocol/operator-api';

/** A missing object is `undefined`; any other failure is thrown. */
const orMissing = <T>(promise: Promise<T>) =>
  promise.catch((error: unknown) => {
    if (statusOf(error) === 404) return undefined;
    throw error;
  });

export async function doctor(args: Extract<AdminArgs, { kind: 'doctor' }>): Promise<number> {
  const target = args.target === undefined ? undefined : parseTarget(args.target);
  const kube = loadKube(args.kube);
  const { namespace } = kube;
  const server = kube.config.getCurrentCluster()?.server ?? 'the API server';
  const checks: Check[] = [];
  const report = () => {
    process.stdout.write(formatChecks(checks));
    return checks.every((c) => c.ok) ? 0 : 1;
  };

  try {
    const version = await kube.config.makeApiClient(VersionApi).getCode();
    checks.push(apiCheck(server, version.gitVersion));
  } catch (error) {
    checks.push(apiCheck(server, undefined, (error as Error).message.split('\n')[0]));
    return report(); // nothing else can be asked
  }

  const apps = kube.config.makeApiClient(AppsV1Api);
  const admission = kube.config.makeApiClient(AdmissionregistrationV1Api);
  const core = kube.config.makeApiClient(CoreV1Api);
  const registration = kube.config.makeApiClient(ApiregistrationV1Api);
  const [deployment, configuration, ns, apiService] = await Promise.all([
    orMissing(apps.readNamespacedDeployment({ name: WEBHOOK_DEPLOYMENT, namespace: WEBHOOK_NAMESPACE })),
    orMissing(admission.readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION })),
    orMissing(core.readNamespace({ name: namespace })),
    orMissing(registration.readAPIService({ name: OPERATOR_API_SERVICE })),
  ]).catch((error: unknown) => {
    throw new CliError(
      `cannot read the webhook's objects: ${(error as Error).message.split('\n')[0]}`,
      'mirrord doctor needs to read Deployments, MutatingWebhookConfigurations, Namespaces and APIServices',
    );
  });
  checks.push(webhookCheck(deployment, configuration));
  checks.push(caBundleCheck(configuration, new Date()));
  checks.push(namespaceCheck(namespace, ns));
  checks.push(operatorCheck(apiService));

  if (target) {
    const name = describeTarget(target);
    try {
      checks.push(targetCheck(name, namespace, await podsOfTarget(kube, target)));
    } catch (error) {
      checks.push(targetCheck(name, namespace, [], (error as Error).message));
    }
  }

  try {
    const review = await kube.config.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { namespace, verb: 'create', resource: 'pods', subresource: 'portforward' } },
      },
    });
    checks.push(portForwardCheck(namespace, review.status?.allowed ?? false, review.status?.reason));
  } catch (error) {
    checks.push(portForwardCheck(namespace, undefined, (error as Error).message.split('\n')[0]));
  }
  if (apiService) {
    try {
      const review = await kube.config.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { namespace, verb: 'create', group: OPERATOR_GROUP, resource: TICKETS_RESOURCE } },
        },
      });
      checks.push(ticketCheck(namespace, review.status?.allowed ?? false, review.status?.reason));
    } catch (error) {
      checks.push(ticketCheck(namespace, undefined, (error as Error).message.split('\n')[0]));
    }
  }
  return report();
}
