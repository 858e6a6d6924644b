#!/usr/bin/env bash
# A base image for the Dockerfile where no image registry is reachable: a Debian root made by
# debootstrap, with this machine's node, npm and Node headers, and this machine's CA bundle (so
# that npm inside the build trusts the same registry certificates as the host).
#   bash kind/images/docker-base.sh [TAG]        (default mirrord-base:local), then
#   docker build --network host --build-arg BASE=mirrord-base:local --target sidecar -t mirrord-sidecar:0.1.0 .
set -euo pipefail
tag=${1:-mirrord-base:local}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
debootstrap --variant=minbase --include=libstdc++6,ca-certificates bookworm "$root" http://deb.debian.org/debian >/dev/null
node_bin=$(readlink -f "$(command -v node)")
node_prefix=$(dirname "$(dirname "$node_bin")")
install -D "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules" "$root/usr/local/include"
cp -a "$node_prefix/lib/node_modules/npm" "$root/usr/local/lib/node_modules/"
cp -a "$node_prefix/include/node" "$root/usr/local/include/"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  - "$tag" >/dev/null
echo "$tag"
