#!/usr/bin/env bash
# A real single-node Kubernetes cluster assembled from upstream components, for machines where
# kind can't run (no Docker engine). Usage: cluster.sh up|down|status (as root).
#
# Everything it makes is named so that `down` can find it again and nothing else: state under
# $STATE, sockets and pid files under $RUN, logs under $LOGS, the interfaces mirrord0 and
# mirrord-cni0, the iptables chains KUBE-*, CNI-* and MIRRORD-CLUSTER. All addresses exist only
# on this machine: the node IP sits on a dummy interface, pods on a bridge, services are
# iptables rules, and a FORWARD guard rejects any pod traffic that would leave through another
# interface. The cluster is dual-stack, IPv4 first (a pod's status.podIP and a Service's
# default family stay IPv4): every pod has an IPv6 address too, from ranges that get an
# `unreachable` route so no IPv6 packet of the cluster's leaves the machine either.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
kind_dir="$(dirname "$here")"
CACHE="${MIRRORD_K8S_CACHE:-/var/cache/mirrord-k8s}"
STATE="${MIRRORD_CLUSTER_STATE:-/var/lib/mirrord-cluster}"
RUN="${MIRRORD_CLUSTER_RUN:-/run/mirrord-cluster}"
LOGS="${MIRRORD_CLUSTER_LOGS:-/var/log/mirrord-cluster}"
KUBECONFIG_OUT="$STATE/admin.kubeconfig"
STEP_TIMEOUT="${MIRRORD_CLUSTER_STEP_TIMEOUT:-180}"

NODE=mirrord-node
NODE_IF=mirrord0
NODE_IP=10.240.0.1
BRIDGE=mirrord-cni0
POD_CIDR=10.244.0.0/16
NODE_POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
DNS_IP=10.96.0.10
# IPv6: the same layout in fd00:10::/32 (kind's dual-stack defaults).
CLUSTER_RANGE6=fd00:10::/32
NODE_IP6=fd00:10:240::1
POD_CIDR6=fd00:10:244::/56
NODE_POD_CIDR6=fd00:10:244::/64
SERVICE_CIDR6=fd00:10:96::/112
ETCD_PORT=23790
GUARD=MIRRORD-CLUSTER
CONTAINERD_SOCK="$RUN/containerd/containerd.sock"
# Components, in start order.
COMPONENTS=(etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

source "$kind_dir/versions.sh"
BIN="$CACHE/bin/$k8s_version"

t0=$(date +%s)
step_no=0
step() { step_no=$((step_no + 1)); printf '[%3ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
note() { printf '       %s\n' "$*"; }

fail() { # MESSAGE [COMPONENT]
  echo "cluster:up failed: $1" >&2
  if [ -n "${2:-}" ] && [ -f "$LOGS/$2.log" ]; then
    echo "---- last lines of $LOGS/$2.log" >&2
    tail -n 30 "$LOGS/$2.log" >&2
    echo "----" >&2
  fi
  echo "all logs: $LOGS" >&2
  if [ "${MIRRORD_CLUSTER_KEEP_ON_FAILURE:-}" = 1 ]; then
    echo "left running for inspection (MIRRORD_CLUSTER_KEEP_ON_FAILURE=1); npm run cluster:down removes it" >&2
  else
    echo "cleaning up (set MIRRORD_CLUSTER_KEEP_ON_FAILURE=1 to keep it for inspection)" >&2
    down >/dev/null 2>&1 || true
  fi
  exit 1
}

kubectl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_OUT" "$@"; }

# ---- supervision ------------------------------------------------------------------------------

# start NAME CMD... : runs CMD in its own session, restarting it when it exits, output appended
# to $LOGS/NAME.log; the session leader's pid goes to $RUN/NAME.pid so `down` can end the whole
# group, and nothing else.
start() {
  local name=$1; shift
  : >"$LOGS/$name.log"
  setsid bash -c '
    log=$1; shift
    stopping=""
    trap "stopping=1; kill -TERM \$child 2>/dev/null" TERM INT
    while :; do
      echo "--- started $(date -u +%FT%TZ): $*" >>"$log"
      "$@" >>"$log" 2>&1 </dev/null & child=$!
      wait $child; code=$?
      while kill -0 $child 2>/dev/null; do wait $child; done
      [ -n "$stopping" ] && exit 0
      echo "--- exited with $code at $(date -u +%FT%TZ)" >>"$log"
      sleep 2 & wait $!
      [ -n "$stopping" ] && exit 0
    done' supervise "$LOGS/$name.log" "$@" </dev/null >/dev/null 2>&1 &
  echo $! >"$RUN/$name.pid"
}

stop() { # NAME... : all at once, then waits for each (SIGKILL after 10s)
  local name pid pids=()
  for name in "$@"; do
    pid=$(cat "$RUN/$name.pid" 2>/dev/null || true)
    rm -f "$RUN/$name.pid"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
}

# wait_for NAME WHAT CMD... : polls CMD until it succeeds; fails with NAME's log tail when NAME
# exits meanwhile or the step times out.
wait_for() {
  local name=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + STEP_TIMEOUT ))
  until "$@" >/dev/null 2>&1; do
    if grep -q '^--- exited' "$LOGS/$name.log" 2>/dev/null; then fail "$name exited while waiting for $what" "$name"; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then fail "timed out after ${STEP_TIMEOUT}s waiting for $what" "$name"; fi
    sleep 1
  done
}

