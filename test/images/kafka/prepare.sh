#!/usr/bin/env bash
# Run by test/images/build.sh in the build's context: the Kafka broker and its runtime
# dependencies from Maven Central (pom.xml) into libs/, for the Dockerfile to copy. The Maven
# repository is kept outside the clone, so a rebuild fetches nothing again.
set -euo pipefail
repo=${MIRRORD_TEST_M2_REPO:-/var/cache/mirrord-test-images/m2}
mkdir -p "$repo"
command -v mvn >/dev/null || apt-get install -y -qq maven >/dev/null
# Maven's output only when it fails (with -q it still prints colour resets).
if ! mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=libs -Dmaven.repo.local="$repo" >mvn.log 2>&1; then
  cat mvn.log >&2
  exit 1
fi
rm -f mvn.log
