#!/usr/bin/env bash
# Builds the cluster's images without pulling anything: static binaries (Go modules through the
# shared module cache, pause.c from the Kubernetes module) in FROM-scratch OCI archives, written
# to $cache/images. Prints the archives, one a line, for the caller to import. MIRRORD_IMAGES
# picks some of them (kind brings its own pause and CoreDNS).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${MIRRORD_K8S_CACHE:-/var/cache/mirrord-k8s}"
export GOMODCACHE="$cache/gomod" GOCACHE="$cache/gocache" GOFLAGS=-mod=mod CGO_ENABLED=0
out="$cache/images" bin="$cache/bin"
wanted=" ${MIRRORD_IMAGES:-pause coredns demo} "
mkdir -p "$out" "$bin"

source "$here/../versions.sh"

if [[ $wanted == *" coredns "* ]] && [ ! -x "$bin/coredns-$coredns_version" ]; then
  echo "building coredns $coredns_version" >&2
  ( cd "$here/coredns" && go build -trimpath \
      -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$coredns_version" \
      -o "$bin/coredns-$coredns_version.tmp" . )
  mv "$bin/coredns-$coredns_version.tmp" "$bin/coredns-$coredns_version"
fi
( cd "$here/demo" && go build -trimpath -ldflags "-s -w" -o "$bin/demo" . )
if [[ $wanted == *" pause "* ]] && [ ! -x "$bin/pause-$k8s_version" ]; then
  # The pause container must reap zombies and exit on SIGTERM/SIGINT; upstream's pause.c does
  # exactly that, so it is built from the Kubernetes module instead of being rewritten.
  gcc -Os -static -Wall -Werror -DVERSION="$k8s_version" \
    -o "$bin/pause-$k8s_version" "$GOMODCACHE/k8s.io/kubernetes@$k8s_version/build/pause/linux/pause.c"
  strip "$bin/pause-$k8s_version"
fi

image() { # NAME REF BINARY ENTRYPOINT_JSON [CMD_JSON]
  local root; root=$(mktemp -d)
  install -m 0755 "$3" "$root/$(basename "${4//[\[\]\"]/}")"
  mkdir -p "$root/etc" "$root/tmp" && chmod 1777 "$root/tmp"
  bash "$here/oci.sh" "$root" "$2" "$out/$1.tar" "$4" "${5:-null}"
  rm -rf "$root"
  echo "$out/$1.tar"
}
[[ $wanted == *" pause "* ]] && image pause mirrord.local/pause:3.10 "$bin/pause-$k8s_version" '["/pause"]'
[[ $wanted == *" coredns "* ]] && image coredns "mirrord.local/coredns:$coredns_version" "$bin/coredns-$coredns_version" '["/coredns"]'
[[ $wanted == *" demo "* ]] && image demo mirrord.local/demo:dev "$bin/demo" '["/demo"]' '["serve"]'
exit 0
