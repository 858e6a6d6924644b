#!/usr/bin/env bash
# A plain Debian bookworm base image made by debootstrap, for the Dockerfiles built where no image
# registry is reachable (the test images, the database branch images): minbase with CA
# certificates, and this machine's package sources (a snapshot's, say) so that images install the
# same versions as the host would.
#   bash kind/images/debian-base.sh TAG
set -euo pipefail
tag=${1:?usage: debian-base.sh TAG}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
debootstrap --variant=minbase --include=ca-certificates bookworm "$root" http://deb.debian.org/debian >/dev/null
cp /etc/apt/sources.list "$root/etc/apt/sources.list" 2>/dev/null || true
if [ -d /etc/apt/sources.list.d ]; then cp -a /etc/apt/sources.list.d/. "$root/etc/apt/sources.list.d/"; fi
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$tag" >/dev/null
