#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/recorder_cpu.sh - what the recorder itself costs, and whether one
# consumer keeps up.
#
# Usage:
#
#   bench/recorder_cpu.sh [BUILD_DIR] [--json FILE] [--spans N] [--seconds S]
#                         [--producers LIST] [--latency-runs R] [--consumer-only]
#
#   BUILD_DIR        the build tree (default: <repo>/build); the script
#                    configures it with LSTRACE_BUILD_BENCH=ON and builds
#                    span_bench, consumer_bench and lstrace-bpf in it
#   --json FILE      where to write the results (default:
#                    BUILD_DIR/recorder-cpu.json)
#   --spans N        spans of the recorder-cost run (default 10,000,000; its
#                    trace, ~1.1 KB a span, goes to a file in $TMPDIR, removed
#                    after; the run is refused when the disk has less than
#                    twice that free)
#   --seconds S      seconds of each keeping-up run (default 10)
#   --producers LIST producer threads of the keeping-up runs (default "1 2")
#   --latency-runs R attach-latency runs; the median is reported (default 3)
#   --consumer-only  only the consumer rows (no root, no BPF)
#
# Rows:
#   consumer        bench/consumer_bench: the recorder's consumer stages
#                   (correlate, redact, format, write to a file) on synthetic
#                   events, on one thread (CPU ns per span, spans per
#                   consumer-CPU second) and as the pipeline the recorder
#                   switches to when it falls behind (each thread's CPU ns
#                   per span, all threads', spans per second of the slowest
#                   thread), for span_bench's span (one tag), four tags, an
#                   error in every tenth span, spans nested 8 deep and spans
#                   from 64 threads.  No kernel in the loop: the consumer's
#                   capacity, the figure a model of N producers needs
#                   (docs/performance.md).
#   recorder cost   `lstrace-bpf record -p PID -o FILE` on span_bench emitting
#                   --spans spans back to back: the recorder's user + system
#                   CPU (GNU time; span_bench is not its child) per span, its
#                   peak RSS, and spans recorded / lost.
#   keeping up      for each producer count: span_bench on that many threads
#                   back to back for --seconds, the recorder attached with -p
#                   and its default buffer: spans produced, recorded and lost
#                   (every span accounted for), the recorder's CPU per span
#                   and the share of one core it used.
#   attach latency  from starting `record -p PID` to the first recorded span.
#
# Prints markdown, writes JSON.  Exit status: 0 ok, 1 a run lost spans or
# did not account for every span (results still printed), 2 usage error.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build"
json_out=""
spans=10000000
seconds=10
producers="1 2"
latency_runs=3
consumer_only=false

