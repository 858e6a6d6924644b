#!/usr/bin/env bash
# Installs the system packages the sidecar, the pod harness and the native build need
# (Debian/Ubuntu, as root). Does nothing when they are all present.
set -euo pipefail
# libc6-dev: libc.a, for the statically linked test programs (gcc -static); musl-tools: the same
# linked with musl (musl-gcc), whose resolver the syscall mode serves; ethtool: the mirror test
# turns segmentation offloads off so its lossy router drops real segments
packages=(iptables iproute2 socat conntrack ethtool curl make g++ libc6-dev musl-tools python3)
missing=()
for pkg in "${packages[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
# Go builds the Go test programs; Go's own installer (/usr/local/go) counts as well as Debian's.
command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || missing+=(golang-go)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
