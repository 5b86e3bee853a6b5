#!/bin/sh
# Inside the stock-kernel VM: runs INTEGRATION_TESTS once per pattern of
# PATTERN_FILE.  A pattern that fails runs once more: software emulation
# shares the host's CPUs, and a host busy elsewhere stretches whatever guest
# code runs at that moment (a probe's few microseconds can become
# milliseconds), which timing checks see.  Twice failed is a failure.
#   guest_suite.sh INTEGRATION_TESTS PATTERN_FILE
tests=$1
patterns=$2
failed=0
second=0
ran=0
while IFS= read -r pattern; do
  case "$pattern" in '' | '#'*) continue ;; esac
  ran=$((ran + 1))
  # a hang is a failure, not a VM that never powers off
  timeout 300 "$tests" --durations yes "$pattern" && continue
  echo "stock-kernel: failed, running it once more: $pattern"
  if timeout 300 "$tests" --durations yes "$pattern"; then
    second=$((second + 1))
  else
    failed=$((failed + 1))
    echo "stock-kernel: FAILED twice: $pattern"
  fi
done < "$patterns"
echo "stock-kernel: $ran patterns, $failed failed twice, $second passed on the second run"
[ "$failed" -eq 0 ]
