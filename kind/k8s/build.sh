#!/usr/bin/env bash
# Builds the Kubernetes binaries (and kubectl, which the cluster scripts use) from the
# k8s.io/kubernetes Go module through the wrapper module beside this script. The module and
# build caches live outside the repository so that a second run, or another clone, reuses them;
# finished binaries are kept per version and never rebuilt.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${MIRRORD_K8S_CACHE:-/var/cache/mirrord-k8s}"
source "$here/../versions.sh"
version=$k8s_version
out="$cache/bin/$version"
tools=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

have_all() { for t in "${tools[@]}"; do [ -x "$out/$t" ] || return 1; done; }
if have_all; then echo "kubernetes $version: cached in $out"; exit 0; fi

export GOMODCACHE="$cache/gomod" GOCACHE="$cache/gocache" GOFLAGS=-mod=mod CGO_ENABLED=0
mkdir -p "$out.tmp"
# The version is what the binaries report (and what the API server's /version and the node's
# kubeletVersion say); kubelet refuses to register with an API server older than itself, so
# every binary must carry the same one.
IFS=. read -r major minor _ <<<"${version#v}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
pkgs=(); for t in "${tools[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$t"); done
echo "building kubernetes $version (${tools[*]}) into $out; a cold build takes a long time"
start=$(date +%s)
( cd "$here" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp/" "${pkgs[@]}" )
rm -rf "$out" && mv "$out.tmp" "$out"
echo "built kubernetes $version in $(( $(date +%s) - start ))s"
