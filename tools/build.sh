#!/usr/bin/env bash
# Configures and builds lstrace-bpf into BUILD_DIR (default: build/).
#   tools/build.sh [--fresh]     --fresh: delete BUILD_DIR first
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
if [ "${1:-}" = "--fresh" ]; then
  rm -rf "$build"
fi
# the benchmark too: the ctest perf check runs it
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLSTRACE_WERROR=ON \
  -DLSTRACE_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
