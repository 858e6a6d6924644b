import { compileOutgoingFilter } from './outgoing-filter';

const none: string[] = [];

describe('compileOutgoingFilter', () => {
  it('sends everything remote without a filter', () => {
    expect(compileOutgoingFilter(undefined)('tcp', '10.0.0.1', 80, none)).toBe(true);
  });

  it('keeps listed destinations local: addresses, subnets, ports, IPv6', () => {
    const remote = compileOutgoingFilter({ local: ['10.0.0.0/8', ':5432', '[fd00::1]:443', '192.0.2.7'] });
    expect(remote('tcp', '10.1.2.3', 80, none)).toBe(false);
    expect(remote('tcp', '192.0.2.1', 5432, none)).toBe(false);
    expect(remote('tcp', 'fd00::1', 443, none)).toBe(false);
    expect(remote('tcp', 'fd00:0:0::1', 443, none)).toBe(false);
    expect(remote('tcp', 'fd00::1', 80, none)).toBe(true);
    expect(remote('tcp', '192.0.2.1', 80, none)).toBe(true);
    expect(remote('udp', '192.0.2.7', 9, none)).toBe(false);
    expect(remote('tcp', '::ffff:10.9.9.9', 80, none)).toBe(false);
  });

  it('sends only listed destinations remote', () => {
    const remote = compileOutgoingFilter({ remote: ['198.18.1.2:7000'] });
    expect(remote('tcp', '198.18.1.2', 7000, none)).toBe(true);
    expect(remote('tcp', '198.18.1.2', 7001, none)).toBe(false);
  });

  // mirrord's layer test config (outgoing_filter.json).
  it('takes protocol prefixes: tcp:// and udp:// only match their protocol', () => {
    const remote = compileOutgoingFilter({ remote: ['tcp://1.1.1.0/24:1111', '2.2.2.2:2222', ':3333', 'udp://:53'] });
    expect(remote('tcp', '1.1.1.5', 1111, none)).toBe(true);
    expect(remote('udp', '1.1.1.5', 1111, none)).toBe(false);
    expect(remote('tcp', '1.1.2.5', 1111, none)).toBe(false);
    expect(remote('udp', '2.2.2.2', 2222, none)).toBe(true);
    expect(remote('tcp', '7.7.7.7', 3333, none)).toBe(true);
    expect(remote('udp', '10.96.0.10', 53, none)).toBe(true);
    expect(remote('tcp', '10.96.0.10', 53, none)).toBe(false);
    expect(compileOutgoingFilter({ local: ['udp://'] })('udp', '1.2.3.4', 9, none)).toBe(false);
    expect(compileOutgoingFilter({ local: ['UDP://'] })('tcp', '1.2.3.4', 9, none)).toBe(true);
  });

  it('matches a host name against the names the app resolved the address from', () => {
    const remote = compileOutgoingFilter({ local: ['google.com', 'db.internal:5432'] });
    expect(remote('tcp', '142.250.1.1', 443, ['google.com'])).toBe(false);
    expect(remote('tcp', '142.250.1.1', 443, ['GOOGLE.com.'])).toBe(false);
    expect(remote('tcp', '142.250.1.1', 443, ['www.google.com'])).toBe(true);
    expect(remote('tcp', '142.250.1.1', 443, none)).toBe(true);
    expect(remote('tcp', '10.0.0.9', 5432, ['db.internal'])).toBe(false);
    expect(remote('tcp', '10.0.0.9', 5433, ['db.internal'])).toBe(true);
  });

  it('localhost also matches the loopback addresses', () => {
    const remote = compileOutgoingFilter({ local: ['tcp://localhost:1337'] });
    expect(remote('tcp', '127.0.0.1', 1337, none)).toBe(false);
    expect(remote('tcp', '::1', 1337, none)).toBe(false);
    expect(remote('tcp', '127.0.0.1', 80, none)).toBe(true);
  });

  it('0.0.0.0 and :: are any address, port 0 any port', () => {
    const remote = compileOutgoingFilter({ remote: ['0.0.0.0:8080', '[::]:0'] });
    expect(remote('tcp', '203.0.113.5', 8080, none)).toBe(true);
    expect(remote('tcp', '203.0.113.5', 8081, none)).toBe(true);
    expect(compileOutgoingFilter({ remote: ['0.0.0.0:8080'] })('tcp', '203.0.113.5', 8081, none)).toBe(false);
  });

  it('names a bad entry', () => {
    expect(() => compileOutgoingFilter({ local: ['google.com/24'] })).toThrow(/"google.com\/24": a subnet needs an IP address/);
    expect(() => compileOutgoingFilter({ local: [':7777udp://'] })).toThrow(/"udp:\/\/" is left over|not a protocol/);
    expect(() => compileOutgoingFilter({ local: ['meow://'] })).toThrow(/"meow" is not a protocol/);
    expect(() => compileOutgoingFilter({ local: ['1.2.3.4:70000'] })).toThrow(/port 70000/);
    expect(() => compileOutgoingFilter({ local: ['10.0.0.0/33'] })).toThrow(/\/33 is not a prefix length/);
    expect(() => compileOutgoingFilter({ local: ['a b'] })).toThrow(/" b" is left over/);
  });
});
