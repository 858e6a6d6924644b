#!/usr/bin/env bash
# A running Docker engine for the tests that start brokers and databases with testcontainers
# (as root): Debian's docker.io installed when missing, dockerd started when nothing answers on
# its socket (logging to /var/log/mirrord-dockerd.log), and waited for.
set -euo pipefail
docker info >/dev/null 2>&1 && exit 0
if ! command -v dockerd >/dev/null; then
  echo "installing docker.io" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi
docker info >/dev/null 2>&1 && exit 0
# Without iptables rules of its own: dockerd would set the FORWARD policy to DROP, cutting the
# test cluster's and the network-namespace harness's forwarded traffic. The tests reach containers
# through their published ports (docker-proxy) and build with --network host.
nohup dockerd --iptables=false >/var/log/mirrord-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "dockerd did not start; see /var/log/mirrord-dockerd.log" >&2
tail -20 /var/log/mirrord-dockerd.log >&2
exit 1
