#!/usr/bin/env bash
# Builds the images the broker and database tests start with testcontainers, where no image can
# be pulled: a Debian base made by debootstrap (mirrord-test-debian:bookworm), then each
# directory's Dockerfile on it (mirrord-test-NAME:local). A directory with a prepare.sh has it run
# first, in a copy of the directory that is the build's context (to fetch what the image needs
# from Maven Central, say, into that context). An image already built is kept (Docker's
# own store outlives the clone); MIRRORD_TEST_IMAGES_REBUILD=1 builds them again. Needs a running
# Docker engine (test/setup-docker.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
base=mirrord-test-debian:bookworm
rebuild=${MIRRORD_TEST_IMAGES_REBUILD:-}
has() { [ -z "$rebuild" ] && docker image inspect "$1" >/dev/null 2>&1; }

if ! has "$base"; then
  echo "building $base (debootstrap)" >&2
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
  debootstrap --variant=minbase --include=ca-certificates bookworm "$root" http://deb.debian.org/debian >/dev/null
  # The package sources this machine uses (a snapshot's, say), so the images install the same versions.
  cp /etc/apt/sources.list "$root/etc/apt/sources.list" 2>/dev/null || true
  if [ -d /etc/apt/sources.list.d ]; then cp -a /etc/apt/sources.list.d/. "$root/etc/apt/sources.list.d/"; fi
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$base" >/dev/null
fi

for dir in "$here"/*/; do
  name=$(basename "$dir")
  tag="mirrord-test-$name:local"
  if ! has "$tag"; then
    echo "building $tag" >&2
    context=$(mktemp -d)
    cp -a "$dir/." "$context/"
    if [ -f "$context/prepare.sh" ]; then (cd "$context" && bash prepare.sh); fi
    docker build -q --network host --build-arg BASE="$base" -t "$tag" "$context" >/dev/null
    rm -rf "$context"
  fi
done
