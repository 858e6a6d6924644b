#!/usr/bin/env bash
# Packs this repository's Node.js programs (the webhook, the operator, the sidecar) into images without a
# Docker engine or a registry: the machine's own node binary with the shared libraries it links,
# the compiled dist/, the production dependencies out of node_modules, and for the sidecar the
# native addon, iptables and bash (for the probes). Prints the archives, one a line.
# Usage: node-app.sh OUT_DIR   (after `npm run build`)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out=$1
version=$(node -p "require('$repo/package.json').version")

# copy_with_libs ROOT FILE... : FILE and every shared library it loads, at the same paths.
copy_with_libs() {
  local root=$1; shift
  local f lib
  for f in "$@"; do
    put "$root" "$f"
    for lib in $(ldd "$(readlink -f "$f")" 2>/dev/null | grep -oE '/[^ ]+'); do put "$root" "$lib"; done
  done
}
put() { # ROOT FILE : the file's content at its own path (and at its target's, for a symlink)
  [ -e "$1$2" ] && return 0
  mkdir -p "$1$(dirname "$2")"
  cp -L "$2" "$1$2"
  [ -L "$2" ] && put "$1" "$(readlink -f "$2")"
  return 0
}

# The compiled folders the images ship.
SHIPPED="common protocol sidecar webhook operator vendor"

base_root() {
  local root; root=$(mktemp -d)
  mkdir -p "$root/etc" "$root/tmp" "$root/run" && chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
  copy_with_libs "$root" "$(readlink -f "$(command -v node)")"

  mkdir -p "$root/app"
  cp "$repo/package.json" "$root/app/"
  # What the sidecar, the webhook and the operator run, and nothing of the CLI's or the tests'.
  mkdir -p "$root/app/dist"
  for component in $SHIPPED; do cp -a "$repo/dist/$component" "$root/app/dist/"; done
  echo "$root"
}

# The production dependency tree only, as npm resolved it.
prod_deps() { (cd "$repo" && npm ls --omit=dev --parseable --all 2>/dev/null | tail -n +2 | sed "s#^$repo/##"); }

image() { # NAME ROOT ENTRYPOINT_JSON
  bash "$here/oci.sh" "$2" "docker.io/library/mirrord-$1:$version" "$out/mirrord-$1.tar" "$3"
  rm -rf "$2"
  echo "$out/mirrord-$1.tar"
}

# Unchanged inputs, unchanged images: the archives are reused.
key=$( { node --version; cat "$0" "$here/oci.sh"; cd "$repo" && find dist build/Release package.json package-lock.json \
  -type f -printf '%p %s %T@\n' | sort; } | sha256sum | cut -d' ' -f1)
if [ -f "$out/mirrord-webhook.tar" ] && [ -f "$out/mirrord-operator.tar" ] && [ -f "$out/mirrord-sidecar.tar" ] &&
   [ "$(cat "$out/node-app.key" 2>/dev/null)" = "$key" ]; then
  echo "$out/mirrord-webhook.tar"; echo "$out/mirrord-operator.tar"; echo "$out/mirrord-sidecar.tar"; exit 0
fi
rm -f "$out/node-app.key"

root=$(base_root)
(cd "$repo" && prod_deps | xargs -r cp -a --parents -t "$root/app/")
image webhook "$root" '["/usr/bin/node", "/app/dist/webhook/main.js"]'

root=$(base_root)
(cd "$repo" && prod_deps | xargs -r cp -a --parents -t "$root/app/")
image operator "$root" '["/usr/bin/node", "/app/dist/operator/main.js"]'

root=$(base_root)
(cd "$repo" && prod_deps | xargs -r cp -a --parents -t "$root/app/")
mkdir -p "$root/app/build/Release" && cp "$repo/build/Release/sidecar_native.node" "$root/app/build/Release/"
# ip (iproute2): the routing rule of transparent pass-through (sidecar/incoming/transparent.ts).
# bash runs the kubelet's probes (its /dev/tcp): lighter in the sidecar's memory than a node.
# ip6tables: the same rules for a dual-stack pod's IPv6 (sidecar/incoming/dual-stack.ts).
copy_with_libs "$root" /usr/sbin/iptables /usr/sbin/iptables-save /usr/sbin/iptables-restore \
  /usr/sbin/iptables-legacy /usr/sbin/iptables-nft /usr/sbin/ip6tables /usr/sbin/ip6tables-save \
  /usr/sbin/ip6tables-restore /usr/sbin/ip6tables-legacy /usr/sbin/ip6tables-nft /usr/sbin/ip /bin/bash
for m in /usr/lib/x86_64-linux-gnu/xtables/*.so; do copy_with_libs "$root" "$m"; done
image sidecar "$root" '["/usr/bin/node", "--max-semi-space-size=1", "/app/dist/sidecar/main.js"]'  # see sidecar/memory.ts
echo "$key" >"$out/node-app.key"
