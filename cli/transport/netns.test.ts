import { netnsError, parseNetnsAgent } from './netns';

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

describe('a namespace the CLI cannot use', () => {
  const failure = (syscall: string, code: string, message: string) => Object.assign(new Error(message), { syscall, code });

  it('denied: root, or the relay for that namespace (ip netns for a name, nsenter for a path)', () => {
    const named = netnsError(parseNetnsAgent('pod1'), failure('setns', 'EPERM', 'setns: Operation not permitted'));
    expect([named.message, named.hint]).toEqual([
      'cannot enter the network namespace pod1: setns: Operation not permitted',
      "entering a network namespace takes root (CAP_SYS_ADMIN): run mirrord with sudo; or --agent-cmd 'sudo ip netns exec pod1 socat - TCP:127.0.0.1:61234'",
    ]);
    const path = netnsError(parseNetnsAgent('/proc/42/ns/net:9000'), failure('open', 'EACCES', 'open: Permission denied'));
    expect([path.message, path.hint]).toEqual([
      'cannot open the network namespace /proc/42/ns/net (/proc/42/ns/net): open: Permission denied',
      "entering a network namespace takes root (CAP_SYS_ADMIN): run mirrord with sudo; or --agent-cmd 'sudo nsenter --net=/proc/42/ns/net socat - TCP:127.0.0.1:9000'",
    ]);
  });

  it('missing, or not a network namespace: where to look', () => {
    expect(netnsError(parseNetnsAgent('pod9'), failure('open', 'ENOENT', 'open: No such file or directory')).hint).toBe(
      '`ip netns list` shows the namespaces by name; or give the path of one',
    );
    expect(netnsError(parseNetnsAgent('/proc/1/ns/mnt'), failure('setns', 'EINVAL', 'setns: Invalid argument')).hint).toBe(
      'is /proc/1/ns/mnt a network namespace?',
    );
  });
});
