import { compileOutgoingFilter } from './outgoing-filter';

describe('compileOutgoingFilter', () => {
  it('sends everything remote without a filter', () => {
    expect(compileOutgoingFilter(undefined)('10.0.0.1', 80)).toBe(true);
  });

  it('keeps listed destinations local', () => {
    const remote = compileOutgoingFilter({ local: ['10.0.0.0/8', ':5432', '[fd00::1]:443'] });
    expect(remote('10.1.2.3', 80)).toBe(false);
    expect(remote('192.0.2.1', 5432)).toBe(false);
    expect(remote('fd00::1', 443)).toBe(false);
    expect(remote('fd00::1', 80)).toBe(true);
    expect(remote('192.0.2.1', 80)).toBe(true);
  });

  it('sends only listed destinations remote', () => {
    const remote = compileOutgoingFilter({ remote: ['198.18.1.2:7000'] });
    expect(remote('198.18.1.2', 7000)).toBe(true);
    expect(remote('198.18.1.2', 7001)).toBe(false);
  });

  it('names a bad entry', () => {
    expect(() => compileOutgoingFilter({ local: ['db.internal:5432'] })).toThrow(/"db.internal" is not an IP address/);
  });
});
