#!/usr/bin/env bash
# Builds the images the broker and database tests start with testcontainers, where no image can
# be pulled: a Debian base made by debootstrap (mirrord-test-debian:bookworm, by
# kind/images/debian-base.sh), then each
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
  bash "$here/../../kind/images/debian-base.sh" "$base"
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
