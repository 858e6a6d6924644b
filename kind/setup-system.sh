#!/usr/bin/env bash
# Installs what the assembled cluster runs on (Debian/Ubuntu, as root). Package install scripts
# are told not to start services: the cluster runs its own etcd and containerd, with their own
# ports, sockets and state directories, under its supervisor.
set -euo pipefail
packages=(etcd-server containerd runc containernetworking-plugins iptables iproute2 conntrack
  socat openssl util-linux mount ethtool curl)
missing=()
for pkg in "${packages[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
restore=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && restore=1
fi
trap '[ -n "$restore" ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
