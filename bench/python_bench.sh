#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/python_bench.sh - cost per span of the Python API, every row in one
# invocation (as root: the floor and attached rows load BPF programs).
#
#   bench/python_bench.sh [BUILD_DIR] [--spans N] [--attached-spans N] [--runs R]
#
# Rows (bench/python_bench.py has the loops; a span is the standard's
# trace_operation(component=, operation=, description=) with one set_tag):
#   nullcontext  `with contextlib.nullcontext()`: a bare with statement
#   noop         a pure-Python no-op tracer of the same call shape
#   detached     lstrace, no recorder attached
#   floor        lstrace under bench/usdt_floor --langswarm (a BPF program that only
#                counts the probe hits): the Python span path plus what any
#                USDT tracer pays for its probe hits (two: the tag rides in
#                the span's tag buffer to span_end)
#   attached     lstrace under `lstrace-bpf record`, JSONL to a file
#   psutil       the seed's ResourceMonitor (bench/seed_resource_monitor.py)
# Each figure is the median of R runs: wall ns per span, and the thread's
# CPU ns per span of that run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
  build=$1
  shift
fi
spans=1000000 attached_spans=50000 runs=5
while [ $# -gt 0 ]; do
  case $1 in
    --spans) spans=$2; shift 2 ;;
    --attached-spans) attached_spans=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "python_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
python=$(sed -n 's/^LSTRACE_PYTHON_EXECUTABLE:INTERNAL=//p' "$build/CMakeCache.txt")
export PYTHONPATH=$build/python
so=$(ls "$build"/python/lstrace/_native*.so)
bench=$root/bench/python_bench.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

row() {  # NAME JSON
  "$python" -c 'import json,sys; r=json.loads(sys.argv[2]); print("%-12s %10.0f %10.0f   (%d spans x %d runs)" % (sys.argv[1], r["ns_per_span"], r["cpu_ns_per_span"], r["spans"], r["runs"]))' "$1" "$2"
  printf '%s\t%s\n' "$1" "$2" >>"$tmp/rows"
}
echo "row          wall ns    cpu ns   per span, median run"
row nullcontext "$("$python" "$bench" nullcontext --spans "$spans" --runs "$runs")"
row noop "$("$python" "$bench" noop --spans "$spans" --runs "$runs")"
row detached "$("$python" "$bench" lstrace --spans "$spans" --runs "$runs")"
if [ "$(id -u)" -eq 0 ]; then
  row floor "$("$build/bench/usdt_floor" --langswarm "$so" -- "$python" "$bench" lstrace --spans "$attached_spans" --runs "$runs" 2>"$tmp/floor.err")"
  row attached "$("$build/userspace/lstrace-bpf" record --force -o "$tmp/trace.jsonl" -- "$python" "$bench" lstrace --spans "$attached_spans" --runs "$runs" 2>"$tmp/record.err")"
  grep -h "spans recorded" "$tmp/record.err" || cat "$tmp/record.err" >&2
else
  echo "(floor and attached rows need root)"
fi
row psutil "$("$python" "$bench" psutil --spans $((attached_spans / 5)) --runs "$runs")"
"$python" - "$tmp/rows" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    name, text = line.rstrip("\n").split("\t", 1)
    rows[name] = json.loads(text)
for name in ("floor", "attached"):
    if name in rows and not rows[name].get("attached"):
        sys.exit(f"python_bench.sh: the {name} row ran detached: the probes were not attached")
d, n = rows["detached"]["cpu_ns_per_span"], rows["noop"]["cpu_ns_per_span"]
print(f"detached / no-op tracer (cpu): {d / n:.2f}")
if "attached" in rows:
    a, f = rows["attached"]["cpu_ns_per_span"], rows["floor"]["cpu_ns_per_span"]
    print(f"attached / floor (cpu): {a / f:.2f}; attached / psutil monitor (cpu): "
          f"{a / rows['psutil']['cpu_ns_per_span']:.3f}")
PY
