#!/usr/bin/env bash
# Builds the database branch images and saves them for a cluster's containerd:
#   bash operator/db-branch-images/build.sh OUT_DIR
# mirrord-db-branch-postgres:15 (postgres/) and mirrord-db-branch-mysql:10.11 (mysql/), each on a
# Debian bookworm base made by debootstrap (kind/images/debian-base.sh; nothing is pulled), built
# with --network host. An image already in Docker's store is kept unless
# MIRRORD_DB_IMAGES_REBUILD=1. Writes OUT_DIR/mirrord-db-branch-postgres.tar and
# OUT_DIR/mirrord-db-branch-mysql.tar (`docker save`; an archive is kept while its image id, saved
# beside it as NAME.id, is unchanged) and prints their paths, one per line, on stdout; everything
# else goes to stderr. Needs a running Docker engine (test/setup-docker.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out=${1:?usage: build.sh OUT_DIR}
mkdir -p "$out"
out="$(cd "$out" && pwd)"
base=${MIRRORD_DEBIAN_BASE:-mirrord-debian:bookworm}
rebuild=${MIRRORD_DB_IMAGES_REBUILD:-}
exists() { docker image inspect "$1" >/dev/null 2>&1; }

if ! exists "$base"; then
  # The test images' base is the same debootstrap (kind/images/debian-base.sh): reuse it if made.
  if exists mirrord-test-debian:bookworm; then
    docker tag mirrord-test-debian:bookworm "$base"
  else
    echo "building $base (debootstrap)" >&2
    bash "$here/../../kind/images/debian-base.sh" "$base"
  fi
fi

for pair in postgres:15 mysql:10.11; do
  dir=${pair%%:*}
  name=mirrord-db-branch-$dir
  tag=$name:${pair#*:}
  if [ -n "$rebuild" ] || ! exists "$tag"; then
    echo "building $tag" >&2
    context=$(mktemp -d)
    cp -a "$here/$dir/." "$here/common.sh" "$context/"
    docker build -q --network host --build-arg BASE="$base" -t "$tag" "$context" >&2
    rm -rf "$context"
  fi
  id=$(docker image inspect --format '{{.Id}}' "$tag")
  archive=$out/$name.tar
  if [ ! -s "$archive" ] || [ "$(cat "$archive.id" 2>/dev/null)" != "$id" ]; then
    echo "saving $tag to $archive" >&2
    docker save "$tag" -o "$archive.partial"
    mv "$archive.partial" "$archive"
    printf '%s\n' "$id" >"$archive.id"
  fi
  printf '%s\n' "$archive"
done
