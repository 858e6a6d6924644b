#!/usr/bin/env bash
# `npm run cluster:up` / `cluster:down` (and `cluster.sh load ARCHIVE...`, images into it): a kind cluster when kind and a running Docker engine are
# there, otherwise the cluster assembled from upstream components (kind/assembled). Force one
# with MIRRORD_CLUSTER=kind|assembled. The whole of `up` is bounded by MIRRORD_CLUSTER_TIMEOUT
# seconds (default 5400: a cold build of Kubernetes on 2 cores is most of it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
action=${1:-}
# Go's own installer puts it in /usr/local/go, which a minimal PATH (sudo, CI) may not include.
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH="$PATH:/usr/local/go/bin"; fi
case "$action" in up|down|status|load) ;; *) echo "usage: $0 up|down|status|load ARCHIVE..." >&2; exit 2 ;; esac

flavor=${MIRRORD_CLUSTER:-}
if [ -z "$flavor" ]; then
  if command -v kind >/dev/null && docker info >/dev/null 2>&1; then flavor=kind; else flavor=assembled; fi
fi

run_bounded() {
  local limit=${MIRRORD_CLUSTER_TIMEOUT:-5400}
  timeout --foreground -k 30 "$limit" "$@" && return 0
  local code=$?
  [ "$code" = 124 ] && echo "cluster:up did not finish within ${limit}s (MIRRORD_CLUSTER_TIMEOUT)" >&2
  return "$code"
}

if [ "$flavor" = assembled ]; then
  if [ "$action" = up ]; then
    run_bounded bash "$here/assembled/cluster.sh" up || {
      code=$?
      # A timeout kills the script before it can clean up after itself.
      [ "$code" = 124 ] && [ "${MIRRORD_CLUSTER_KEEP_ON_FAILURE:-}" != 1 ] && bash "$here/assembled/cluster.sh" down >/dev/null 2>&1
      exit "$code"
    }
  else
    exec bash "$here/assembled/cluster.sh" "$@"
  fi
  exit 0
fi

[ "$flavor" = kind ] || { echo "MIRRORD_CLUSTER must be kind or assembled" >&2; exit 2; }
name=mirrord
kubeconfig="${MIRRORD_KUBECONFIG:-$HOME/.kube/mirrord-kind.kubeconfig}"
case "$action" in
  down) kind delete cluster --name "$name"; rm -f "$kubeconfig"; exit 0 ;;
  load) shift; for archive in "$@"; do kind load image-archive --name "$name" "$archive"; done; exit 0 ;;
  status) kind get clusters | grep -qx "$name" && KUBECONFIG="$kubeconfig" kubectl get nodes -o wide || echo "no kind cluster $name"; exit 0 ;;
esac

kind_up() {
  echo "creating kind cluster $name"
  kind get clusters | grep -qx "$name" ||
    kind create cluster --name "$name" --config "$here/cluster.yaml" --kubeconfig "$kubeconfig" --wait 180s
  kind export kubeconfig --name "$name" --kubeconfig "$kubeconfig" >/dev/null
  export KUBECONFIG="$kubeconfig"
  if command -v go >/dev/null; then
    echo "building and loading images"
    while read -r archive; do kind load image-archive --name "$name" "$archive"; done \
      < <(MIRRORD_IMAGES=demo MIRRORD_K8S_CACHE="${MIRRORD_K8S_CACHE:-$HOME/.cache/mirrord-k8s}" bash "$here/images/build.sh")
  else
    echo "go is missing: the demo image is not built" >&2
  fi
  local built=""
  # The repository's Dockerfile builds the images (targets sidecar, webhook and operator); BASE may name a
  # locally built base image (kind/images/docker-base.sh) where no registry is reachable.
  if [ -f "$repo/Dockerfile" ]; then
    version=$(node -p "require('$repo/package.json').version")
    for component in sidecar webhook operator; do
      docker build --target "$component" ${MIRRORD_DOCKER_BASE:+--build-arg BASE="$MIRRORD_DOCKER_BASE"} \
        -t "mirrord-$component:$version" "$repo"
      kind load docker-image --name "$name" "mirrord-$component:$version"
    done
    built=1
  fi
  # Without the Dockerfile, the same self-contained images the assembled cluster uses.
  if [ -z "$built" ] && [ -f "$repo/dist/webhook/main.js" ] && [ -f "$repo/build/Release/sidecar_native.node" ]; then
    mkdir -p "$HOME/.cache/mirrord-kind"
    while read -r archive; do kind load image-archive --name "$name" "$archive"; done \
      < <(bash "$here/images/node-app.sh" "$HOME/.cache/mirrord-kind")
  fi
  if [ -f "$repo/manifests/kustomization.yaml" ]; then kubectl apply -k "$repo/manifests"; fi
  kubectl create namespace mirrord-demo --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl label namespace mirrord-demo mirrord.dev/injection=enabled --overwrite >/dev/null
  echo "ready; kubeconfig: $kubeconfig"
}
export -f kind_up
export name kubeconfig here repo
run_bounded bash -c kind_up
