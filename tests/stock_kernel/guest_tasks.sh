#!/bin/sh
# Inside the stock-kernel VM: one line per task (state, wait channel,
# tracer, pending signals, command) and its kernel stack, for diagnosing a
# hang from the console alone.
for p in /proc/[0-9]*; do
  cmd=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null | cut -c1-100)
  [ -n "$cmd" ] || continue   # kernel threads
  echo "  pid $(basename "$p") tracer=$(awk '/^TracerPid/{print $2}' "$p/status") $cmd"
  for t in "$p"/task/*; do
    echo "    tid $(basename "$t") $(awk '/^State/{print $2}' "$t/status") wchan=$(cat "$t/wchan" 2>/dev/null) pending=$(awk '/^SigPnd/{print $2}' "$t/status")"
    sed 's/^/      /' "$t/stack" 2>/dev/null | head -16
  done
done
# blocked (D state) tasks as the kernel sees them, with their stacks
echo w > /proc/sysrq-trigger 2>/dev/null
dmesg | tail -60
