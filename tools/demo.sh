#!/usr/bin/env bash
# Records the bundled LangSwarm-style demo and shows the result, on a fresh
# Debian 12 machine, as root: installs what is missing, builds, records
# examples/langswarm_demo with lstrace-bpf and prints a per-operation
# summary of the trace.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
trace=${1:-$root/demo-trace.jsonl}
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