# ---- configuration ----------------------------------------------------------------------------

write_configs() {
  local pki="$STATE/pki" restrict_oom=false
  (echo -1000 >/proc/self/oom_score_adj) 2>/dev/null || restrict_oom=true
  mkdir -p "$STATE/cni/net.d" "$STATE/kubelet" "$STATE/coredns"

  cat >"$STATE/containerd.toml" <<EOF
version = 2
root = "$STATE/containerd"
state = "$RUN/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$RUN/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "mirrord.local/pause:3.10"
  # Sandboxes and guaranteed pods ask for a negative oom_score_adj, which needs CAP_SYS_RESOURCE;
  # where containerd runs without it (inside another sandbox), runc would fail every pod.
  # Clamping to containerd's own score changes only which process the OOM killer prefers.
  restrict_oom_score_adj = $restrict_oom
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUN/runc"
EOF

  # Pod traffic stays on the bridge or goes to the node itself: no masquerading, because
  # nothing beyond this machine is ever a destination.
  cat >"$STATE/cni/net.d/10-mirrord.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "mirrord",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$NODE_POD_CIDR"}], [{"subnet": "$NODE_POD_CIDR6"}]],
        "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF

  # Pods whose dnsPolicy is Default (CoreDNS itself) get this instead of the host's resolvers,
  # so no name lookup ever leaves the machine.
  printf 'nameserver 127.0.0.1\noptions ndots:1\n' >"$STATE/resolv.conf"

  cat >"$STATE/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
imageServiceEndpoint: unix://$CONTAINERD_SOCK
clusterDNS: [$DNS_IP]
clusterDomain: cluster.local
resolvConf: $STATE/resolv.conf
failSwapOn: false
# Images are imported, never pulled: garbage-collecting one would break the next pod using it.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
rotateCertificates: false
serverTLSBootstrap: false
EOF

  cat >"$STATE/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: $POD_CIDR,$POD_CIDR6
hostnameOverride: $NODE
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$NODE_IP/32", "$NODE_IP6/128"]
clientConnection: {kubeconfig: $pki/kube-proxy.kubeconfig}
# Leave the host's conntrack sysctls as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
}

# ---- host network -----------------------------------------------------------------------------

