#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/run.sh - per-span cost of the lstrace probe API, in one invocation.
#
# Usage (as root: the attached mode runs under `lstrace-bpf record`):
#
#   bench/run.sh [BUILD_DIR] [--json FILE] [--runs R] [--spans N]
#                [--rusage-spans N] [--attached-spans N] [--buffer-size MiB]
#                [--keep-trace DIR]
#
#   BUILD_DIR         a configured and built tree holding bench/span_bench and
#                     userspace/lstrace-bpf (default: <repo>/build); this
#                     script builds nothing, e.g. first run
#                       cmake -S . -B build && cmake --build build -j \
#                           --target span_bench lstrace-bpf
#   --json FILE       where to write the results (default:
#                     BUILD_DIR/bench-results.json)
#   --runs R          timed runs per mode; the median is reported (default 5)
#   --spans N         spans per run of baseline, detached, detached-c
#                     (default: span_bench's, 2,000,000)
#   --rusage-spans N  spans per run of rusage (default: span_bench's, 200,000)
#   --attached-spans N  spans per run of attached (default: span_bench's,
#                     50,000)
#   --buffer-size MiB recorder ring buffer for the attached run (default 128;
#                     the recorder's own default, 16, overflows here: a span is
#                     ~1 KiB of events and a tight loop produces them faster
#                     than the recorder drains them on a small machine)
#   --keep-trace DIR  keep the attached run's JSONL trace in DIR
#
# Modes (see bench/span_bench.cpp): baseline (probes compiled out), detached
# (real header, no recorder), detached-c (the C API, no recorder), rusage
# (getrusage(RUSAGE_THREAD) at span begin and end, in-process), floor (the
# attached loop under bench/usdt_floor: count-only BPF on the same probe
# sites), attached
# (real header under `lstrace-bpf record -- span_bench attached`; launch mode
# attaches before the program runs).  Each span is
#   auto span = tracer.trace_operation("bench", "op", "benchmark span");
#   span.set_tag("i", i);
#
# Times are wall clock (CLOCK_MONOTONIC) around each run; the thread's CPU
# time per span is shown too (it differs when something else, such as the
# recorder draining its buffer, shares the benchmark's CPU, or on a noisy VM).
# Prints a markdown table and machine info to stdout and writes the same as
# JSON.  The attached run is verified: the recorder must report 0 spans and
# 0 tags lost, and the trace must hold one record, tagged "i", per span the
# program ran (warm-up included).  Exit status: 0 ok, 1 verification failed
# (results are still printed and written), 2 usage error.
# Needs only bash, coreutils, sed, awk and grep.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build"
json_out=""  # default: $build/bench-results.json, set after parsing
runs=5
spans=""
rusage_spans=""
attached_spans=""
buffer_mib=128
keep_trace=""

usage() {
    sed -n '4,/^# Modes/{/^# Modes/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
}
die() {
    echo "run.sh: $*" >&2
    exit 2
}

