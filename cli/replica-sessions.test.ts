import { membershipChanges, primaryOf } from './replica-sessions';

describe('which replicas join and leave', () => {
  it('joins the usable pods not attached nor joining, and leaves the attached ones no longer usable', () => {
    expect(membershipChanges(['a', 'b'], ['c'], ['b', 'c', 'd'])).toEqual({ join: ['d'], leave: ['a'] });
    expect(membershipChanges([], [], [])).toEqual({ join: [], leave: [] });
  });
});

describe('which replica serves outgoing, DNS and files', () => {
  it('is the chosen pod while it is attached, then the oldest usable attached one, then the longest attached', () => {
    expect(primaryOf(['b', 'a'], 'a', ['a', 'b'])).toBe('a');
    expect(primaryOf(['c', 'b'], 'a', ['b', 'c'])).toBe('b');
    expect(primaryOf(['c', 'b'], 'a', [])).toBe('c');
    expect(primaryOf([], 'a', ['a'])).toBeUndefined();
  });
});
