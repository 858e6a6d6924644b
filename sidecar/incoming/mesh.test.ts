import { jumpsFor, meshIn } from './mesh';

// `iptables -t nat -S` in a pod after istio-init (Istio 1.2x, abridged) and after linkerd's proxy-init.
const ISTIO = `-P PREROUTING ACCEPT
-P INPUT ACCEPT
-P OUTPUT ACCEPT
-P POSTROUTING ACCEPT
-N ISTIO_INBOUND
-N ISTIO_IN_REDIRECT
-N ISTIO_OUTPUT
-N ISTIO_REDIRECT
-A PREROUTING -p tcp -j ISTIO_INBOUND
-A OUTPUT -p tcp -j ISTIO_OUTPUT
-A ISTIO_INBOUND -p tcp -m tcp --dport 15008 -j RETURN
-A ISTIO_INBOUND -p tcp -m tcp --dport 15090 -j RETURN
-A ISTIO_INBOUND -p tcp -m tcp --dport 15021 -j RETURN
-A ISTIO_INBOUND -p tcp -m tcp --dport 15020 -j RETURN
-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT
-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006
-A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN
-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
-A ISTIO_OUTPUT -j ISTIO_REDIRECT
-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001
`;
const LINKERD = `-P PREROUTING ACCEPT
-P INPUT ACCEPT
-P OUTPUT ACCEPT
-P POSTROUTING ACCEPT
-N PROXY_INIT_OUTPUT
-N PROXY_INIT_REDIRECT
-A PREROUTING -m comment --comment "proxy-init/install-proxy-init-prerouting" -j PROXY_INIT_REDIRECT
-A OUTPUT -m comment --comment "proxy-init/install-proxy-init-output" -j PROXY_INIT_OUTPUT
-A PROXY_INIT_OUTPUT -m owner --uid-owner 2102 -m comment --comment "proxy-init/ignore-proxy-user-id" -j RETURN
-A PROXY_INIT_OUTPUT -o lo -m comment --comment "proxy-init/ignore-loopback" -j RETURN
-A PROXY_INIT_OUTPUT -p tcp -m comment --comment "proxy-init/redirect-all-outgoing-to-proxy-port" -j REDIRECT --to-ports 4140
-A PROXY_INIT_REDIRECT -p tcp -m multiport --dports 4190,4191,4567,4568 -m comment --comment "proxy-init/ignore-port-4190,4191,4567,4568" -j RETURN
-A PROXY_INIT_REDIRECT -p tcp -m comment --comment "proxy-init/redirect-all-incoming-to-proxy-port" -j REDIRECT --to-ports 4143
`;
const PLAIN = `-P PREROUTING ACCEPT
-P INPUT ACCEPT
-P OUTPUT ACCEPT
-P POSTROUTING ACCEPT
-N KUBE-HOSTPORTS
-A PREROUTING -m addrtype --dst-type LOCAL -j KUBE-HOSTPORTS
`;

describe('finding a service mesh in the pod', () => {
  it("names the mesh whose init rules the pod's nat table holds, and none in a pod without one", () => {
    expect(meshIn(ISTIO)).toBe('Istio');
    expect(meshIn(LINKERD)).toBe('Linkerd');
    expect(meshIn(PLAIN)).toBeUndefined();
    expect(meshIn('')).toBeUndefined();
  });

  it('does not take a rule that merely mentions a mesh chain for the chain', () => {
    expect(meshIn('-A PREROUTING -m comment --comment "-N ISTIO_INBOUND" -j ACCEPT\n')).toBeUndefined();
  });
});

describe('the jumps to the sidecar chain', () => {
  it('without a mesh: one, at the top of PREROUTING', () => {
    expect(jumpsFor(undefined, 0)).toEqual([{ hook: 'PREROUTING', match: [], first: true }]);
  });

  it("with a mesh: loopback traffic of everyone but the sidecar's own group at the top of OUTPUT, and PREROUTING after the mesh", () => {
    expect(jumpsFor('Istio', 0)).toEqual([
      { hook: 'OUTPUT', match: ['-o', 'lo', '-m', 'owner', '!', '--gid-owner', '0'], first: true },
      { hook: 'PREROUTING', match: [], first: false },
    ]);
  });
});
