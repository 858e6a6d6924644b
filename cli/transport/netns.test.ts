import { parseNetnsAgent } from './netns';

describe('--agent-netns', () => {
  it('a name is one of ip netns, a path any namespace file; the port defaults to the sidecar’s', () => {
    expect(parseNetnsAgent('pod1')).toEqual({ name: 'pod1', path: '/run/netns/pod1', port: 61234 });
    expect(parseNetnsAgent('mt1x0-pod:61235')).toEqual({ name: 'mt1x0-pod', path: '/run/netns/mt1x0-pod', port: 61235 });
    expect(parseNetnsAgent('/proc/42/ns/net')).toEqual({ name: '/proc/42/ns/net', path: '/proc/42/ns/net', port: 61234 });
    expect(parseNetnsAgent('/proc/42/ns/net:9000')).toMatchObject({ path: '/proc/42/ns/net', port: 9000 });
  });

  it('anything else is a usage error that shows the forms', () => {
    for (const bad of ['', ':61234', 'pod1:0', 'pod1:70000', '../pod1', 'a b']) {
      expect(() => parseNetnsAgent(bad)).toThrow(/--agent-netns .*: expected NAME\[:PORT\]/);
    }
  });
});
