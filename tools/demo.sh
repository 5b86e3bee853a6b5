#!/usr/bin/env bash
# Records the bundled LangSwarm-style demo and shows the result, on a fresh
# Debian 12 machine, as root: installs what is missing, builds, records
# examples/langswarm_demo (C++) with lstrace-bpf and prints a per-operation
# summary of the trace, then the same for examples/langswarm_demo.py
# (Python, asyncio).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
trace=${1:-$root/demo-trace.jsonl}
py_trace=${trace%.jsonl}-python.jsonl
"$root/tools/install-deps.sh"
"$root/tools/build.sh"
echo
"$build/userspace/lstrace-bpf" record --force -o "$trace" -- "$build/examples/langswarm_demo"
echo
"$build/userspace/lstrace-bpf" summary "$trace"
echo
"$build/userspace/lstrace-bpf" analyze "$trace"
echo
report=${trace%.jsonl}-report.html
"$build/userspace/lstrace-bpf" report -o "$report" "$trace"
echo "trace: $trace ($(wc -l <"$trace") records; one JSON object per line)"
echo "timeline: $report (open it in a browser; self-contained)"
echo "first record:"
head -n 1 "$trace"
echo
echo "=== the same workflow in Python (examples/langswarm_demo.py, asyncio) ==="
python=$(sed -n 's/^LSTRACE_PYTHON_EXECUTABLE:INTERNAL=//p' "$build/CMakeCache.txt")
PYTHONPATH=$build/python "$build/userspace/lstrace-bpf" record --force -o "$py_trace" -- \
  "$python" "$root/examples/langswarm_demo.py"
echo
"$build/userspace/lstrace-bpf" summary "$py_trace"
echo
"$build/userspace/lstrace-bpf" analyze "$py_trace"
echo "python trace: $py_trace ($(wc -l <"$py_trace") records)"
