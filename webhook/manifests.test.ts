/** The kustomize base in manifests/ renders, and installs the webhook the way the code expects. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ANNOTATION, INJECTION_LABEL } from '../common/pod-contract';
import { loadWebhookConfig } from './config';

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
} & Record<string, any>;

const root = join(__dirname, '..');

/** Whether the operator is installed, and its keys for the sidecars: read only, by name. */
const OPERATOR_READ = { apiGroups: ['apiregistration.k8s.io'], resources: ['apiservices'], resourceNames: ['v1.operator.mirrord.dev'], verbs: ['get'] };
const OPERATOR_KEYS_READ = { apiGroups: [''], resources: ['configmaps'], resourceNames: ['mirrord-operator-keys'], verbs: ['get'] };

function render(dir: string): Manifest[] {
  let text: string;
  try {
    text = execFileSync('kubectl', ['kustomize', join(root, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { code, stderr } = error as { code?: string; stderr?: string };
    throw new Error(
      code === 'ENOENT' ? 'this test needs kubectl (it runs `kubectl kustomize`): install kubectl' : `kubectl kustomize ${dir} failed: ${stderr}`,
    );
  }
  return parseAllDocuments(text).map((document) => {
    expect(document.errors).toEqual([]);
    return document.toJS() as Manifest;
  });
}

function find(objects: Manifest[], kind: string, name = 'mirrord-webhook'): Manifest {
  const found = objects.filter((object) => object.kind === kind && object.metadata.name === name);
  expect(found).toHaveLength(1);
  return found[0];
}

describe('kubectl kustomize manifests', () => {
  const objects = render('manifests');
  const defaults = loadWebhookConfig({});

  it('renders exactly the webhook and operator objects and the policy, profile and queue registry resources, all namespaced ones in mirrord-system', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'APIService/v1.operator.mirrord.dev',
      'ClusterRole/mirrord-copy-target',
      'ClusterRole/mirrord-operator',
      'ClusterRole/mirrord-session-admin',
      'ClusterRole/mirrord-targetless',
      'ClusterRole/mirrord-user',
      'ClusterRole/mirrord-webhook',
      'ClusterRoleBinding/mirrord-operator',
      'ClusterRoleBinding/mirrord-webhook',
      'CustomResourceDefinition/mirrordclusterpolicies.mirrord.dev',
      'CustomResourceDefinition/mirrordclusterprofiles.mirrord.dev',
      'CustomResourceDefinition/mirrordpolicies.mirrord.dev',
      'CustomResourceDefinition/mirrordprofiles.mirrord.dev',
      'CustomResourceDefinition/mirrordworkloadqueueregistries.mirrord.dev',
      'Deployment/mirrord-operator',
      'Deployment/mirrord-webhook',
      'MutatingWebhookConfiguration/mirrord-webhook',
      'Namespace/mirrord-system',
      'PodDisruptionBudget/mirrord-operator',
      'PodDisruptionBudget/mirrord-webhook',
      'Role/mirrord-operator',
      'Role/mirrord-webhook',
      'RoleBinding/mirrord-operator',
      'RoleBinding/mirrord-operator-authentication-reader',
      'RoleBinding/mirrord-webhook',
      'Service/mirrord-operator',
      'Service/mirrord-webhook',
      'ServiceAccount/mirrord-operator',
      'ServiceAccount/mirrord-webhook',
    ]);
    const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'CustomResourceDefinition', 'APIService'];
    for (const object of objects) {
      if (clusterScoped.includes(object.kind)) expect(object.metadata.namespace).toBeUndefined();
      // The request-header settings the operator reads are in kube-system; so is the binding that lets it.
      else if (object.metadata.name === 'mirrord-operator-authentication-reader') expect(object.metadata.namespace).toBe('kube-system');
      else expect(object.metadata.namespace).toBe(defaults.namespace);
    }
  });

  it('configures the MutatingWebhookConfiguration for safety first', () => {
    const configuration = find(objects, 'MutatingWebhookConfiguration', defaults.webhookConfiguration);
    expect(configuration.webhooks).toHaveLength(1);
    const [webhook] = configuration.webhooks;
    expect(webhook).toMatchObject({
      admissionReviewVersions: ['v1'],
      failurePolicy: 'Ignore',
      sideEffects: 'None',
      reinvocationPolicy: 'IfNeeded',
      matchPolicy: 'Equivalent',
      clientConfig: { service: { name: defaults.service, namespace: defaults.namespace, path: '/mutate', port: 443 } },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
    });
    expect(webhook.timeoutSeconds).toBeLessThanOrEqual(10);
    expect(webhook.namespaceSelector.matchExpressions).toEqual([
      { key: INJECTION_LABEL, operator: 'In', values: ['enabled'] },
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [defaults.namespace, 'kube-system'] },
      { key: 'pod-security.kubernetes.io/enforce', operator: 'NotIn', values: ['baseline', 'restricted'] },
    ]);
  });

  it('never injects its own namespace, by label too', () => {
    expect(find(objects, 'Namespace', defaults.namespace).metadata.labels![INJECTION_LABEL]).not.toBe('enabled');
  });

  it('runs two replicas spread over nodes, kept by a PodDisruptionBudget', () => {
    const deployment = find(objects, 'Deployment');
    const pod = deployment.spec.template;
    expect(deployment.spec.replicas).toBe(2);
    expect(pod.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm).toMatchObject({
      topologyKey: 'kubernetes.io/hostname',
      labelSelector: { matchLabels: deployment.spec.selector.matchLabels },
    });
    const budget = find(objects, 'PodDisruptionBudget');
    expect(budget.spec).toEqual({ minAvailable: 1, selector: deployment.spec.selector });
    expect(pod.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
  });

  it('runs the webhook unprivileged, probed on its own endpoints, with the names its config expects', () => {
    const pod = find(objects, 'Deployment').spec.template.spec;
    expect(pod.serviceAccountName).toBe('mirrord-webhook');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    const [container] = pod.containers;
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    const env = Object.fromEntries(container.env.map((v: { name: string; value?: string; valueFrom?: unknown }) => [v.name, v.value ?? v.valueFrom]));
    expect(env.MIRRORD_WEBHOOK_NAMESPACE).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    // The names the running webhook will use must be the ones the manifests created.
    const config = loadWebhookConfig({ ...env, MIRRORD_WEBHOOK_NAMESPACE: 'mirrord-system' } as NodeJS.ProcessEnv);
    expect(container.ports).toEqual([{ name: 'https', containerPort: config.port, protocol: 'TCP' }]);
    expect(config.service).toBe(find(objects, 'Service').metadata.name);
    expect(config.webhookConfiguration).toBe(find(objects, 'MutatingWebhookConfiguration').metadata.name);
    expect(find(objects, 'Role').rules[0].resourceNames).toEqual([config.secret]);
    expect(container.image).toBe('mirrord-webhook:0.1.0');
  });

  it('exposes the server on 443', () => {
    const service = find(objects, 'Service');
    expect(service.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
    expect(service.spec.selector).toEqual(find(objects, 'Deployment').spec.selector.matchLabels);
  });

  it("grants only its Secret, its own webhook configuration, a read of namespaces and of the operator's APIService and keys", () => {
    expect(find(objects, 'Role').rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['mirrord-webhook-tls'], verbs: ['get', 'update'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      OPERATOR_KEYS_READ,
    ]);
    expect(find(objects, 'ClusterRole').rules).toEqual([
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['mutatingwebhookconfigurations'],
        resourceNames: ['mirrord-webhook'],
        verbs: ['get', 'update'],
      },
      { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] },
      OPERATOR_READ,
    ]);
    for (const binding of [find(objects, 'RoleBinding'), find(objects, 'ClusterRoleBinding')]) {
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'mirrord-webhook', namespace: 'mirrord-system' }]);
    }
  });

  it('does not use annotation keys the webhook does not know', () => {
    const known = new Set<string>(Object.values(ANNOTATION));
    for (const object of objects) {
      for (const key of Object.keys(object.metadata.annotations ?? {})) if (key.startsWith('mirrord.dev/')) expect(known).toContain(key);
    }
  });
});

describe('kubectl kustomize manifests/cert-manager', () => {
  const objects = render('manifests/cert-manager');

  it("takes certificates from cert-manager and grants only the read of namespaces and of the operator's APIService and keys", () => {
    expect(find(objects, 'MutatingWebhookConfiguration').metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': 'mirrord-system/mirrord-webhook' });
    const certificate = find(objects, 'Certificate');
    expect(certificate.metadata.namespace).toBe('mirrord-system');
    expect(certificate.spec.dnsNames).toContain('mirrord-webhook.mirrord-system.svc');
    const pod = find(objects, 'Deployment').spec.template.spec;
    expect(pod.containers[0].env).toContainEqual({ name: 'MIRRORD_WEBHOOK_CERT_MODE', value: 'files' });
    const mount = pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'tls');
    expect(mount.mountPath).toBe(loadWebhookConfig({}).certificateDir);
    expect(pod.volumes).toContainEqual({ name: 'tls', secret: { secretName: certificate.spec.secretName } });
    expect(find(objects, 'Role').rules).toEqual([OPERATOR_KEYS_READ]);
    expect(find(objects, 'ClusterRole').rules).toEqual([{ apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] }, OPERATOR_READ]);
  });
});
