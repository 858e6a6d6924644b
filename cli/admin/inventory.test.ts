import type { V1Deployment, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { formatInventory, inventory, matches } from './inventory';

function pod(name: string, ns: string, labels: Record<string, string>, sidecar: 'ready' | 'starting' | 'none'): V1Pod {
  return {
    metadata: { name, namespace: ns, labels },
    spec: { containers: [{ name: 'app' }], initContainers: sidecar === 'none' ? [] : [{ name: 'mirrord-agent' }] },
    status: {
      initContainerStatuses: sidecar === 'none' ? [] : [{ name: 'mirrord-agent', ready: sidecar === 'ready', image: 'x', imageID: 'x', restartCount: 0 }],
    },
  };
}
const deployment = (name: string, ns: string, app: string): V1Deployment => ({
  metadata: { name, namespace: ns },
  spec: { selector: { matchLabels: { app } }, template: {} },
});
const statefulset = (name: string, ns: string, app: string): V1StatefulSet => ({
  metadata: { name, namespace: ns },
  spec: { selector: { matchLabels: { app } }, serviceName: name, template: {} },
});

describe('ls', () => {
  const workloads = {
    deployments: [deployment('web', 'shop', 'web'), deployment('old', 'shop', 'old'), deployment('idle', 'shop', 'idle')],
    statefulsets: [statefulset('db', 'shop', 'db')],
    pods: [
      pod('web-1', 'shop', { app: 'web' }, 'ready'),
      pod('web-2', 'shop', { app: 'web' }, 'starting'),
      pod('old-1', 'shop', { app: 'old' }, 'ready'),
      pod('old-2', 'shop', { app: 'old' }, 'none'),
      pod('db-0', 'shop', { app: 'db' }, 'ready'),
      // same labels, another namespace: not the shop Deployment's
      pod('web-x', 'other', { app: 'web' }, 'none'),
      // going away: neither a target nor counted
      {
        ...pod('web-0', 'shop', { app: 'web' }, 'none'),
        metadata: { name: 'web-0', namespace: 'shop', labels: { app: 'web' }, deletionTimestamp: new Date() },
      },
    ],
  };

  it('one row per workload and pod, with the sidecar state', () => {
    const rows = inventory(workloads);
    expect(rows.map((r) => [r.namespace, r.target, r.pods, r.sidecar])).toEqual([
      ['other', 'pod/web-x', 1, 'no'],
      ['shop', 'deployment/idle', 0, 'no pods'],
      ['shop', 'deployment/old', 2, 'partly'],
      ['shop', 'deployment/web', 2, 'starting'],
      ['shop', 'statefulset/db', 1, 'injected'],
      ['shop', 'pod/db-0', 1, 'injected'],
      ['shop', 'pod/old-1', 1, 'injected'],
      ['shop', 'pod/old-2', 1, 'no'],
      ['shop', 'pod/web-1', 1, 'injected'],
      ['shop', 'pod/web-2', 1, 'starting'],
    ]);
  });

  it('prints a table, with the namespace column for -A', () => {
    const rows = inventory({ ...workloads, pods: workloads.pods.slice(0, 4) }).filter((r) => r.target.startsWith('deployment/'));
    expect(formatInventory(rows, false)).toBe(
      'TARGET           PODS  SIDECAR\n' +
        'deployment/idle  0     no pods\n' +
        'deployment/old   2     partly (1 with sidecar, 1 ready)\n' +
        'deployment/web   2     starting (2 with sidecar, 1 ready)\n',
    );
    expect(formatInventory(rows.slice(0, 1), true)).toBe('NAMESPACE  TARGET           PODS  SIDECAR\nshop       deployment/idle  0     no pods\n');
    expect(formatInventory([], false)).toBe('no targets\n');
  });

  it('matches selectors as the API server does', () => {
    expect(matches({ matchLabels: { a: '1' } }, { a: '1', b: '2' })).toBe(true);
    expect(matches({ matchLabels: { a: '1' } }, { a: '2' })).toBe(false);
    expect(matches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] }, { tier: 'api' })).toBe(true);
    expect(matches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] }, { tier: 'web' })).toBe(false);
    expect(matches({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, {})).toBe(false);
    expect(matches({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, {})).toBe(true);
    // an empty or missing selector selects nothing here: a workload always has one
    expect(matches({}, { a: '1' })).toBe(false);
    expect(matches(undefined, { a: '1' })).toBe(false);
  });
});
