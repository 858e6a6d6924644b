/**
 * `mirrord doctor`'s verdicts: each check turns what the API server returned into a line with
 * ✓ or ✗ and, when it fails, the command that fixes it. Pure functions over API objects, so every
 * verdict is tested without a cluster; cli/commands/doctor.ts does the asking.
 */
import { X509Certificate } from 'node:crypto';
import type { V1APIService, V1Deployment, V1MutatingWebhookConfiguration, V1Namespace, V1Pod } from '../../common/kube-client';
import { INJECTION_LABEL, OPT_OUT_ANNOTATION, sidecarOf, sidecarReady } from '../kube/pod-choice';

export interface Check {
  ok: boolean;
  title: string;
  /** Why it failed (or a detail worth showing when it passed). */
  detail?: string;
  fix?: string;
}

export const WEBHOOK_NAMESPACE = 'mirrord-system';
export const WEBHOOK_DEPLOYMENT = 'mirrord-webhook';
export const OPERATOR_DEPLOYMENT = 'mirrord-operator';

const pass = (title: string, detail?: string): Check => ({ ok: true, title, detail });
const fail = (title: string, detail: string, fix: string): Check => ({ ok: false, title, detail, fix });

export function apiCheck(server: string, version: string | undefined, error?: string): Check {
  if (error !== undefined)
    return fail(
      'Kubernetes API reachable',
      `${server}: ${error}`,
      'check the context (kubectl config current-context), --kubeconfig, and that the cluster is up',
    );
  return pass('Kubernetes API reachable', `${server}${version ? `, Kubernetes ${version}` : ''}`);
}

/** `undefined`: not found. */
export function webhookCheck(deployment: V1Deployment | undefined, configuration: V1MutatingWebhookConfiguration | undefined): Check {
  const title = 'webhook installed and ready';
  if (!deployment || !configuration) {
    const missing = [
      !deployment && `Deployment ${WEBHOOK_NAMESPACE}/${WEBHOOK_DEPLOYMENT}`,
      !configuration && `MutatingWebhookConfiguration ${WEBHOOK_DEPLOYMENT}`,
    ]
      .filter(Boolean)
      .join(' and ');
    return fail(title, `${missing} not found`, 'mirrord install --wait');
  }
  const available = (deployment.status?.conditions ?? []).some((c) => c.type === 'Available' && c.status === 'True');
  if (!available) {
    return fail(
      title,
      `Deployment ${WEBHOOK_NAMESPACE}/${WEBHOOK_DEPLOYMENT} is not Available (${deployment.status?.availableReplicas ?? 0}/${deployment.spec?.replicas ?? 1} replicas)`,
      `kubectl -n ${WEBHOOK_NAMESPACE} describe deployment ${WEBHOOK_DEPLOYMENT}; kubectl -n ${WEBHOOK_NAMESPACE} logs deployment/${WEBHOOK_DEPLOYMENT}`,
    );
  }
  return pass(title, `${deployment.status?.availableReplicas ?? 0} replica(s) available`);
}

/** Every webhook of the configuration must carry a CA certificate, valid now. */
export function caBundleCheck(configuration: V1MutatingWebhookConfiguration | undefined, now: Date): Check {
  const title = 'caBundle set and valid';
  const restart = `kubectl -n ${WEBHOOK_NAMESPACE} rollout restart deployment/${WEBHOOK_DEPLOYMENT} (the webhook writes its caBundle at start)`;
  if (!configuration) return fail(title, 'no MutatingWebhookConfiguration to check', 'mirrord install --wait');
  for (const hook of configuration.webhooks ?? []) {
    const bundle = hook.clientConfig?.caBundle;
    if (!bundle) return fail(title, `webhook ${hook.name} has no caBundle`, restart);
    let certificate: X509Certificate;
    try {
      // The API returns caBundle base64-encoded: a PEM bundle once decoded.
      certificate = new X509Certificate(Buffer.from(bundle, 'base64'));
    } catch (error) {
      return fail(title, `webhook ${hook.name}'s caBundle is not a PEM certificate (${(error as Error).message})`, restart);
    }
    if (!certificate.ca) return fail(title, `webhook ${hook.name}'s caBundle is not a CA certificate (${certificate.subject.replace(/\n/g, ', ')})`, restart);
    const notAfter = new Date(certificate.validTo);
    const notBefore = new Date(certificate.validFrom);
    if (notAfter.getTime() <= now.getTime()) return fail(title, `webhook ${hook.name}'s CA expired on ${notAfter.toISOString()}`, restart);
    if (notBefore.getTime() > now.getTime())
      return fail(title, `webhook ${hook.name}'s CA is valid only from ${notBefore.toISOString()} (check the clocks)`, restart);
  }
  if (!configuration.webhooks?.length)
    return fail(title, `MutatingWebhookConfiguration ${configuration.metadata?.name} has no webhooks`, 'mirrord install --wait');
  return pass(title);
}

