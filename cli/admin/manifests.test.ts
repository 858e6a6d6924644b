import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { packagePath } from '../../common/package-root';
import { deletionOrder, describeObject, renderKustomization } from './manifests';

const parseAll = (text: string) => parseAllDocuments(text).map((doc) => doc.toJS());

describe('manifests/ rendered as kubectl kustomize does', () => {
  const objects = renderKustomization(packagePath('manifests'), parseAll);

  it('keeps the order, puts namespaced objects in mirrord-system, labels them all', () => {
    expect(objects.map(describeObject)).toEqual([
      'Namespace mirrord-system',
      'ServiceAccount mirrord-system/mirrord-webhook',
      'Role mirrord-system/mirrord-webhook',
      'RoleBinding mirrord-system/mirrord-webhook',
      'ClusterRole mirrord-webhook',
      'ClusterRoleBinding mirrord-webhook',
      'Deployment mirrord-system/mirrord-webhook',
      'PodDisruptionBudget mirrord-system/mirrord-webhook',
      'Service mirrord-system/mirrord-webhook',
      'MutatingWebhookConfiguration mirrord-webhook',
      'CustomResourceDefinition mirrordpolicies.mirrord.dev',
      'CustomResourceDefinition mirrordclusterpolicies.mirrord.dev',
      'CustomResourceDefinition mirrordprofiles.mirrord.dev',
      'CustomResourceDefinition mirrordclusterprofiles.mirrord.dev',
      'CustomResourceDefinition mirrordworkloadqueueregistries.mirrord.dev',
      'ServiceAccount mirrord-system/mirrord-operator',
      'Role mirrord-system/mirrord-operator',
      'RoleBinding mirrord-system/mirrord-operator',
      'RoleBinding kube-system/mirrord-operator-authentication-reader',
      'ClusterRole mirrord-operator',
      'ClusterRoleBinding mirrord-operator',
      'ClusterRole mirrord-user',
      'ClusterRole mirrord-targetless',
      'ClusterRole mirrord-copy-target',
      'ClusterRole mirrord-session-admin',
      'Deployment mirrord-system/mirrord-operator',
      'PodDisruptionBudget mirrord-system/mirrord-operator',
      'Service mirrord-system/mirrord-operator',
      'APIService v1.operator.mirrord.dev',
    ]);
    for (const object of objects) expect(object.metadata.labels).toMatchObject({ 'app.kubernetes.io/part-of': 'mirrord' });
  });

  it('sets the image tag and leaves selectors alone', () => {
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const spec = deployment.spec as { selector: { matchLabels: Record<string, string> }; template: { spec: { containers: { image: string }[] } } };
    expect(spec.template.spec.containers[0].image).toBe('mirrord-webhook:0.1.0');
    expect(spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'mirrord-webhook' });
  });

  it('deletes the webhook configuration first and the namespace last', () => {
    const order = deletionOrder(objects).map((o) => o.kind);
    expect(order[0]).toBe('MutatingWebhookConfiguration');
    expect(order[order.length - 1]).toBe('Namespace');
  });

  it('refuses kustomize features it does not implement, naming them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mirrord-kustomize-'));
    try {
      mkdirSync(join(dir, 'base'));
      writeFileSync(join(dir, 'kustomization.yaml'), 'resources: [base]\npatches: [{path: p.yaml}]\n');
      expect(() => renderKustomization(dir, parseAll)).toThrow(/patches is not supported here; apply it with kubectl apply -k/);
      writeFileSync(join(dir, 'kustomization.yaml'), 'resources: [missing.yaml]\n');
      expect(() => renderKustomization(dir, parseAll)).toThrow(/resource missing.yaml not found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
