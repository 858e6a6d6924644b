import { compileMessageFilter, messageFilterProblems } from './message-filter';

describe('a session message filter', () => {
  it('matches when every named header is there and matches, searched as mirrord does', () => {
    const matches = compileMessageFilter({ tenant: '^acme$', kind: 'order' });
    expect(matches({ tenant: 'acme', kind: 'big-order' })).toBe(true);
    expect(matches({ tenant: 'acme', kind: 'refund' })).toBe(false);
    expect(matches({ tenant: 'acme-2', kind: 'order' })).toBe(false);
    // A header the message doesn't have doesn't match, even a pattern that matches the empty text.
    expect(compileMessageFilter({ tenant: '.*' })({})).toBe(false);
  });

  it('an empty filter asks for nothing', () => {
    expect(compileMessageFilter({})({ tenant: 'acme' })).toBe(false);
  });

  it('names the header whose pattern is not RE2', () => {
    expect(messageFilterProblems({ ok: '^a$', bad: '(unclosed', lookahead: 'a(?=b)' })).toEqual([
      expect.stringMatching(/^message_filter\.bad: "\(unclosed" is not a valid RE2 regular expression/),
      expect.stringMatching(/^message_filter\.lookahead: "a\(\?=b\)" is not a valid RE2 regular expression/),
    ]);
  });
});
