#!/bin/sh
# Inside the stock-kernel VM: runs INTEGRATION_TESTS once per pattern of
# PATTERN_FILE.  A pattern that fails runs once more: software emulation
# shares the host's CPUs, and a host busy elsewhere stretches whatever guest
# code runs at that moment (a probe's few microseconds can become
# milliseconds), which timing checks see.  Twice failed is a failure.
#   guest_suite.sh INTEGRATION_TESTS PATTERN_FILE [ROUNDS]
# ROUNDS (default 1) runs the whole list that many times (hunting flakes).
tests=$1
patterns=$2
rounds=${3:-1}
failed=0
second=0
ran=0
here=$(dirname "$0")

# A pattern that runs past STALL_SECONDS gets every task's state and kernel
# stack printed on the console once: a hang leaves evidence, not silence.
stall_seconds=${STALL_SECONDS:-150}
mark=/tmp/.lstrace-pattern-start
( while sleep 15; do
    [ -f "$mark" ] || continue
    age=$(( $(date +%s) - $(stat -c %Y "$mark") ))
    if [ "$age" -gt "$stall_seconds" ]; then
      echo "stock-kernel: a pattern has run ${age} s; tasks:"
      /bin/sh "$here/guest_tasks.sh"
      rm -f "$mark"
    fi
  done ) &
watchdog=$!

run_pattern() {
  touch "$mark"
  # a hang is a failure, not a VM that never powers off: TERM, then KILL
  timeout -k 15 300 "$tests" --durations yes "$1"
  status=$?
  rm -f "$mark"
  return $status
}

round=0
while [ "$round" -lt "$rounds" ]; do
  round=$((round + 1))
  while IFS= read -r pattern; do
    case "$pattern" in '' | '#'*) continue ;; esac
    ran=$((ran + 1))
    run_pattern "$pattern" && continue
    echo "stock-kernel: failed, running it once more: $pattern"
    if run_pattern "$pattern"; then
      second=$((second + 1))
    else
      failed=$((failed + 1))
      echo "stock-kernel: FAILED twice: $pattern"
    fi
  done < "$patterns"
done
kill "$watchdog" 2>/dev/null
echo "stock-kernel: $ran patterns, $failed failed twice, $second passed on the second run"
[ "$failed" -eq 0 ]