setup_network() {
  # An empty bridge holds the address just as well where the kernel has no dummy driver.
  ip link show "$NODE_IF" >/dev/null 2>&1 || ip link add "$NODE_IF" type dummy 2>/dev/null ||
    ip link add "$NODE_IF" type bridge
  ip addr replace "$NODE_IP/32" dev "$NODE_IF"
  ip link set "$NODE_IF" up
  # Saved so that `down` puts them back.
  local name value
  if [ ! -f "$STATE/sysctl.saved" ]; then
    for name in "${SYSCTLS[@]}"; do
      if value=$(sysctl -n "$name" 2>/dev/null); then echo "$name=$value"; fi
    done >"$STATE/sysctl.saved"
  fi
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
  guard iptables icmp-net-unreachable

  # IPv6: the whole range unreachable but for the node's pods (the bridge's route, added with its
  # gateway address) and the services (routed to the node's interface, where kube-proxy's DNAT
  # takes them before they go anywhere). `nodad`: usable at once.
  ip -6 route replace unreachable "$CLUSTER_RANGE6"
  ip -6 route replace "$SERVICE_CIDR6" dev "$NODE_IF"
  ip -6 addr replace "$NODE_IP6/128" dev "$NODE_IF" nodad
  sysctl -qw net.ipv6.conf.all.forwarding=1
  sysctl -qw net.bridge.bridge-nf-call-ip6tables=1 2>/dev/null || true
  guard ip6tables icmp6-no-route
}

# guard IPTABLES REJECT_WITH : the FORWARD guard of one family: what leaves the pod bridge for
# another interface is rejected.
guard() {
  "$1" -N "$GUARD" 2>/dev/null || "$1" -F "$GUARD"
  "$1" -A "$GUARD" -i "$BRIDGE" ! -o "$BRIDGE" -j REJECT --reject-with "$2"
  "$1" -C FORWARD -j "$GUARD" 2>/dev/null || "$1" -I FORWARD 1 -j "$GUARD"
}

# The host's settings the cluster changes, saved by `up` and put back by `down`.
SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.ipv6.conf.all.forwarding
  net.bridge.bridge-nf-call-ip6tables)

# Removes every rule that jumps to one of the cluster's chains, then the chains themselves.
cleanup_iptables() {
  local cmd table line chain saved chains
  for cmd in iptables ip6tables; do
    command -v "$cmd" >/dev/null || continue
    for table in filter nat mangle raw; do
      saved=$("$cmd"-save -t "$table" 2>/dev/null) || continue
      while IFS= read -r line; do
        eval "$cmd -t $table ${line/#-A /-D }" 2>/dev/null || true
      done < <(grep -E '^-A ' <<<"$saved" | grep -E " -j (KUBE-|CNI-|$GUARD)" | grep -vE '^-A (KUBE-|CNI-|'"$GUARD"')')
      # Deleting the jumps leaves the chains as they were: one listing serves both passes.
      chains=$(sed -n -E 's/^:((KUBE-|CNI-|'"$GUARD"')[^ ]*) .*/\1/p' <<<"$saved")
      for chain in $chains; do "$cmd" -t "$table" -F "$chain" 2>/dev/null || true; done
      for chain in $chains; do "$cmd" -t "$table" -X "$chain" 2>/dev/null || true; done
    done
  done
}

# ---- images -----------------------------------------------------------------------------------

import_images() {
  local tar
  for tar in "$@"; do
    ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$tar" >/dev/null \
      || fail "importing $tar into containerd failed" containerd
  done
}

# ---- up ---------------------------------------------------------------------------------------