usage_end="Rows:"
# shellcheck source=bench/bench_lib.sh
source "$here/bench_lib.sh"
while [[ $# -gt 0 ]]; do
    case "$1" in
    --json) [[ $# -ge 2 ]] || usage; json_out=$2; shift 2 ;;
    --spans) [[ $# -ge 2 ]] || usage; spans=$2; shift 2 ;;
    --seconds) [[ $# -ge 2 ]] || usage; seconds=$2; shift 2 ;;
    --producers) [[ $# -ge 2 ]] || usage; producers=$2; shift 2 ;;
    --latency-runs) [[ $# -ge 2 ]] || usage; latency_runs=$2; shift 2 ;;
    --consumer-only) consumer_only=true; shift ;;
    *) other_arg "$1"; shift ;;
    esac
done
for v in "$spans" "$seconds" "$latency_runs" $producers; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || die "expected a positive integer, got '$v'"
done
$consumer_only || [[ $EUID -eq 0 ]] || die "must run as root (BPF programs are loaded), or --consumer-only"

cmake -S "$here/.." -B "$build" -DLSTRACE_BUILD_BENCH=ON >/dev/null || die "cannot configure $build"
cmake --build "$build" -j"$(nproc)" --target span_bench consumer_bench lstrace-bpf >/dev/null ||
    die "cannot build the benchmark in $build"
bench_bin=$(cd "$build/bench" && pwd)/span_bench
consumer_bin=$(cd "$build/bench" && pwd)/consumer_bench
recorder=$(cd "$build/userspace" && pwd)/lstrace-bpf
$consumer_only || [[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lstrace-recorder-cpu.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

problems=()
problem() {
    echo "recorder_cpu.sh: $*" >&2
    problems+=("$*")
}

load_start=$(load_avg)
echo "recorder_cpu.sh: load average at start: $load_start" >&2

# --- consumer rows ------------------------------------------------------------------
declare -a consumer_names=(
    "span_bench's span (1 tag)"
    "4 tags (int, string, double, bool)"
    "1 tag, an error in every tenth span"
    "1 tag, nested 8 deep"
    "1 tag, 64 threads interleaved"
)
declare -a consumer_args=("" "--tags 4" "--errors" "--depth 8" "--threads 64")
consumer_json=""
consumer_rows=""
for i in "${!consumer_names[@]}"; do
    echo "recorder_cpu.sh: consumer: ${consumer_names[$i]} ..." >&2
    # one thread (how the recorder runs), then the pipeline it switches to
    # when it falls behind (consumer | record writer | file writer threads)
    # shellcheck disable=SC2086
    l=$("$consumer_bin" -n 1000000 -r 3 --inline ${consumer_args[$i]})
    # shellcheck disable=SC2086
    p=$("$consumer_bin" -n 1000000 -r 3 ${consumer_args[$i]})
    rate=$(json_field "$l" spans_per_cpu_s)
    prate=$(json_field "$p" spans_per_cpu_s)
    consumer_rows+="| ${consumer_names[$i]} | $(json_field "$l" cpu_ns_per_span) | $(calc "printf \"%.0f\", $rate") | $(json_field "$p" cpu_ns_per_span) / $(json_field "$p" format_thread_ns_per_span) / $(json_field "$p" io_thread_ns_per_span) | $(json_field "$p" process_cpu_ns_per_span) | $(calc "printf \"%.0f\", $prate") | $(json_field "$l" bytes_per_record) |"$'\n'
    [[ $i -ne 0 ]] || { span_rate=$rate; pipeline_rate=$prate; }
    consumer_json+="${consumer_json:+,}{\"case\":\"${consumer_names[$i]}\",\"args\":\"${consumer_args[$i]}\",\"one_thread\":$l,\"pipeline\":$p}"
done

cost_json=null
keep_json=""
latency_ms=null
latencies=""
if ! $consumer_only; then
    # --- recorder cost: N spans, -p, JSONL to a file ---------------------------------
    need_kib=$((spans * 23 / 10))  # twice ~1.15 KB a span
    free_kib=$(df -Pk "$tmp" | awk 'NR == 2 { print $4 }')
    if [[ $free_kib -lt $need_kib ]]; then
        die "$((free_kib / 1024)) MiB free in $tmp: the $spans-span trace needs about $((need_kib / 2048)) MiB (twice that free); use --spans"
    fi
    echo "recorder_cpu.sh: recorder cost: $spans spans, record -p, JSONL to a file ..." >&2
    "$bench_bin" attached -n "$spans" -r 1 --warmup 0 --pause-ms 0 --wait 30 >"$tmp/cost.bench" &
    pid=$!
    rc=0
    /usr/bin/time -f 'TIME %U %S %M %e' -o "$tmp/cost.time" \
        "$recorder" record -p "$pid" -o "$tmp/cost.jsonl" 2>"$tmp/cost.err" || rc=$?
    wait "$pid" || rc=$?
    [[ $rc -eq 0 ]] || { cat "$tmp/cost.err" >&2; die "the recorder cost run failed"; }
    read -r _ user sys rss_kib wall <"$tmp/cost.time"
    s=$(summary_of "$tmp/cost.err")
    recorded=$(sum_recorded "$s")
    lost=$(sum_num "$s" 'spans lost')
    lines=$(wc -l <"$tmp/cost.jsonl")
    bytes=$(stat -c %s "$tmp/cost.jsonl")
    rm -f "$tmp/cost.jsonl"
    [[ $((recorded + lost)) -eq $spans ]] || problem "recorder cost run: $recorded recorded + $lost lost != $spans"
    [[ $lines -eq $recorded ]] || problem "recorder cost run: the trace holds $lines records, the summary says $recorded"
    cost_ns=$(calc "printf \"%.0f\", ($user + $sys) * 1e9 / $recorded")
    cost_user_ns=$(calc "printf \"%.0f\", $user * 1e9 / $recorded")
    cost_sys_ns=$(calc "printf \"%.0f\", $sys * 1e9 / $recorded")
    cost_rss_mib=$(calc "printf \"%.1f\", $rss_kib / 1024")
    cost_json="{\"spans\":$spans,\"recorded\":$recorded,\"lost\":$lost,\"user_s\":$user,\"sys_s\":$sys,\"wall_s\":$wall,\"cpu_ns_per_span\":$cost_ns,\"user_ns_per_span\":$cost_user_ns,\"sys_ns_per_span\":$cost_sys_ns,\"peak_rss_mib\":$cost_rss_mib,\"trace_bytes\":$bytes}"

    # --- keeping up: T producers back to back, default buffer ------------------------
    keep_rows=""
    for t in $producers; do
        echo "recorder_cpu.sh: keeping up: $t producer thread(s) x $seconds s, default buffer ..." >&2
        "$bench_bin" attached --duration "$seconds" --threads "$t" --wait 30 >"$tmp/keep.bench" &
        pid=$!
        rc=0
        /usr/bin/time -f 'TIME %U %S %M %e' -o "$tmp/keep.time" \
            "$recorder" record -p "$pid" -o "$tmp/keep.jsonl" 2>"$tmp/keep.err" || rc=$?
        wait "$pid" || rc=$?
        [[ $rc -eq 0 ]] || { cat "$tmp/keep.err" "$tmp/keep.bench" >&2; die "the $t-producer run failed"; }
        read -r _ user sys rss_kib wall <"$tmp/keep.time"
        l=$(grep -m1 '^{"mode":"attached"' "$tmp/keep.bench")
        s=$(summary_of "$tmp/keep.err")
        produced=$(json_field "$l" total_spans)
        rate=$(json_field "$l" spans_per_s)
        recorded=$(sum_recorded "$s")
        lost=$(sum_num "$s" 'spans lost')
        tlost=$(sum_num "$s" 'tags\/errors lost')
        lines=$(wc -l <"$tmp/keep.jsonl")
        rm -f "$tmp/keep.jsonl"
        [[ $((recorded + lost)) -eq $produced ]] || problem "$t producers: $recorded recorded + $lost lost != $produced produced"
        [[ $lines -eq $recorded ]] || problem "$t producers: the trace holds $lines records, the summary says $recorded"
        [[ $lost -eq 0 && $tlost -eq 0 ]] || problem "$t producers: $lost spans and $tlost tags/errors lost"
        per_span=$(calc "printf \"%.0f\", ($user + $sys) * 1e9 / ($recorded > 0 ? $recorded : 1)")
        core_share=$(calc "printf \"%.2f\", ($user + $sys) / $seconds")
        keep_rows+="| $t | $(calc "printf \"%.0f\", $rate") | $produced | $recorded | $lost | $per_span | $core_share |"$'\n'
        keep_json+="${keep_json:+,}{\"producers\":$t,\"seconds\":$seconds,\"spans_per_s\":$rate,\"produced\":$produced,\"recorded\":$recorded,\"lost\":$lost,\"tags_lost\":$tlost,\"recorder_user_s\":$user,\"recorder_sys_s\":$sys,\"recorder_cpu_ns_per_span\":$per_span,\"recorder_cores\":$core_share,\"peak_rss_mib\":$(calc "printf \"%.1f\", $rss_kib / 1024")}"
    done

    # --- attach latency -----------------------------------------------------------------
    for ((i = 1; i <= latency_runs; i++)); do
        echo "recorder_cpu.sh: attach latency $i/$latency_runs ..." >&2
        "$bench_bin" stream --duration 6 >"$tmp/latency.bench" 2>&1 &
        pid=$!
        sleep 1
        t0=$(date +%s%N)
        rc=0
        "$recorder" record -p "$pid" -o "$tmp/latency.jsonl" 2>"$tmp/latency.err" || rc=$?
        wait "$pid" || rc=$?
        first=""
        [[ $rc -ne 0 ]] || first=$(head -n1 "$tmp/latency.jsonl" | sed -n 's/^{"timestamp":"\([^"]*\)".*/\1/p')
        rm -f "$tmp/latency.jsonl"
        if [[ -z $first ]]; then
            problem "attach latency run $i failed (exit status $rc)"
            continue
        fi
        latencies+=" $(calc "printf \"%.1f\", ($(date -d "$first" +%s%N) - $t0) / 1e6")"
    done
    [[ -z $latencies ]] || latency_ms=$(median <<<"$latencies")
fi
load_end=$(load_avg)

# --- report -------------------------------------------------------------------------
ncpu=$(nproc)
cpu_model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)
date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo
echo "## The recorder's own cost ($date_utc)"
echo
echo "Machine: $(uname -r), $ncpu CPUs (${cpu_model:-unknown}); load average $load_start at start, $load_end at end"
echo
echo "| consumer stages on synthetic events | one thread: CPU ns/span | spans/s, one core | pipeline: consumer / format / file thread ns/span | pipeline CPU ns/span, all threads | pipeline spans/s (slowest thread, a core each) | bytes/record |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s' "$consumer_rows"
if ! $consumer_only; then
    echo
    echo "| recorder, \`record -p\`, JSONL to a file | |"
    echo "|---|---:|"
    echo "| CPU per span (user + system), $spans spans | $cost_ns ns ($cost_user_ns + $cost_sys_ns) |"
    echo "| peak RSS, $spans spans | $cost_rss_mib MiB |"
    echo "| spans recorded / lost | $(json_field "$cost_json" recorded) / $(json_field "$cost_json" lost) |"
    echo "| attach latency (command to first recorded span), median of $latency_runs | ${latency_ms} ms (runs:${latencies}) |"
    echo
    echo "| producers, ${seconds} s back to back, default buffer | spans/s | produced | recorded | lost | recorder CPU ns/span | recorder cores |"
    echo "|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s' "$keep_rows"
fi
echo
echo "Model: one consumer thread sustains about $(calc "printf \"%.0f\", $span_rate") spans/s of span_bench's spans per core of its own (consumer row 1), the pipeline the recorder switches to when it falls behind about $(calc "printf \"%.0f\", $pipeline_rate") spans/s with a core for each of its three threads; producers need (producers x spans/s) below that."

verified=true
[[ ${#problems[@]} -eq 0 ]] || verified=false
problems_json=""
for p in ${problems[@]+"${problems[@]}"}; do
    problems_json+="${problems_json:+,}\"${p//\"/\\\"}\""
done
json_out=${json_out:-$build/recorder-cpu.json}
mkdir -p "$(dirname "$json_out")"
cat >"$json_out.tmp" <<EOF
{
  "date": "$date_utc",
  "machine": {"kernel": "$(uname -r)", "nproc": $ncpu, "load_start": "$load_start", "load_end": "$load_end"},
  "consumer": [$consumer_json],
  "recorder_cost": $cost_json,
  "keeping_up": [$keep_json],
  "attach_latency_ms": {"median": $latency_ms, "runs": [$(echo $latencies | sed 's/ /,/g')]},
  "verified": $verified,
  "problems": [$problems_json]
}
EOF
mv "$json_out.tmp" "$json_out"
echo
echo "Results written to $json_out"
$verified || exit 1
