import type { V1Pod } from '@kubernetes/client-node';
import { agentPortOf, choosePod, explainMissingSidecar } from './pod-choice';

const deploy = { kind: 'deployment' as const, name: 'shop' };

function pod(name: string, options: { sidecar?: boolean; ready?: boolean; created?: string; port?: string; annotations?: Record<string, string> } = {}): V1Pod {
  const { sidecar = true, ready = true, created = '2026-01-01T00:00:00Z' } = options;
  return {
    metadata: { name, creationTimestamp: new Date(created), annotations: options.annotations },
    spec: {
      containers: [{ name: 'app' }],
      initContainers: sidecar ? [{ name: 'mirrord-agent', env: options.port ? [{ name: 'MIRRORD_AGENT_PORT', value: options.port }] : [] }] : [],
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      initContainerStatuses: sidecar ? [{ name: 'mirrord-agent', ready, image: 'x', imageID: 'x', restartCount: 0 }] : [],
    },
  } as V1Pod;
}

describe('choosePod', () => {
  it('picks the oldest ready pod with the sidecar, the same one every time', () => {
    const pods = [pod('b', { created: '2026-01-02T00:00:00Z' }), pod('c', { created: '2026-01-01T00:00:00Z' }), pod('a', { ready: false })];
    expect(choosePod(deploy, pods, 'default')).toEqual({ pod: pods[1] });
    expect(choosePod(deploy, [...pods].reverse(), 'default')).toEqual({ pod: pods[1] });
  });

  it('takes the pod asked for, and names it when it is not the workload’s', () => {
    const pods = [pod('a'), pod('b')];
    expect(choosePod(deploy, pods, 'default', 'b')).toEqual({ pod: pods[1] });
    expect(() => choosePod(deploy, pods, 'default', 'z')).toThrow(/pod z is not one of deployment\/shop's pods/);
  });

  it('reports a workload without pods, and an injected pod that is not ready', () => {
    expect(() => choosePod(deploy, [], 'default')).toThrow(/deployment\/shop has no pods in namespace default/);
    expect(() => choosePod(deploy, [pod('a', { ready: false })], 'default')).toThrow(/carries the sidecar but is not ready/);
  });

  it('hands back a pod without the sidecar for explanation', () => {
    const bare = pod('a', { sidecar: false });
    expect(choosePod(deploy, [bare], 'default')).toEqual({ withoutSidecar: bare });
  });
});

describe('explainMissingSidecar', () => {
  const bare = pod('a', { sidecar: false });

  it('says the webhook is missing, with the commands that fix it', () => {
    const error = explainMissingSidecar(deploy, bare, 'shop', { webhookInstalled: false });
    expect(error.message).toMatch(/the mirrord webhook is not installed/);
    expect(error.hint).toMatch(
      /mirrord install.*kubectl label namespace shop mirrord\.dev\/injection=enabled.*kubectl rollout restart deployment\/shop -n shop/,
    );
  });

  it('says the namespace is not labeled', () => {
    const error = explainMissingSidecar(deploy, bare, 'shop', { webhookInstalled: true, namespace: { metadata: { name: 'shop', labels: {} } } });
    expect(error.message).toMatch(/namespace shop is not labeled/);
    expect(error.hint).toBe('kubectl label namespace shop mirrord.dev/injection=enabled && kubectl rollout restart deployment/shop -n shop');
  });

  it('says the pod predates the label', () => {
    const error = explainMissingSidecar(deploy, bare, 'shop', {
      webhookInstalled: true,
      namespace: { metadata: { name: 'shop', labels: { 'mirrord.dev/injection': 'enabled' } } },
    });
    expect(error.message).toMatch(/created before namespace shop was labeled/);
    expect(error.hint).toBe('kubectl rollout restart deployment/shop -n shop');
  });

  it('names an opt-out and hostNetwork', () => {
    expect(
      explainMissingSidecar(deploy, pod('a', { sidecar: false, annotations: { 'mirrord.dev/inject': 'false' } }), 'shop', { webhookInstalled: true }).message,
    ).toMatch(/opts out/);
    const host = { ...bare, spec: { ...bare.spec!, hostNetwork: true } };
    expect(explainMissingSidecar(deploy, host, 'shop', { webhookInstalled: true }).message).toMatch(/hostNetwork/);
  });
});

describe('agentPortOf', () => {
  it('reads the per-pod port, else the default', () => {
    expect(agentPortOf(pod('a', { port: '7000' }))).toBe(7000);
    expect(agentPortOf(pod('a'))).toBe(61234);
  });
});
