#!/usr/bin/env bash
# ctest's stock-kernel test: the root integration tests of root_tests.txt,
# run by INTEGRATION_TESTS inside Debian 12's stock kernel (run_in_vm.sh).
#   run_root_tests.sh BUILD_DIR INTEGRATION_TESTS
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run_root_tests.sh BUILD_DIR INTEGRATION_TESTS}
tests=$(readlink -f "${2:?usage: run_root_tests.sh BUILD_DIR INTEGRATION_TESTS}")
if [ "$(id -u)" -ne 0 ]; then
  echo "stock-kernel: not root: skipped (the VM image is built from root-only files)" >&2
  exit 77
fi
exec "$here/run_in_vm.sh" "$build" --timeout "${STOCK_KERNEL_TIMEOUT:-2400}" -- \
  /bin/sh "$here/guest_suite.sh" "$tests" "$here/root_tests.txt"
