import { parseTarget } from './target';

describe('parseTarget', () => {
  it.each([
    ['deploy/shop', 'deployment'],
    ['deployment/shop', 'deployment'],
    ['deployments.apps/shop', 'deployment'],
    ['po/shop-1', 'pod'],
    ['pod/shop-1', 'pod'],
    ['sts/db', 'statefulset'],
    ['statefulset/db', 'statefulset'],
    ['rs/shop-abc', 'replicaset'],
    ['svc/shop', 'service'],
    ['service/shop', 'service'],
    ['rollout/shop', 'rollout'],
    ['rollouts.argoproj.io/shop', 'rollout'],
  ])('%s is a %s', (text, kind) => {
    expect(parseTarget(text).kind).toBe(kind);
  });

  it('refuses other kinds and malformed names, with the accepted forms', () => {
    expect(() => parseTarget('cronjob/shop')).toThrow(/"cronjob\/shop" is not a target/);
    expect(() => parseTarget('deploy/Shop')).toThrow(/is not a target/);
    expect(() => parseTarget('shop')).toThrow(/is not a target/);
  });
});
