#!/usr/bin/env bash
# Run by test/images/build.sh in this directory's copy (the build context): ElasticMQ's server
# and its runtime dependencies from Maven Central (pom.xml) into libs/. Maven's repository is kept
# outside the clone, so a rebuild downloads nothing again.
set -euo pipefail
command -v mvn >/dev/null || apt-get install -y -qq maven >/dev/null
mvn -q -B -Dmaven.repo.local="${MIRRORD_TEST_M2_REPO:-/var/cache/mirrord-test-images/m2}" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=libs
