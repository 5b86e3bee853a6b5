#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine, as root: installs what
# is missing, builds from scratch, runs every test (unit tests without
# privileges, then the integration tests that load BPF and record real
# processes), then checks the formatting of the sources
# (tools/check-format.sh).  Exits non-zero if anything fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/install-deps.sh"
"$root/tools/build.sh" --fresh
cd "${BUILD_DIR:-$root/build}"
status=0
if [ "$(id -u)" -ne 0 ]; then
  echo "test: not root: running only the unit tests (integration tests need root)" >&2
  ctest --output-on-failure -R '^unit:' || status=$?
else
  ctest --output-on-failure || status=$?
fi
if ! "$root/tools/check-format.sh"; then
  echo "test: sources not formatted as .clang-format says (tools/check-format.sh --fix)" >&2
  status=1
fi
exit "$status"
