#!/usr/bin/env bash
# `npm run demo` (a real cluster) and `npm run demo:netns` (a pod made of network namespaces, no
# cluster): sets up what is missing, builds, makes `mirrord` a command, and runs the demo. Run as
# root or as a user who may use sudo: only what needs root (system packages, /usr/local/bin, the
# demo's namespaces, iptables rules and cluster) goes through sudo; the build stays the user's.
set -euo pipefail
cd "$(dirname "$0")/../.."
as_root() { bash test/as-root.sh "$@"; }
as_root bash test/setup-system.sh
[ -d node_modules ] && [ -f build/Release/sidecar_native.node ] || bash test/npm-ci.sh >/dev/null
npm run --silent build
as_root bash test/link-mirrord.sh
exec bash test/as-root.sh node "dist/test/demo/${1:-cluster}.js"