up() {
  [ "$(id -u)" = 0 ] || { echo "the assembled cluster needs root (it runs containerd, kubelet and iptables)" >&2; exit 1; }
  if [ -f "$RUN/kube-apiserver.pid" ] && kill -0 "$(cat "$RUN/kube-apiserver.pid")" 2>/dev/null; then
    echo "the cluster is already up; kubeconfig: $KUBECONFIG_OUT (npm run cluster:down stops it)"
    return 0
  fi
  # Leftovers of an interrupted run would make the new one fail in confusing ways.
  down >/dev/null 2>&1 || true
  mkdir -p "$STATE" "$RUN" "$LOGS"

  step "system packages"
  bash "$kind_dir/setup-system.sh" || fail "installing system packages failed"

  step "kubernetes $k8s_version binaries"
  bash "$kind_dir/k8s/build.sh" 2>&1 | tee "$LOGS/build.log" | sed '/^go: downloading/d; s/^/       /' ||
    fail "building the kubernetes binaries failed" build

  step "images (pause, coredns $coredns_version, demo)"
  mapfile -t images < <(bash "$kind_dir/images/build.sh" 2>"$LOGS/images.log") || true
  [ "${#images[@]}" -eq 3 ] || fail "building the images failed" images

  step "certificates and kubeconfigs"
  bash "$here/pki.sh" "$STATE/pki" "$NODE" "$NODE_IP" "$SERVICE_IP" || fail "making certificates failed"
  cp "$STATE/pki/admin.kubeconfig" "$KUBECONFIG_OUT"
  write_configs

  step "node network ($NODE_IF $NODE_IP $NODE_IP6, pods $NODE_POD_CIDR $NODE_POD_CIDR6, services $SERVICE_CIDR $SERVICE_CIDR6)"
  setup_network

  step "etcd"
  mkdir -p "$STATE/etcd" && chmod 700 "$STATE/etcd"
  start etcd etcd --name "$NODE" --data-dir "$STATE/etcd" --logger zap \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 10))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 10))" \
    --initial-cluster "$NODE=http://127.0.0.1:$((ETCD_PORT + 10))" \
    --listen-metrics-urls "http://127.0.0.1:$((ETCD_PORT + 20))"
  wait_for etcd "etcd to be healthy" curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

  step "containerd"
  mkdir -p "$RUN/containerd"
  # The pods' network namespaces are mounted under /run/netns. `ip netns add` (the integration
  # tests' pods) bind-mounts that directory onto itself the first time, which would hide the
  # pods' namespaces beneath it, and their removal would then fail for good ("device or resource
  # busy"): make it that shared mount now, before any pod's.
  ip netns add mirrord-cluster-init 2>/dev/null && ip netns delete mirrord-cluster-init
  start containerd containerd --config "$STATE/containerd.toml"
  wait_for containerd "containerd's socket" ctr --address "$CONTAINERD_SOCK" version
  import_images "${images[@]}"

  local pki="$STATE/pki"
  step "kube-apiserver"
  start kube-apiserver "$BIN/kube-apiserver" \
    --advertise-address "$NODE_IP" --bind-address "$NODE_IP" --secure-port 6443 \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --service-cluster-ip-range "$SERVICE_CIDR,$SERVICE_CIDR6" \
    --client-ca-file "$pki/ca.crt" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$pki/ca.crt" \
    --kubelet-preferred-address-types InternalIP \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --authorization-mode Node,RBAC \
    --requestheader-client-ca-file "$pki/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$pki/front-proxy-client.crt" --proxy-client-key-file "$pki/front-proxy-client.key" \
    --enable-aggregator-routing=true \
    --enable-admission-plugins NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook \
    --allow-privileged=true --profiling=false
  wait_for kube-apiserver "the API server to be ready" kubectl get --raw /readyz

  step "kube-controller-manager, kube-scheduler"
  start kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig "$pki/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$pki/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$pki/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --allocate-node-cidrs=true --cluster-cidr "$POD_CIDR,$POD_CIDR6" \
    --node-cidr-mask-size-ipv4 24 --node-cidr-mask-size-ipv6 64 \
    --service-cluster-ip-range "$SERVICE_CIDR,$SERVICE_CIDR6" --controllers '*,bootstrapsigner,tokencleaner'
  start kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig "$pki/scheduler.kubeconfig" \
    --authentication-kubeconfig "$pki/scheduler.kubeconfig" \
    --authorization-kubeconfig "$pki/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false
  wait_for kube-controller-manager "kube-controller-manager to be healthy" \
    curl -fsSk https://127.0.0.1:10257/healthz
  wait_for kube-scheduler "kube-scheduler to be healthy" curl -fsSk https://127.0.0.1:10259/healthz

  step "kubelet, kube-proxy"
  start kubelet "$BIN/kubelet" --config "$STATE/kubelet/config.yaml" \
    --kubeconfig "$pki/kubelet.kubeconfig" --root-dir "$STATE/kubelet" \
    --hostname-override "$NODE" --node-ip "$NODE_IP,$NODE_IP6"
  start kube-proxy "$BIN/kube-proxy" --config "$STATE/kube-proxy.yaml"
  wait_for kube-proxy "kube-proxy to be healthy" curl -fsS http://127.0.0.1:10256/healthz
  wait_for kubelet "node $NODE to be Ready" kubectl wait --for=condition=Ready "node/$NODE" --timeout=5s

  step "coredns"
  sed -e "s/@DNS_IP@/$DNS_IP/g" -e "s/@COREDNS_VERSION@/$coredns_version/g" \
    "$here/coredns.yaml" | kubectl apply -f - >"$LOGS/coredns-apply.log" 2>&1 \
    || fail "applying coredns failed" coredns-apply
  wait_for kubelet "coredns to be Ready" \
    kubectl -n kube-system rollout status deployment/coredns --timeout=5s

  # The namespace where the webhook injects the sidecar (mirrord.dev/injection=enabled).
  kubectl create namespace mirrord-demo >/dev/null 2>&1 || true
  kubectl label namespace mirrord-demo mirrord.dev/injection=enabled --overwrite >/dev/null

  install_webhook

  step "ready in $(( $(date +%s) - t0 ))s"
  note "kubeconfig: $KUBECONFIG_OUT   (export KUBECONFIG=$KUBECONFIG_OUT)"
  note "kubectl:    $BIN/kubectl"
  note "logs:       $LOGS"
}

