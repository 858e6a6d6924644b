#!/usr/bin/env bash
# Packs a directory into a one-layer OCI image archive that `ctr image import` (and
# `kind load image-archive`) accept: the same thing a `FROM scratch` + `COPY` Dockerfile makes,
# without needing a Docker engine. Timestamps and owners are fixed so the same input gives the
# same image digest.
# Usage: oci.sh ROOTFS_DIR IMAGE_REF OUT.tar ENTRYPOINT_JSON [CMD_JSON]
set -euo pipefail
rootfs=$1 ref=$2 out=$3 entrypoint=$4 cmd=${5:-null}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/blobs/sha256"

blob() { # FILE -> prints "digest size", moves FILE into the blob store
  local d s
  d=$(sha256sum "$1" | cut -d' ' -f1); s=$(stat -c %s "$1")
  mv "$1" "$work/blobs/sha256/$d"
  echo "sha256:$d $s"
}

tar -C "$rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$work/layer.tar" .
read -r layer_digest layer_size < <(blob "$work/layer.tar")

cat >"$work/config.json" <<JSON
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":$entrypoint,"Cmd":$cmd,"WorkingDir":"/"},
 "rootfs":{"type":"layers","diff_ids":["$layer_digest"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"kind/images/oci.sh"}]}
JSON
read -r config_digest config_size < <(blob "$work/config.json")

cat >"$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config_digest","size":$config_size},
 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$layer_digest","size":$layer_size}]}
JSON
read -r manifest_digest manifest_size < <(blob "$work/manifest.json")

cat >"$work/index.json" <<JSON
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "digest":"$manifest_digest","size":$manifest_size,"platform":{"architecture":"amd64","os":"linux"},
 "annotations":{"io.containerd.image.name":"$ref","org.opencontainers.image.ref.name":"${ref##*:}"}}]}
JSON
echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"
tar -C "$work" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$out.tmp" oci-layout index.json blobs
mv "$out.tmp" "$out"
