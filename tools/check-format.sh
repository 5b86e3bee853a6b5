#!/usr/bin/env bash
# Fails when a C/C++ source is not formatted as its .clang-format says
# (./.clang-format, bpf/.clang-format).  Debian's clang-format
# (tools/install-deps.sh).  To format instead: tools/check-format.sh --fix
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=(--dry-run --Werror)
if [ "${1:-}" = "--fix" ]; then
  mode=(-i)
fi
git ls-files -z '*.c' '*.h' '*.cpp' '*.hpp' | xargs -0 clang-format --style=file "${mode[@]}"
