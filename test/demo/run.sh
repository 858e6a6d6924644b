#!/usr/bin/env bash
# `npm run demo` (a real cluster) and `npm run demo:netns` (a pod made of network namespaces, no
# cluster): sets up what is missing, builds, and runs the demo (as root).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then echo "the demo creates network namespaces and iptables rules: run it as root (sudo npm run demo)"; exit 1; fi
bash test/setup-system.sh
[ -d node_modules ] && [ -f build/Release/sidecar_native.node ] || bash test/npm-ci.sh >/dev/null
npm run --silent build
exec node "dist/test/demo/${1:-cluster}.js"
