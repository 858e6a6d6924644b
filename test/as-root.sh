#!/usr/bin/env bash
# Runs a command as root, for the npm scripts that need it (network namespaces, iptables rules,
# system packages, a cluster, /usr/local/bin): as it is when we are root already (CI, a machine
# without sudo), otherwise through sudo. sudo resets the environment, so PATH is passed on (the
# same node, node_modules/.bin and Go as the caller's) with the variables the tests, demos and
# cluster scripts read; HOME is left to sudo, so nothing root writes lands in the user's home.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
if [ "$(id -u)" = 0 ]; then exec "$@"; fi
if ! command -v sudo >/dev/null; then
  echo "\`$*\` needs root (network namespaces, iptables rules, system packages): run it as root, or install sudo" >&2
  exit 1
fi
# Root's own tools (iptables) live in the sbin directories an ordinary user's PATH lacks.
path=$PATH
for dir in /usr/local/sbin /usr/sbin /sbin; do
  case ":$path:" in *":$dir:"*) ;; *) path="$path:$dir" ;; esac
done
keep=("PATH=$path")
for name in $(compgen -e); do
  case "$name" in MIRRORD_* | CI | KUBECONFIG) keep+=("$name=${!name}") ;; esac
done
sudo -n true 2>/dev/null || echo "root is needed for: $*" >&2
exec sudo env "${keep[@]}" "$@"
