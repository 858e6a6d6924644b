import { SplitRouter } from './router';

describe('the split router', () => {
  it('gives a message to the first session whose filter it matches, else to the deployed app', () => {
    const router = new SplitRouter();
    router.join('alice', { user: '^alice$' });
    router.join('any-order', { kind: 'order' });
    expect(router.route({ user: 'alice', kind: 'order' })).toBe('alice');
    expect(router.route({ user: 'bob', kind: 'order' })).toBe('any-order');
    expect(router.route({ user: 'bob', kind: 'refund' })).toBeUndefined();
    router.leave('alice');
    expect(router.route({ user: 'alice', kind: 'order' })).toBe('any-order');
    expect(router.ids).toEqual(['any-order']);
  });

  it('a session joining again takes its new filter, at the end of the order', () => {
    const router = new SplitRouter();
    router.join('a', { x: '1' });
    router.join('b', { x: '1' });
    router.join('a', { x: '2' });
    expect(router.route({ x: '1' })).toBe('b');
    expect(router.route({ x: '2' })).toBe('a');
    expect(router.ids).toEqual(['b', 'a']);
  });
});
