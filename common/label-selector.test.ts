import { selectorString } from './label-selector';

describe('selectorString', () => {
  it('joins labels and expressions as kubectl writes them', () => {
    expect(
      selectorString({
        matchLabels: { app: 'shop', tier: 'web' },
        matchExpressions: [
          { key: 'track', operator: 'In', values: ['stable', 'canary'] },
          { key: 'legacy', operator: 'DoesNotExist' },
          { key: 'zone', operator: 'Exists' },
          { key: 'env', operator: 'NotIn', values: ['dev'] },
        ],
      }),
    ).toBe('app=shop,tier=web,track in (stable,canary),!legacy,zone,env notin (dev)');
  });

  it('is empty without a selector', () => {
    expect(selectorString(undefined)).toBe('');
  });
});
