#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine, as root: installs what
# is missing, builds from scratch, runs every test (unit tests without
# privileges, then the integration tests that load BPF and record real
# processes).  Exits non-zero if anything fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/install-deps.sh"
"$root/tools/build.sh" --fresh
cd "${BUILD_DIR:-$root/build}"
if [ "$(id -u)" -ne 0 ]; then
  echo "test: not root: running only the unit tests (integration tests need root)" >&2
  exec ctest --output-on-failure -R '^unit:'
fi
ctest --output-on-failure
