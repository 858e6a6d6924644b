import { membershipChanges, primaryOf } from './replica-sessions';

describe('which replicas join and leave', () => {
  const pod = (name: string, usable = true, present = true) => ({ name, usable, present });

  it('joins the usable pods not attached, joining nor held off, and leaves only the attached ones that are gone', () => {
    expect(membershipChanges(['a', 'b'], ['c'], [pod('b'), pod('c'), pod('d'), pod('e')], ['e'])).toEqual({ join: ['d'], leave: ['a'] });
    expect(membershipChanges([], [], [])).toEqual({ join: [], leave: [] });
  });

  it('keeps a pod that is only not Ready for a while, and does not join it until it is', () => {
    expect(membershipChanges(['a'], [], [pod('a', false), pod('b', false)])).toEqual({ join: [], leave: [] });
    expect(membershipChanges(['a'], [], [pod('a', false, false)])).toEqual({ join: [], leave: ['a'] });
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