# The product itself, from this working tree: it needs `npm run build` first. A webhook that
# doesn't become Ready is reported but leaves the cluster up, since that is what one debugs it in
# (and failurePolicy Ignore keeps the cluster's own pods creatable meanwhile).
install_webhook() {
  local repo; repo="$(dirname "$kind_dir")"
  if [ ! -f "$repo/manifests/kustomization.yaml" ] || [ ! -f "$repo/dist/webhook/main.js" ] ||
     [ ! -f "$repo/build/Release/sidecar_native.node" ]; then
    step "mirrord webhook: skipped (needs manifests/, and npm ci and npm run build first)"
    return 0
  fi
  step "mirrord webhook, operator and sidecar images, manifests/"
  local node_images
  mapfile -t node_images < <(bash "$kind_dir/images/node-app.sh" "$CACHE/images" 2>"$LOGS/node-images.log") || true
  if [ "${#node_images[@]}" -ne 3 ]; then
    note "building the webhook, operator and sidecar images failed; see $LOGS/node-images.log"
    return 0
  fi
  import_images "${node_images[@]}"
  if ! kubectl apply -k "$repo/manifests" >"$LOGS/webhook-apply.log" 2>&1; then
    note "kubectl apply -k manifests failed:"; tail -n 20 "$LOGS/webhook-apply.log" | sed 's/^/       /'
    return 0
  fi
  if ! kubectl -n mirrord-system rollout status deployment/mirrord-webhook --timeout="${STEP_TIMEOUT}s" \
      >>"$LOGS/webhook-apply.log" 2>&1; then
    note "the webhook did not become Ready; its pods:"
    kubectl -n mirrord-system get pods -o wide 2>&1 | sed 's/^/       /'
    kubectl -n mirrord-system logs deployment/mirrord-webhook --tail=20 2>&1 | sed 's/^/       /'
  fi
  if ! kubectl -n mirrord-system rollout status deployment/mirrord-operator --timeout="${STEP_TIMEOUT}s" \
      >>"$LOGS/webhook-apply.log" 2>&1; then
    note "the operator did not become Ready; its pods:"
    kubectl -n mirrord-system get pods -o wide 2>&1 | sed 's/^/       /'
    kubectl -n mirrord-system logs deployment/mirrord-operator --tail=20 2>&1 | sed 's/^/       /'
  fi
}

