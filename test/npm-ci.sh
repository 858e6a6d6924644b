#!/usr/bin/env bash
# npm ci, pointing node-gyp at the installed Node headers when there are some, so the native
# addon builds without downloading them.
set -euo pipefail
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [ -f "$node_prefix/include/node/common.gypi" ]; then export npm_config_nodedir="$node_prefix"; fi
npm ci --no-audit --no-fund
