import type { V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { restartPatch, restartPlan } from './restart';

const owner = (kind: string, name: string) => [{ apiVersion: 'apps/v1', kind, name, uid: name, controller: true }];
const pod = (name: string, ns: string, sidecar: boolean, ownerReferences?: ReturnType<typeof owner>): V1Pod => ({
  metadata: { name, namespace: ns, ownerReferences },
  spec: { containers: [{ name: 'app' }], initContainers: sidecar ? [{ name: 'mirrord-agent' }] : [] },
});
const rs = (name: string, ns: string, deployment: string): V1ReplicaSet => ({
  metadata: { name, namespace: ns, ownerReferences: owner('Deployment', deployment) },
  spec: { selector: {} },
});

describe('uninstall --restart-workloads', () => {
  it('restarts the Deployments and StatefulSets owning injected pods, once each', () => {
    const pods = [
      pod('web-abc-1', 'shop', true, owner('ReplicaSet', 'web-abc')),
      pod('web-abc-2', 'shop', true, owner('ReplicaSet', 'web-abc')),
      pod('db-0', 'shop', true, owner('StatefulSet', 'db')),
      pod('plain', 'shop', false, owner('ReplicaSet', 'plain-x')),
      pod('debug', 'tools', true),
      // a ReplicaSet of its own, no Deployment: nothing to restart through
      pod('lone-1', 'tools', true, owner('ReplicaSet', 'lone')),
    ];
    const replicasets = [
      rs('web-abc', 'shop', 'web'),
      rs('plain-x', 'shop', 'plain'),
      { metadata: { name: 'lone', namespace: 'tools' }, spec: { selector: {} } },
    ];
    expect(restartPlan(pods, replicasets)).toEqual({
      workloads: [
        { kind: 'Deployment', namespace: 'shop', name: 'web' },
        { kind: 'StatefulSet', namespace: 'shop', name: 'db' },
      ],
      unowned: ['tools/debug', 'tools/lone-1'],
    });
  });

  it('patches the pod template as kubectl rollout restart does', () => {
    expect(restartPatch({ kind: 'Deployment', namespace: 'shop', name: 'web' }, new Date('2026-06-01T12:00:00Z'))).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-06-01T12:00:00.000Z' } } } },
    });
  });
});
