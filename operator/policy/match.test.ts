import { globRegex, policyApplies, selectorMatches, targetPathMatches, targetPaths } from './match';
import type { Policy, PolicySpec, SessionRequest, Target } from './spec';

const checkout: Target = { kind: 'deploy', name: 'checkout', namespace: 'shop', labels: { app: 'checkout', tier: 'web' } };
const request = (overrides: Partial<SessionRequest> = {}): SessionRequest => ({
  user: 'alice',
  groups: ['dev'],
  target: checkout,
  incoming: [],
  fs: 'read',
  ...overrides,
});
const namespaced = (spec: PolicySpec, namespace = 'shop'): Policy => ({ kind: 'MirrordPolicy', namespace, name: 'p', spec });
const cluster = (spec: PolicySpec): Policy => ({ kind: 'MirrordClusterPolicy', name: 'p', spec });

describe('targetPath globs', () => {
  it('match the whole path, * any run (slashes too), ? one character, the rest literally', () => {
    expect(globRegex('deploy/*').test('deploy/checkout')).toBe(true);
    expect(globRegex('deploy/*').test('deploy/checkout/container/app')).toBe(true);
    expect(globRegex('deploy/check').test('deploy/checkout')).toBe(false);
    expect(globRegex('pod/web-?').test('pod/web-1')).toBe(true);
    expect(globRegex('pod/web-?').test('pod/web-12')).toBe(false);
    expect(globRegex('pod/a.b').test('pod/aXb')).toBe(false);
    expect(globRegex('*').test('anything/at/all')).toBe(true);
  });

  it('name the target with and without its container, in each spelling of its kind', () => {
    expect(targetPaths({ ...checkout, container: 'app' })).toEqual([
      'deploy/checkout',
      'deploy/checkout/container/app',
      'deployment/checkout',
      'deployment/checkout/container/app',
    ]);
    expect(targetPaths({ ...checkout, kind: 'pod', name: 'web-1' })).toEqual(['pod/web-1', 'po/web-1']);
  });

  it('a workload policy still applies when the session names a container; a container policy only to that container', () => {
    expect(targetPathMatches('deploy/checkout', { ...checkout, container: 'app' })).toBe(true);
    expect(targetPathMatches('deploy/checkout/container/app', { ...checkout, container: 'app' })).toBe(true);
    expect(targetPathMatches('deploy/checkout/container/app', { ...checkout, container: 'sidecar' })).toBe(false);
    expect(targetPathMatches('deploy/checkout/container/app', checkout)).toBe(false);
    expect(targetPathMatches('deployment/checkout', checkout)).toBe(true);
    expect(targetPathMatches('pod/*', checkout)).toBe(false);
  });

  it("a pod named directly is still covered by its workloads' policies, and a pod policy by a workload target", () => {
    const pod = {
      ...checkout,
      kind: 'pod',
      name: 'checkout-7d9f-x2',
      owners: [
        { kind: 'replicaset', name: 'checkout-7d9f' },
        { kind: 'deployment', name: 'checkout' },
      ],
    };
    expect(targetPathMatches('deploy/checkout', pod)).toBe(true);
    expect(targetPathMatches('rs/checkout-7d9f', pod)).toBe(true);
    expect(targetPathMatches('deploy/other', pod)).toBe(false);
    const viaDeploy = { ...checkout, owners: [{ kind: 'pod', name: 'checkout-7d9f-x2' }] };
    expect(targetPathMatches('pod/checkout-*', viaDeploy)).toBe(true);
  });
});

describe('selectors', () => {
  const labels = { app: 'checkout', tier: 'web' };
  it('matchLabels: every pair', () => {
    expect(selectorMatches({ matchLabels: { app: 'checkout' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'checkout', tier: 'db' } }, labels)).toBe(false);
    expect(selectorMatches({ matchLabels: { team: 'x' } }, labels)).toBe(false);
    expect(selectorMatches({}, labels)).toBe(true);
  });

  it('matchExpressions: In, NotIn (absent keys too), Exists, DoesNotExist', () => {
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['db'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'team', operator: 'In', values: ['x'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['x'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'team', operator: 'Exists' }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels)).toBe(false);
  });

  it('matchLabels and matchExpressions together: both', () => {
    const selector = { matchLabels: { app: 'checkout' }, matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['db'] }] };
    expect(selectorMatches(selector, labels)).toBe(false);
  });
});

describe('policyApplies', () => {
  it('a namespaced policy only in its namespace; a cluster policy everywhere', () => {
    expect(policyApplies(namespaced({}), request())).toBe(true);
    expect(policyApplies(namespaced({}, 'other'), request())).toBe(false);
    expect(policyApplies(cluster({}), request())).toBe(true);
  });

  it('needs both targetPath and selector to match when both are given', () => {
    expect(policyApplies(cluster({ targetPath: 'deploy/*', selector: { matchLabels: { app: 'checkout' } } }), request())).toBe(true);
    expect(policyApplies(cluster({ targetPath: 'deploy/*', selector: { matchLabels: { app: 'cart' } } }), request())).toBe(false);
    expect(policyApplies(cluster({ targetPath: 'pod/*', selector: { matchLabels: { app: 'checkout' } } }), request())).toBe(false);
  });

  it('subjects: by user or by group; absent or empty, everyone', () => {
    expect(policyApplies(cluster({ subjects: { users: ['alice'] } }), request())).toBe(true);
    expect(policyApplies(cluster({ subjects: { users: ['bob'] } }), request())).toBe(false);
    expect(policyApplies(cluster({ subjects: { groups: ['dev'] } }), request())).toBe(true);
    expect(policyApplies(cluster({ subjects: { groups: ['ops'] } }), request())).toBe(false);
    expect(policyApplies(cluster({ subjects: { users: ['bob'], groups: ['dev'] } }), request())).toBe(true);
    expect(policyApplies(cluster({ subjects: {} }), request())).toBe(true);
    expect(policyApplies(cluster({ subjects: { users: [] } }), request({ user: 'anyone', groups: [] }))).toBe(true);
  });

  it('exemptSubjects: never to them, by user or by group, even when among the subjects', () => {
    expect(policyApplies(cluster({ exemptSubjects: { users: ['alice'] } }), request())).toBe(false);
    expect(policyApplies(cluster({ exemptSubjects: { groups: ['dev'] } }), request())).toBe(false);
    expect(policyApplies(cluster({ exemptSubjects: { groups: ['ops'] } }), request())).toBe(true);
    expect(policyApplies(cluster({ subjects: { groups: ['dev'] }, exemptSubjects: { users: ['alice'] } }), request())).toBe(false);
    expect(policyApplies(cluster({ subjects: { groups: ['dev'] }, exemptSubjects: { users: ['alice'] } }), request({ user: 'carol' }))).toBe(true);
  });
});
