#!/usr/bin/env bash
# Makes `mirrord` a command (as root): /usr/local/bin/mirrord, a symlink to this checkout's built
# CLI, so it always runs the checkout's current build (as `npm link` would, without npm
# installing anything as root). A mirrord there that is not such a link (the Rust mirrord's
# installer uses the same place) is left alone. `rm /usr/local/bin/mirrord` undoes it.
set -euo pipefail
cd "$(dirname "$0")/.."
target="$PWD/dist/cli/launch.js"
link="${MIRRORD_LINK:-/usr/local/bin/mirrord}"
# npm run build makes it executable (tsc doesn't).
[ -x "$target" ] || { echo "$target is missing or not executable: run npm run build first" >&2; exit 1; }
current=$(readlink "$link" 2>/dev/null || true)
[ "$current" = "$target" ] && exit 0
# Ours to replace: nothing there, a link into a checkout of this project, or a dangling link.
if [ -e "$link" ] && [[ "$current" != */dist/cli/launch.js && "$current" != */dist/cli/main.js ]]; then
  echo "note: $link is another mirrord, left as it is; this checkout's runs as: node $target" >&2
  exit 0
fi
mkdir -p "$(dirname "$link")"
ln -sfn "$target" "$link"
echo "mirrord is now a command: $link -> $target (rm $link removes it)"
found=$(command -v mirrord || true)
[ "$found" = "$link" ] || echo "note: \`mirrord\` on this PATH is ${found:-nothing}: put $(dirname "$link") first on PATH" >&2