/** `undefined`: the namespace does not exist. */
export function namespaceCheck(name: string, namespace: V1Namespace | undefined): Check {
  const title = `namespace ${name} labeled ${INJECTION_LABEL}=enabled`;
  if (!namespace)
    return fail(title, `namespace ${name} not found`, `kubectl create namespace ${name} && kubectl label namespace ${name} ${INJECTION_LABEL}=enabled`);
  const value = namespace.metadata?.labels?.[INJECTION_LABEL];
  if (value !== 'enabled') {
    return fail(
      title,
      value === undefined ? 'the label is missing' : `the label is "${value}"`,
      `kubectl label namespace ${name} ${INJECTION_LABEL}=enabled --overwrite, then restart the workloads (kubectl rollout restart deployment -n ${name})`,
    );
  }
  return pass(title);
}

/** The pods of the target (already looked up); `error` when the target could not be read. */
export function targetCheck(target: string, namespace: string, pods: V1Pod[], error?: string): Check {
  const title = `${target} injected`;
  if (error !== undefined) return fail(title, error, `kubectl get ${target} -n ${namespace}`);
  if (!pods.length) return fail(title, 'it has no pods', `kubectl get ${target} -n ${namespace}`);
  const restart = target.startsWith('pod/')
    ? `kubectl delete ${target} -n ${namespace} (its controller recreates it)`
    : `kubectl rollout restart ${target} -n ${namespace}`;
  const withSidecar = pods.filter((p) => sidecarOf(p));
  if (!withSidecar.length) {
    const optedOut = pods.some((p) => p.metadata?.annotations?.[OPT_OUT_ANNOTATION] === 'false');
    if (optedOut)
      return fail(title, `its pods opt out (annotation ${OPT_OUT_ANNOTATION}: "false")`, `remove the annotation from the pod template, then ${restart}`);
    if (pods.some((p) => p.spec?.hostNetwork))
      return fail(title, 'its pods use hostNetwork, which is never injected', 'mirrord can only attach to pods with their own network namespace');
    return fail(
      title,
      `none of its ${pods.length} pod(s) carries the sidecar (created before the namespace was labeled, or while the webhook was down)`,
      restart,
    );
  }
  const ready = withSidecar.filter(sidecarReady);
  if (!ready.length)
    return fail(
      title,
      `${withSidecar.length} pod(s) carry the sidecar, none is ready`,
      `kubectl describe pod ${withSidecar[0].metadata?.name} -n ${namespace}`,
    );
  return pass(title, `${ready.length} of ${pods.length} pod(s) with a ready sidecar`);
}

export function portForwardCheck(namespace: string, allowed: boolean | undefined, reason?: string): Check {
  const title = `port-forward permitted in namespace ${namespace}`;
  if (allowed) return pass(title);
  return fail(
    title,
    allowed === undefined ? `could not ask the API server (${reason ?? 'no answer'})` : `create pods/portforward is denied${reason ? ` (${reason})` : ''}`,
    `ask for a Role granting "create" on "pods/portforward" in ${namespace}; kubectl auth can-i create pods/portforward -n ${namespace}`,
  );
}

/** The operator, from its APIService: absent (sessions need no ticket), available, or not answering. */
export function operatorCheck(apiService: V1APIService | undefined): Check {
  const title = 'operator';
  if (!apiService) return pass(title, 'not installed: sidecars accept sessions without a ticket (mirrord install adds it)');
  const available = apiService.status?.conditions?.find((condition) => condition.type === 'Available');
  if (available?.status === 'True') return pass(title, 'installed and answering: sessions need its ticket');
  return fail(
    title,
    `installed but not answering (${available?.message ?? available?.reason ?? 'no Available condition yet'}): new sessions can't start`,
    `kubectl -n ${WEBHOOK_NAMESPACE} get pods -l app.kubernetes.io/name=${OPERATOR_DEPLOYMENT}; kubectl -n ${WEBHOOK_NAMESPACE} logs deployment/${OPERATOR_DEPLOYMENT}`,
  );
}

export function ticketCheck(namespace: string, allowed: boolean | undefined, reason?: string): Check {
  const title = `tickets permitted in namespace ${namespace}`;
  if (allowed) return pass(title);
  return fail(
    title,
    allowed === undefined
      ? `could not ask the API server (${reason ?? 'no answer'})`
      : `create tickets.operator.mirrord.dev is denied${reason ? ` (${reason})` : ''}`,
    `ask an administrator to bind you the mirrord-user ClusterRole in ${namespace} (kubectl create rolebinding … --clusterrole=mirrord-user)`,
  );
}

export function formatChecks(checks: Check[]): string {
  return checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.title}${c.detail ? `: ${c.detail}` : ''}\n${!c.ok && c.fix ? `  fix: ${c.fix}\n` : ''}`).join('');
}
