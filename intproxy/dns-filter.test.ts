import { compileDnsFilter } from './dns-filter';

describe('compileDnsFilter', () => {
  it('resolves everything in the pod without a filter', () => {
    expect(compileDnsFilter(undefined)('example.com')).toBe(true);
  });

  // The examples of mirrord's reference (feature.network.dns.filter).
  it('remote: only the listed queries go to the pod', () => {
    const remote = compileDnsFilter({ remote: ['my-service-in-cluster', 'google.com:1337', 'google.com:7331', '1.1.1.0/24:1337'] });
    expect(remote('my-service-in-cluster')).toBe(true);
    expect(remote('MY-SERVICE-IN-CLUSTER.')).toBe(true);
    expect(remote('other')).toBe(false);
    expect(remote('google.com', 1337)).toBe(true);
    expect(remote('google.com', 7331)).toBe(true);
    expect(remote('google.com', 443)).toBe(false);
    expect(remote('google.com')).toBe(false);
    expect(remote('1.1.1.9', 1337)).toBe(true);
    expect(remote('1.1.2.9', 1337)).toBe(false);
  });

  it('local: the listed queries stay here, the rest go to the pod', () => {
    const remote = compileDnsFilter({ local: ['localhost:1337', ':7331', 'docker.lala', '[fd00::]/8', '10.0.0.7'] });
    expect(remote('localhost', 1337)).toBe(false);
    expect(remote('localhost', 80)).toBe(true);
    expect(remote('anything', 7331)).toBe(false);
    expect(remote('docker.lala')).toBe(false);
    expect(remote('fd00::5')).toBe(false);
    expect(remote('10.0.0.7')).toBe(false);
    expect(remote('db.svc')).toBe(true);
  });

  it('names a bad entry; protocols are not part of DNS entries', () => {
    expect(() => compileDnsFilter({ local: ['tcp://x'] })).toThrow(/"tcp:\/\/x": ":\/\/x" is left over/);
    expect(() => compileDnsFilter({ remote: ['/24'] })).toThrow(/a subnet needs an IP address/);
  });
});