positional=0
while [[ $# -gt 0 ]]; do
    case "$1" in
    --json) [[ $# -ge 2 ]] || usage; json_out=$2; shift 2 ;;
    --runs) [[ $# -ge 2 ]] || usage; runs=$2; shift 2 ;;
    --spans) [[ $# -ge 2 ]] || usage; spans=$2; shift 2 ;;
    --rusage-spans) [[ $# -ge 2 ]] || usage; rusage_spans=$2; shift 2 ;;
    --attached-spans) [[ $# -ge 2 ]] || usage; attached_spans=$2; shift 2 ;;
    --buffer-size) [[ $# -ge 2 ]] || usage; buffer_mib=$2; shift 2 ;;
    --keep-trace) [[ $# -ge 2 ]] || usage; keep_trace=$2; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "run.sh: unknown option '$1'" >&2; usage ;;
    *)
        [[ $positional -eq 0 ]] || die "unexpected argument '$1'"
        build=$1
        positional=1
        shift
        ;;
    esac
done
for v in "$runs" ${spans:+"$spans"} ${rusage_spans:+"$rusage_spans"} \
    ${attached_spans:+"$attached_spans"} "$buffer_mib"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || die "expected a positive integer, got '$v'"
done

[[ $EUID -eq 0 ]] || die "must run as root (the attached mode loads BPF programs)"
bench_bin="$build/bench/span_bench"
floor_bin="$build/bench/usdt_floor"
recorder="$build/userspace/lstrace-bpf"
[[ -x $bench_bin ]] || die "$bench_bin not found: build the span_bench target first"
[[ -x $recorder ]] || die "$recorder not found: build the lstrace-bpf target first"
[[ -x $floor_bin ]] || die "$floor_bin not found: build the usdt_floor target first"
bench_bin=$(cd "$(dirname "$bench_bin")" && pwd)/span_bench
recorder=$(cd "$(dirname "$recorder")" && pwd)/lstrace-bpf

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lstrace-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# json_field LINE NAME: the raw value of a top-level scalar field.
json_field() {
    sed -n "s/.*\"$2\":\(\"[^\"]*\"\|[^,}]*\).*/\1/p" <<<"$1" | tr -d '"'
}
# json_str STRING: a JSON string literal.
json_str() {
    local s
    s=$(printf '%s' "$1" | tr -d '\000-\037')
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

common=(-r "$runs")
declare -A line
for mode in baseline detached detached-c rusage; do
    args=("${common[@]}")
    if [[ $mode == rusage ]]; then
        [[ -z $rusage_spans ]] || args+=(-n "$rusage_spans")
    else
        [[ -z $spans ]] || args+=(-n "$spans")
    fi
    echo "run.sh: $mode ..." >&2
    line[$mode]=$("$bench_bin" "$mode" "${args[@]}")
done

# attached: the recorder launches span_bench with its probes already armed;
# span_bench's stdout (the timing) passes through, the summary is on stderr.
args=("${common[@]}")
[[ -z $attached_spans ]] || args+=(-n "$attached_spans")
echo "run.sh: attached (under lstrace-bpf record -b $buffer_mib) ..." >&2
rec_rc=0
"$recorder" record -b "$buffer_mib" -o "$tmp/bench.jsonl" -- "$bench_bin" attached "${args[@]}" \
    >"$tmp/attached.out" 2>"$tmp/record.err" || rec_rc=$?
line[attached]=$(grep -m1 '^{"mode":"attached"' "$tmp/attached.out" || true)
summary=$(grep -m1 '^lstrace-bpf: [0-9]* spans recorded' "$tmp/record.err" || true)
if [[ $rec_rc -ne 0 || -z ${line[attached]} || -z $summary ]]; then
    echo "run.sh: the attached run failed (recorder exit status $rec_rc):" >&2
    cat "$tmp/attached.out" "$tmp/record.err" >&2
    exit 1
fi

# floor: the same span_bench run with a count-only BPF program on the same
# probe sites (bench/usdt_floor): what any USDT tracer pays for these hits.
echo "run.sh: floor (count-only BPF on the same probe sites) ..." >&2
floor_rc=0
"$floor_bin" "$bench_bin" -- "$bench_bin" attached "${args[@]}" \
    >"$tmp/floor.out" 2>"$tmp/floor.err" || floor_rc=$?
line[floor]=$(grep -m1 '^{"mode":"attached"' "$tmp/floor.out" | sed 's/"mode":"attached"/"mode":"floor"/' || true)
if [[ $floor_rc -ne 0 || -z ${line[floor]} ]]; then
    echo "run.sh: the floor run failed (exit status $floor_rc):" >&2
    cat "$tmp/floor.out" "$tmp/floor.err" >&2
    exit 1
fi

# The recorder's summary:
#   lstrace-bpf: N spans recorded to F in S s, L spans lost, O still open,
#   E ended without a recorded begin, T tags/errors lost; command exit status X
num_before() { sed -n "s/.* \([0-9][0-9]*\) $1.*/\1/p" <<<"$summary"; }
rec_recorded=$(sed -n 's/^lstrace-bpf: \([0-9]*\) spans recorded.*/\1/p' <<<"$summary")
rec_lost=$(num_before 'spans lost')
rec_open=$(num_before 'still open')
rec_orphan_ends=$(num_before 'ended without a recorded begin')
rec_tags_lost=$(num_before 'tags\/errors lost')
rec_command=$(sed -n 's/.*; command \(.*\)$/\1/p' <<<"$summary")
jsonl_records=$(wc -l <"$tmp/bench.jsonl")
jsonl_tagged=$(grep -c '"tags":{[^}]*"i":[0-9]' "$tmp/bench.jsonl" || true)
expected=$(json_field "${line[attached]}" total_spans)

problems=()
[[ $rec_lost == 0 ]] || problems+=("recorder lost $rec_lost spans")
[[ $rec_tags_lost == 0 ]] || problems+=("recorder lost $rec_tags_lost tags/errors")
[[ $rec_open == 0 ]] || problems+=("$rec_open spans still open")
[[ $rec_orphan_ends == 0 ]] || problems+=("$rec_orphan_ends ends without a recorded begin")
[[ $rec_recorded == "$expected" ]] || problems+=("recorder recorded $rec_recorded spans, expected $expected")
[[ $jsonl_records == "$expected" ]] || problems+=("trace holds $jsonl_records records, expected $expected")
[[ $jsonl_tagged == "$expected" ]] || problems+=("trace holds $jsonl_tagged records tagged i, expected $expected")
[[ $rec_command == "exit status 0" ]] || problems+=("span_bench: $rec_command")
verified=true
[[ ${#problems[@]} -eq 0 ]] || verified=false

if [[ -n $keep_trace ]]; then
    mkdir -p "$keep_trace"
    cp "$tmp/bench.jsonl" "$keep_trace/bench.jsonl"
fi

# --- report -------------------------------------------------------------------
kernel=$(uname -r)
ncpu=$(nproc)
cpu_model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)
[[ -n $cpu_model ]] || cpu_model=$(sed -n 's/^\(Hardware\|cpu model\|uarch\)[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)
[[ -n $cpu_model ]] || cpu_model=unknown
date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)

base=$(json_field "${line[baseline]}" median_ns_per_span)
det=$(json_field "${line[detached]}" median_ns_per_span)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "null" }'; }
over() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
# fmt_ns: a readable figure (3 significant digits below 100, integer above).
fmt_ns() { awk -v v="$1" 'BEGIN { if (v < 10) printf "%.3f", v; else if (v < 100) printf "%.2f", v; else printf "%.0f", v }'; }

modes=(baseline detached detached-c rusage floor attached)
declare -A desc=(
    [baseline]="probe code compiled out"
    [detached]="lstrace.hpp, no recorder"
    [detached-c]="lstrace.h C API, no recorder"
    [rusage]="getrusage(RUSAGE_THREAD) at begin+end"
    [floor]="same probe sites, count-only BPF"
    [attached]="lstrace.hpp under lstrace-bpf record"
)

echo
echo "## lstrace per-span cost ($date_utc)"
echo
echo "Machine: kernel $kernel, $ncpu CPUs, $cpu_model"
echo
echo "| mode | ns/span (median) | ratio vs baseline | ratio vs detached | ns over baseline | thread CPU ns/span (median) |"
echo "|---|---:|---:|---:|---:|---:|"
results_json=""
for m in "${modes[@]}"; do
    l=${line[$m]}
    med=$(json_field "$l" median_ns_per_span)
    rb=$(ratio "$med" "$base")
    rd=$(ratio "$med" "$det")
    ob=$(over "$med" "$base")
    cpu=$(json_field "$l" median_cpu_ns_per_span)
    printf '| %s (%s) | %s | %s× | %s× | %s | %s |\n' "$m" "${desc[$m]}" "$(fmt_ns "$med")" \
        "$rb" "$rd" "$(fmt_ns "$ob")" "$(fmt_ns "$cpu")"
    results_json+="${results_json:+,}${l%\}},\"ratio_vs_baseline\":$rb,\"ratio_vs_detached\":$rd,\"ns_over_baseline\":$ob}"
done
echo
for m in "${modes[@]}"; do
    l=${line[$m]}
    printf -- '- %s: %s spans × %s runs (+%s warm-up), all runs ns/span: %s\n' "$m" \
        "$(json_field "$l" spans)" "$(json_field "$l" runs)" "$(json_field "$l" warmup_spans)" \
        "$(sed -n 's/.*"all_ns_per_span":\[\([^]]*\)\].*/\1/p' <<<"$l" | sed 's/,/, /g')"
done
echo "- attached / floor: $(ratio "$(json_field "${line[attached]}" median_ns_per_span)" "$(json_field "${line[floor]}" median_ns_per_span)")× (same run)"
echo "- recorder (attached run, -b $buffer_mib MiB): $rec_recorded spans recorded, $rec_lost spans lost," \
    "$rec_tags_lost tags/errors lost, $rec_open still open; trace records: $jsonl_records" \
    "(tagged: $jsonl_tagged), expected $expected; command $rec_command"
if $verified; then
    echo "- verification: OK"
else
    printf -- '- verification: FAILED:'
    printf ' %s;' "${problems[@]}"
    echo
fi

problems_json=""
for p in ${problems[@]+"${problems[@]}"}; do
    problems_json+="${problems_json:+,}$(json_str "$p")"
done
json_out=${json_out:-$build/bench-results.json}
mkdir -p "$(dirname "$json_out")"
cat >"$json_out.tmp" <<EOF
{
  "date": $(json_str "$date_utc"),
  "machine": {"kernel": $(json_str "$kernel"), "nproc": $ncpu, "cpu_model": $(json_str "$cpu_model")},
  "results": [$results_json],
  "recorder": {"buffer_mib": $buffer_mib, "spans_recorded": $rec_recorded, "spans_lost": $rec_lost, "tags_errors_lost": $rec_tags_lost, "still_open": $rec_open, "ends_without_begin": $rec_orphan_ends, "jsonl_records": $jsonl_records, "jsonl_records_tagged": $jsonl_tagged, "expected_records": $expected, "command": $(json_str "$rec_command"), "summary": $(json_str "$summary")},
  "verified": $verified,
  "problems": [$problems_json]
}
EOF
mv "$json_out.tmp" "$json_out"
echo
echo "Results written to $json_out"
$verified || exit 1
