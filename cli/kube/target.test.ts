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
    ['job/migrate', 'job'],
    ['jobs.batch/migrate', 'job'],
    ['cj/nightly', 'cronjob'],
    ['cronjob/nightly', 'cronjob'],
  ])('%s is a %s', (text, kind) => {
    expect(parseTarget(text).kind).toBe(kind);
  });

  it('reads selector/LABELS as the pods a label selector matches, and refuses an empty one', () => {
    expect(parseTarget('selector/app=web,tier!=cache')).toEqual({ kind: 'selector', name: 'app=web,tier!=cache' });
    expect(() => parseTarget('selector/ ')).toThrow(/an empty label selector matches every pod/);
  });

  it('refuses other kinds and malformed names, with the accepted forms', () => {
    expect(() => parseTarget('daemonset/shop')).toThrow(/"daemonset\/shop" is not a target/);
    // A kind with another API group than its own is none of ours.
    expect(() => parseTarget('deployment.batch/shop')).toThrow(/is not a target/);
    expect(() => parseTarget('rollout.apps/shop')).toThrow(/is not a target/);
    expect(() => parseTarget('deploy/Shop')).toThrow(/is not a target/);
    expect(() => parseTarget('shop')).toThrow(/is not a target/);
  });
});
