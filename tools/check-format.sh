#!/usr/bin/env bash
# Fails when a C/C++ source is not formatted as its style says: C++ (.cpp,
# .hpp) as ./.clang-format, C (.c, .h: BPF, the C probe header, C test
# programs) as bpf/.clang-format.  Debian's clang-format
# (tools/install-deps.sh).  To format instead: tools/check-format.sh --fix
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=(--dry-run --Werror)
if [ "${1:-}" = "--fix" ]; then
  mode=(-i)
fi
git ls-files -z '*.cpp' '*.hpp' | xargs -0 -r clang-format --style=file "${mode[@]}"
git ls-files -z '*.c' '*.h' | xargs -0 -r clang-format --style=file:bpf/.clang-format "${mode[@]}"