# ---- down -------------------------------------------------------------------------------------

# Pids whose cgroup or command line tie them to this cluster: containers (kubepods cgroups) and
# containerd's shims (our socket on their command line).
cluster_pids() {
  local p
  for p in /proc/[0-9]*; do
    if grep -qs ':/kubepods' "$p/cgroup" || tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$CONTAINERD_SOCK"; then
      echo "${p#/proc/}"
    fi
  done
}

down() {
  local pids m
  stop kube-proxy kubelet kube-scheduler kube-controller-manager
  if [ -S "$CONTAINERD_SOCK" ]; then
    for t in $(ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks kill -s SIGKILL -a "$t" >/dev/null 2>&1 || true
    done
  fi
  for _ in 1 2 3; do
    pids=$(cluster_pids)
    [ -z "$pids" ] && break
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.3
  done
  stop containerd kube-apiserver
  stop etcd

  # Deepest mounts first: container rootfs and shm, pod volumes, network namespaces.
  for _ in 1 2 3; do
    m=$(awk '{print $5}' /proc/self/mountinfo | grep -E "^($STATE|$RUN|/run/netns/cni-|/var/run/netns/cni-)" | sort -r || true)
    [ -z "$m" ] && break
    while IFS= read -r mp; do umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true; done <<<"$m"
  done
  rm -f /run/netns/cni-* 2>/dev/null || true

  ip link del "$BRIDGE" 2>/dev/null || true
  ip link del "$NODE_IF" 2>/dev/null || true
  ip -6 route del unreachable "$CLUSTER_RANGE6" 2>/dev/null || true
  for m in $(ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip -o link show "$m" 2>/dev/null | grep -q "master $BRIDGE" && ip link del "$m" 2>/dev/null
  done
  [ -x "$BIN/kube-proxy" ] && "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  cleanup_iptables

  # The kubelet's cgroups, deepest first, in every v1 hierarchy and the unified one.
  find /sys/fs/cgroup -depth -type d -name 'kubepods*' 2>/dev/null | while read -r d; do
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done

  if [ -f "$STATE/sysctl.saved" ]; then
    while read -r m; do sysctl -qw "$m" 2>/dev/null || true; done <"$STATE/sysctl.saved"
  fi
  # libcni's result cache, one file per sandbox and network.
  for m in "$STATE"/containerd/io.containerd.grpc.v1.cri/sandboxes/*; do
    [ -e "$m" ] && rm -f /var/lib/cni/results/*-"$(basename "$m")"-*
  done
  # Directories containerd and libcni make at fixed paths, removed only when empty.
  rmdir /var/lib/cni/results /var/lib/cni /run/containerd/s /run/containerd/fifo \
    /run/containerd/runc/k8s.io /run/containerd/runc /run/containerd 2>/dev/null || true
  rm -rf "$STATE" "$RUN"
}

status() {
  local c pid
  for c in "${COMPONENTS[@]}"; do
    pid=$(cat "$RUN/$c.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$c: running (group $pid)"; else echo "$c: stopped"; fi
  done
  [ -f "$KUBECONFIG_OUT" ] && kubectl get nodes -o wide 2>/dev/null || true
}

# load ARCHIVE...: images built elsewhere (the database branch images, say) into the running
# cluster's containerd, where pods find them without a registry.
load() {
  [ "$(id -u)" = 0 ] || { echo "cluster.sh load needs root" >&2; exit 1; }
  ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1 || { echo "the cluster is not running (npm run cluster:up)" >&2; exit 1; }
  import_images "$@"
}

case "${1:-}" in
  up) up ;;
  down) [ "$(id -u)" = 0 ] || { echo "cluster:down needs root" >&2; exit 1; }; down; echo "cluster is down" ;;
  status) status ;;
  load) shift; load "$@" ;;
  *) echo "usage: $0 up|down|status|load ARCHIVE..." >&2; exit 2 ;;
esac
