#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/run.sh - the cost of lstrace per span, against the floor and peers,
# in one invocation.
#
# Usage (as root: BPF programs are loaded):
#
#   bench/run.sh [BUILD_DIR] [--json FILE] [--runs R] [--spans N]
#                [--rusage-spans N] [--attached-spans N] [--buffer-size MiB]
#                [--recorder-spans N] [--rss-spans N] [--sweep-seconds S]
#                [--zero-loss-seconds S] [--latency-runs R] [--no-bpftrace]
#                [--no-pin] [--keep-trace DIR] [--no-recorder-cpu]
#
#   BUILD_DIR         the build tree (default: <repo>/build, as tools/build.sh
#                     makes it); the script configures it with
#                     LSTRACE_BUILD_BENCH=ON and builds bench/span_bench,
#                     bench/usdt_floor and userspace/lstrace-bpf in it
#   --json FILE       where to write the results (default:
#                     BUILD_DIR/bench-results.json)
#   --runs R          timed runs per mode; the median is reported (default 5)
#   --spans N         spans per run of baseline, detached, detached-c
#                     (default: span_bench's, 2,000,000)
#   --rusage-spans N  spans per run of rusage (default: span_bench's, 200,000)
#   --attached-spans N  spans per run of floor, attached and bpftrace
#                     (default: span_bench's, 50,000)
#   --buffer-size MiB recorder ring buffer for the timed attached run only
#                     (default 128, so that a tight loop timed while the
#                     recorder drains never loses events, which would flatter
#                     the figure); every other recorder run uses the
#                     recorder's default (16 MiB)
#   --recorder-spans N  spans of the run measuring the recorder's own CPU time
#                     and peak RSS, JSONL to a file (default 1,000,000)
#   --rss-spans N     spans of the long run measuring the recorder's peak RSS
#                     (default 10,000,000; JSONL to stdout, into /dev/null,
#                     to spare the disk ~9 GB; 0 skips it)
#   --sweep-seconds S seconds per producer-sweep run (1, 2, 4 threads;
#                     default 3)
#   --zero-loss-seconds S  one producer back to back with default buffers
#                     (default 10)
#   --latency-runs R  attach-latency measurements; the median is reported
#                     (default 3)
#   --no-bpftrace     skip the bpftrace row
#   --no-pin          do not pin: by default (with 2 CPUs or more) the timed
#                     loop of every per-span row runs on CPU 0 and the tracer
#                     process (recorder, usdt_floor, bpftrace) on CPU 1, so a
#                     tracer's consumer never takes the benchmark's CPU (on
#                     a 2-core machine the scheduler otherwise often puts
#                     both on one CPU, and wall time counts the consumer)
#   --keep-trace DIR  keep the attached run's JSONL trace in DIR
#   --no-recorder-cpu skip bench/recorder_cpu.sh, run at the end: the
#                     recorder's consumer capacity, its CPU and memory over
#                     10 million spans, 1 and 2 producers kept up with
#
# What it measures (bench/span_bench.cpp has the loop; each span is
#   auto span = tracer.trace_operation("bench", "op", "benchmark span");
#   span.set_tag("i", i);
# so an attached span hits three probe sites: span_begin, span_tag, span_end):
#
#   baseline    probe code compiled out
#   detached    <lstrace/lstrace.hpp>, no tracer attached
#   detached-c  the C API (lstrace.h), no tracer attached
#   rusage      in-process getrusage(RUSAGE_THREAD) at span begin and end
#   floor       the same probe sites under a BPF program that only counts
#               hits (bench/usdt_floor): what any USDT tracer pays
#   attached    under `lstrace-bpf record`, every figure on, JSONL to a file
#   bpftrace    under Debian's bpftrace running bench/lstrace_equiv.bt: the
#               same sites, per-span on-CPU time from sched_switch, one
#               output line per span, to a file
#
# Times are wall clock around each run (CLOCK_MONOTONIC), the median of R
# runs; the thread's CPU time per span is shown too (with two cores the
# tracer's consumer shares them with the benchmark).  Ratios compare figures
# of this one invocation.  Then, with the recorder's default buffer:
#
#   recorder cost   its own CPU time (user + system) and peak RSS per million
#                   spans, attached with -p to a span_bench run
#   peak RSS        of a --rss-spans recording (streaming: no growth)
#   producer sweep  spans/s from 1, 2 and 4 threads back to back; every span
#                   is either recorded or counted lost (checked exactly)
#   zero loss       one thread back to back for --zero-loss-seconds: 0 lost
#   attach latency  from starting `lstrace-bpf record -p PID` to the begin of
#                   the first recorded span, with PID emitting spans
#
# Prints markdown tables, the machine and the load average, and writes the
# same as JSON.  Exit status: 0 ok, 1 a verification failed (results are
# still printed and written), 2 usage error.  Needs bash, coreutils, sed,
# awk, grep, GNU time (/usr/bin/time) and, for its row, bpftrace; mounts
# tracefs if bpftrace needs it and it is not mounted.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build"
json_out=""  # default: $build/bench-results.json, set after parsing
runs=5
spans=""
rusage_spans=""
attached_spans=""
buffer_mib=128
recorder_spans=1000000
rss_spans=10000000
sweep_s=3
zero_loss_s=10
latency_runs=3
with_bpftrace=true
pin=true
keep_trace=""
recorder_cpu=true

usage() {
    sed -n '4,/^# What it measures/{/^# What it measures/d;s/^# \{0,1\}//;p}' "$0" >&2
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
    --recorder-spans) [[ $# -ge 2 ]] || usage; recorder_spans=$2; shift 2 ;;
    --rss-spans) [[ $# -ge 2 ]] || usage; rss_spans=$2; shift 2 ;;
    --sweep-seconds) [[ $# -ge 2 ]] || usage; sweep_s=$2; shift 2 ;;
    --zero-loss-seconds) [[ $# -ge 2 ]] || usage; zero_loss_s=$2; shift 2 ;;
    --latency-runs) [[ $# -ge 2 ]] || usage; latency_runs=$2; shift 2 ;;
    --no-bpftrace) with_bpftrace=false; shift ;;
    --no-pin) pin=false; shift ;;
    --keep-trace) [[ $# -ge 2 ]] || usage; keep_trace=$2; shift 2 ;;
    --no-recorder-cpu) recorder_cpu=false; shift ;;
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
    ${attached_spans:+"$attached_spans"} "$buffer_mib" "$recorder_spans" "$sweep_s" \
    "$zero_loss_s" "$latency_runs"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || die "expected a positive integer, got '$v'"
done
[[ $rss_spans =~ ^[0-9]+$ ]] || die "expected a number, got '$rss_spans'"

[[ $EUID -eq 0 ]] || die "must run as root (BPF programs are loaded)"
# the benchmark is built only when asked for
cmake -S "$here/.." -B "$build" -DLSTRACE_BUILD_BENCH=ON >/dev/null ||
    die "cannot configure $build"
cmake --build "$build" -j"$(nproc)" --target span_bench usdt_floor lstrace-bpf >/dev/null ||
    die "cannot build the benchmark in $build"
bench_bin="$build/bench/span_bench"
floor_bin="$build/bench/usdt_floor"
recorder="$build/userspace/lstrace-bpf"
for b in "$bench_bin" "$floor_bin" "$recorder"; do
    [[ -x $b ]] || die "$b not found: build first (tools/build.sh)"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"
bench_bin=$(cd "$(dirname "$bench_bin")" && pwd)/span_bench
floor_bin=$(cd "$(dirname "$floor_bin")" && pwd)/usdt_floor
recorder=$(cd "$(dirname "$recorder")" && pwd)/lstrace-bpf
if $with_bpftrace && ! command -v bpftrace >/dev/null; then
    die "bpftrace not found (apt-get install bpftrace, or --no-bpftrace)"
fi

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
calc() { awk "BEGIN { $1 }"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "null" }'; }
over() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
# fmt_ns: a readable figure (3 significant digits below 100, integer above).
fmt_ns() { awk -v v="$1" 'BEGIN { if (v < 10) printf "%.3f", v; else if (v < 100) printf "%.2f", v; else printf "%.0f", v }'; }
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

problems=()
problem() {
    echo "run.sh: verification: $*" >&2
    problems+=("$*")
}

# The recorder's summary:
#   lstrace-bpf: N spans recorded to F in S s, L spans lost, O still open,
#   A aborted by an exit, E ended without a recorded begin, T tags/errors
#   lost[; command exit status X]
summary_of() { grep -m1 '^lstrace-bpf: [0-9]* spans recorded' "$1" || true; }
sum_recorded() { sed -n 's/^lstrace-bpf: \([0-9]*\) spans recorded.*/\1/p' <<<"$1"; }
sum_num() { sed -n "s/.* \([0-9][0-9]*\) $2.*/\1/p" <<<"$1"; }

load_avg() { cut -d' ' -f1-3 /proc/loadavg; }

# Pinning: the benchmark loop on CPU 0, the tracer on CPU 1.
bench_cpu=()
on_tracer_cpu=()
if $pin && [[ $(nproc) -ge 2 ]]; then
    bench_cpu=(--cpu 0)
    on_tracer_cpu=(taskset -c 1)
else
    pin=false
fi

load_start=$(load_avg)
echo "run.sh: load average at start: $load_start" >&2

# --- 1. short modes -------------------------------------------------------------
declare -A line
for mode in baseline detached detached-c rusage; do
    args=(-r "$runs" ${bench_cpu[@]+"${bench_cpu[@]}"})
    if [[ $mode == rusage ]]; then
        [[ -z $rusage_spans ]] || args+=(-n "$rusage_spans")
    else
        [[ -z $spans ]] || args+=(-n "$spans")
    fi
    echo "run.sh: $mode ..." >&2
    line[$mode]=$("$bench_bin" "$mode" "${args[@]}")
done

att_args=(-r "$runs" ${bench_cpu[@]+"${bench_cpu[@]}"})
[[ -z $attached_spans ]] || att_args+=(-n "$attached_spans")

# --- 2. floor: count-only BPF on the same probe sites ----------------------------
echo "run.sh: floor (count-only BPF on the same probe sites) ..." >&2
floor_rc=0
${on_tracer_cpu[@]+"${on_tracer_cpu[@]}"} "$floor_bin" "$bench_bin" -- "$bench_bin" attached "${att_args[@]}" \
    >"$tmp/floor.out" 2>"$tmp/floor.err" || floor_rc=$?
line[floor]=$(grep -m1 '^{"mode":"attached"' "$tmp/floor.out" | sed 's/"mode":"attached"/"mode":"floor"/' || true)
if [[ $floor_rc -ne 0 || -z ${line[floor]} ]]; then
    echo "run.sh: the floor run failed (exit status $floor_rc):" >&2
    cat "$tmp/floor.out" "$tmp/floor.err" >&2
    exit 1
fi

# --- 3. attached: lstrace-bpf record, launch mode -------------------------------
echo "run.sh: attached (under lstrace-bpf record -b $buffer_mib) ..." >&2
rec_rc=0
${on_tracer_cpu[@]+"${on_tracer_cpu[@]}"} "$recorder" record -b "$buffer_mib" -o "$tmp/bench.jsonl" -- "$bench_bin" attached "${att_args[@]}" \
    >"$tmp/attached.out" 2>"$tmp/record.err" || rec_rc=$?
line[attached]=$(grep -m1 '^{"mode":"attached"' "$tmp/attached.out" || true)
summary=$(summary_of "$tmp/record.err")
if [[ $rec_rc -ne 0 || -z ${line[attached]} || -z $summary ]]; then
    echo "run.sh: the attached run failed (recorder exit status $rec_rc):" >&2
    cat "$tmp/attached.out" "$tmp/record.err" >&2
    exit 1
fi
rec_recorded=$(sum_recorded "$summary")
rec_lost=$(sum_num "$summary" 'spans lost')
rec_open=$(sum_num "$summary" 'still open')
rec_orphan_ends=$(sum_num "$summary" 'ended without a recorded begin')
rec_tags_lost=$(sum_num "$summary" 'tags\/errors lost')
rec_command=$(sed -n 's/.*; command \(.*\)$/\1/p' <<<"$summary")
jsonl_records=$(wc -l <"$tmp/bench.jsonl")
jsonl_tagged=$(grep -c '"tags":{[^}]*"i":[0-9]' "$tmp/bench.jsonl" || true)
expected=$(json_field "${line[attached]}" total_spans)
[[ $rec_lost == 0 ]] || problem "attached: recorder lost $rec_lost spans"
[[ $rec_tags_lost == 0 ]] || problem "attached: recorder lost $rec_tags_lost tags/errors"
[[ $rec_open == 0 ]] || problem "attached: $rec_open spans still open"
[[ $rec_orphan_ends == 0 ]] || problem "attached: $rec_orphan_ends ends without a recorded begin"
[[ $rec_recorded == "$expected" ]] || problem "attached: recorded $rec_recorded spans, expected $expected"
[[ $jsonl_records == "$expected" ]] || problem "attached: trace holds $jsonl_records records, expected $expected"
[[ $jsonl_tagged == "$expected" ]] || problem "attached: $jsonl_tagged records tagged i, expected $expected"
[[ $rec_command == "exit status 0" ]] || problem "attached: span_bench $rec_command"
if [[ -n $keep_trace ]]; then
    mkdir -p "$keep_trace"
    cp "$tmp/bench.jsonl" "$keep_trace/bench.jsonl"
fi

# --- 4. bpftrace: the closest equivalent script ----------------------------------
bt_lines=null
bt_lost_events=null
bt_version=null
if $with_bpftrace; then
    echo "run.sh: bpftrace (bench/lstrace_equiv.bt) ..." >&2
    if [[ ! -d /sys/kernel/tracing/events ]]; then
        mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
    fi
    sed "s#BIN#$bench_bin#g" "$here/lstrace_equiv.bt" >"$tmp/equiv.bt"
    bt_rc=0
    # bpftrace's own output (-o) and span_bench's stdout stay apart
    ${on_tracer_cpu[@]+"${on_tracer_cpu[@]}"} bpftrace -B full -o "$tmp/bpftrace.txt" -c "$bench_bin attached ${att_args[*]}" "$tmp/equiv.bt" \
        >"$tmp/bpftrace.bench" 2>"$tmp/bpftrace.err" || bt_rc=$?
    line[bpftrace]=$(grep -h -m1 '^{"mode":"attached"' "$tmp/bpftrace.bench" "$tmp/bpftrace.txt" |
        head -n1 | sed 's/"mode":"attached"/"mode":"bpftrace"/' || true)
    if [[ $bt_rc -ne 0 || -z ${line[bpftrace]} ]]; then
        echo "run.sh: the bpftrace run failed (exit status $bt_rc):" >&2
        cat "$tmp/bpftrace.err" >&2
        exit 1
    fi
    bt_lines=$(grep -c '^[0-9a-f]* bench ' "$tmp/bpftrace.txt" || true)
    bt_lost_events=$(sed -n 's/.*Lost \([0-9]*\) events.*/\1/p' "$tmp/bpftrace.txt" "$tmp/bpftrace.err" |
        awk '{ s += $1 } END { print s + 0 }')
    bt_version=$(json_str "$(bpftrace --version 2>/dev/null | head -n1)")
fi

# --- 5. the recorder's own cost, attached with -p --------------------------------
# recorder_run SPANS OUTPUT TAG: span_bench attached -n SPANS waits for the
# recorder, which attaches with -p and stops when it exits; GNU time
# measures the recorder alone (span_bench is not its child).
recorder_run() {
    local n=$1 out=$2 tag=$3
    shift 3  # the rest: more record options (--otlp URL)
    "$bench_bin" attached -n "$n" -r 1 --warmup 0 --pause-ms 0 --wait 30 >"$tmp/$tag.bench" &
    local pid=$!
    local rc=0
    if [[ $out == - ]]; then
        /usr/bin/time -f 'TIME %U %S %M' -o "$tmp/$tag.time" \
            "$recorder" record -p "$pid" -o - >/dev/null 2>"$tmp/$tag.err" || rc=$?
    else
        /usr/bin/time -f 'TIME %U %S %M' -o "$tmp/$tag.time" \
            "$recorder" record -p "$pid" -o "$out" "$@" 2>"$tmp/$tag.err" || rc=$?
    fi
    wait "$pid" || rc=$?
    [[ $rc -eq 0 ]] || { cat "$tmp/$tag.err" >&2; die "the $tag recorder run failed"; }
}
echo "run.sh: recorder cost ($recorder_spans spans, -p, JSONL to a file) ..." >&2
recorder_run "$recorder_spans" "$tmp/cost.jsonl" cost
read -r _ cost_user cost_sys cost_rss_kib <"$tmp/cost.time"
cost_summary=$(summary_of "$tmp/cost.err")
cost_recorded=$(sum_recorded "$cost_summary")
cost_lost=$(sum_num "$cost_summary" 'spans lost')
[[ $cost_recorded == "$recorder_spans" ]] || problem "recorder cost run: recorded $cost_recorded of $recorder_spans spans ($cost_lost lost)"
cost_cpu_per_m=$(calc "printf \"%.3f\", ($cost_user + $cost_sys) * 1e6 / $recorder_spans")
cost_user_per_m=$(calc "printf \"%.3f\", $cost_user * 1e6 / $recorder_spans")
cost_sys_per_m=$(calc "printf \"%.3f\", $cost_sys * 1e6 / $recorder_spans")
cost_rss_mib=$(calc "printf \"%.1f\", $cost_rss_kib / 1024")
rm -f "$tmp/cost.jsonl"

# The same with OTLP export on as well (protobuf over HTTP to a local sink
# that answers 200 without decoding), the queue as large as the run so no
# span is dropped: every span parsed, mapped, encoded and sent on the
# exporter's worker thread, which GNU time counts as the recorder's.  At
# most 200000 spans: the queue of JSON lines may hold them all; the flush
# at the end may take as long as it needs.
otlp_spans=$((recorder_spans < 200000 ? recorder_spans : 200000))
otlp_cpu_per_m=null
otlp_sent=null
otlp_dropped=null
if command -v node >/dev/null 2>&1; then
    echo "run.sh: recorder cost with --otlp ($otlp_spans spans, JSONL to a file too) ..." >&2
    node -e 'const fs = require("fs");
        const srv = require("http").createServer((q, s) => { q.resume(); q.on("end", () => {
            s.writeHead(200, {"Content-Type": "application/x-protobuf"}); s.end(); }); });
        srv.listen(0, "127.0.0.1", () => fs.writeFileSync(process.argv[1], String(srv.address().port)));' \
        "$tmp/sink.port" &
    sink_pid=$!
    for _ in $(seq 100); do [[ -s $tmp/sink.port ]] && break; sleep 0.1; done
    OTEL_BSP_MAX_QUEUE_SIZE=$otlp_spans OTEL_EXPORTER_OTLP_TIMEOUT=600000 recorder_run "$otlp_spans" "$tmp/otlp.jsonl" otlp \
        --otlp "http://127.0.0.1:$(cat "$tmp/sink.port")"
    kill "$sink_pid" 2>/dev/null || true
    wait "$sink_pid" 2>/dev/null || true
    read -r _ otlp_user otlp_sys _ <"$tmp/otlp.time"
    otlp_summary=$(summary_of "$tmp/otlp.err")
    otlp_sent=$(sed -n 's/.*: \([0-9]*\) sent,.*/\1/p' <<<"$otlp_summary")
    otlp_dropped=$(sed -n 's/.* \([0-9]*\) dropped.*/\1/p' <<<"$otlp_summary")
    [[ $otlp_sent == "$otlp_spans" ]] || problem "OTLP cost run: sent $otlp_sent of $otlp_spans spans ($otlp_summary)"
    otlp_cpu_per_m=$(calc "printf \"%.3f\", ($otlp_user + $otlp_sys) * 1e6 / $otlp_spans")
    rm -f "$tmp/otlp.jsonl"
else
    problem "no node: the OTLP cost row is skipped"
fi

rss_mib=null
rss_recorded=null
rss_lost=null
rss_cpu_per_m=null
if [[ $rss_spans -gt 0 ]]; then
    echo "run.sh: peak RSS over $rss_spans spans (JSONL to stdout, into /dev/null) ..." >&2
    recorder_run "$rss_spans" - rss
    read -r _ rss_user rss_sys rss_kib <"$tmp/rss.time"
    rss_summary=$(summary_of "$tmp/rss.err")
    rss_recorded=$(sum_recorded "$rss_summary")
    rss_lost=$(sum_num "$rss_summary" 'spans lost')
    rss_mib=$(calc "printf \"%.1f\", $rss_kib / 1024")
    rss_cpu_per_m=$(calc "printf \"%.3f\", ($rss_user + $rss_sys) * 1e6 / $rss_spans")
    [[ $((rss_recorded + rss_lost)) -eq $rss_spans ]] ||
        problem "RSS run: $rss_recorded recorded + $rss_lost lost != $rss_spans spans"
fi

# --- 6. producer sweep and zero loss, default buffer ------------------------------
# rate_run THREADS SECONDS TAG: sets rr="produced spans_per_s recorded lost
# tags_lost cpu_ns_per_span" and checks that every span is accounted for.
rate_run() {
    local threads=$1 secs=$2 tag=$3 rc=0
    "$recorder" record -o "$tmp/$tag.jsonl" -- "$bench_bin" attached --duration "$secs" \
        --threads "$threads" >"$tmp/$tag.out" 2>"$tmp/$tag.err" || rc=$?
    local l s
    l=$(grep -m1 '^{"mode":"attached"' "$tmp/$tag.out" || true)
    s=$(summary_of "$tmp/$tag.err")
    [[ $rc -eq 0 && -n $l && -n $s ]] || { cat "$tmp/$tag.out" "$tmp/$tag.err" >&2; die "the $tag run failed"; }
    local produced recorded lost tlost lines
    produced=$(json_field "$l" total_spans)
    recorded=$(sum_recorded "$s")
    lost=$(sum_num "$s" 'spans lost')
    tlost=$(sum_num "$s" 'tags\/errors lost')
    lines=$(wc -l <"$tmp/$tag.jsonl")
    rm -f "$tmp/$tag.jsonl"
    [[ $((recorded + lost)) -eq $produced ]] ||
        problem "$tag: $recorded recorded + $lost lost != $produced produced"
    [[ $lines -eq $recorded ]] || problem "$tag: trace holds $lines records, summary says $recorded"
    rr="$produced $(json_field "$l" spans_per_s) $recorded $lost $tlost $(json_field "$l" cpu_ns_per_span)"
}
declare -A sweep
for t in 1 2 4; do
    echo "run.sh: producer sweep: $t thread(s) x ${sweep_s} s, default buffer ..." >&2
    rate_run "$t" "$sweep_s" "sweep$t"
    sweep[$t]=$rr
done
echo "run.sh: zero loss: 1 thread x ${zero_loss_s} s, default buffer ..." >&2
rate_run 1 "$zero_loss_s" zeroloss
read -r zl_produced zl_rate zl_recorded zl_lost zl_tlost zl_cpu <<<"$rr"
[[ $zl_lost -eq 0 && $zl_tlost -eq 0 ]] || problem "zero loss: $zl_lost spans and $zl_tlost tags lost in ${zero_loss_s} s"

# --- 7. attach latency --------------------------------------------------------------
# span_bench emits spans back to back (recorder or not); the recorder
# attaches with -p; latency = begin of the first recorded span - the
# moment the recorder was started (both CLOCK_REALTIME).
latencies=""
for ((i = 1; i <= latency_runs; i++)); do
    echo "run.sh: attach latency $i/$latency_runs ..." >&2
    "$bench_bin" stream --duration 6 >"$tmp/latency.bench" 2>&1 &
    pid=$!
    sleep 1
    t0=$(date +%s%N)
    rc=0
    "$recorder" record -p "$pid" -o "$tmp/latency.jsonl" 2>"$tmp/latency.err" || rc=$?
    wait "$pid" || rc=$?
    first=""
    [[ $rc -ne 0 ]] || first=$(head -n1 "$tmp/latency.jsonl" | sed -n 's/^{"timestamp":"\([^"]*\)".*/\1/p')
    if [[ -z $first ]]; then
        cat "$tmp/latency.err" "$tmp/latency.bench" >&2
        problem "attach latency run $i failed (exit status $rc)"
        continue
    fi
    t1=$(date -d "$first" +%s%N)
    latencies+=" $(calc "printf \"%.1f\", ($t1 - $t0) / 1e6")"
    rm -f "$tmp/latency.jsonl"
done
latency_ms=null
[[ -z $latencies ]] || latency_ms=$(median <<<"$latencies")

load_end=$(load_avg)

# --- report ---------------------------------------------------------------------
kernel=$(uname -r)
ncpu=$(nproc)
cpu_model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)
[[ -n $cpu_model ]] || cpu_model=unknown
os=$(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release 2>/dev/null || echo unknown)
date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)

med() { json_field "${line[$1]}" median_ns_per_span; }
base=$(med baseline)
det=$(med detached)
floor=$(med floor)
att=$(med attached)

modes=(baseline detached detached-c rusage floor attached)
$with_bpftrace && modes+=(bpftrace)
declare -A desc=(
    [baseline]="1. probe code compiled out"
    [detached]="2. lstrace.hpp, no tracer attached"
    [detached-c]="2. lstrace.h C API, no tracer attached"
    [rusage]="6. in-process getrusage(RUSAGE_THREAD) at begin and end"
    [floor]="3. floor: same probe sites, count-only BPF"
    [attached]="4. lstrace-bpf record, all figures, JSONL to a file"
    [bpftrace]="5. bpftrace equivalent (lstrace_equiv.bt)"
)

echo
echo "## lstrace per-span cost ($date_utc)"
echo
echo "Machine: $os, kernel $kernel, $ncpu CPUs ($cpu_model); load average $load_start at start, $load_end at end"
$pin && echo "Per-span rows: the loop pinned to CPU 0, the tracer process to CPU 1."
echo
echo "| mode | ns/span (median) | ns over baseline | × floor | thread CPU ns/span |"
echo "|---|---:|---:|---:|---:|"
results_json=""
for m in "${modes[@]}"; do
    l=${line[$m]}
    v=$(json_field "$l" median_ns_per_span)
    ob=$(over "$v" "$base")
    rf=$(ratio "$v" "$floor")
    cpu=$(json_field "$l" median_cpu_ns_per_span)
    printf '| %s | %s | %s | %s | %s |\n' "${desc[$m]}" "$(fmt_ns "$v")" "$(fmt_ns "$ob")" \
        "$([[ $m == floor || $m == attached || $m == bpftrace ]] && echo "${rf}×" || echo "")" "$(fmt_ns "$cpu")"
    results_json+="${results_json:+,}${l%\}},\"ns_over_baseline\":$ob,\"ratio_vs_floor\":$rf}"
done
echo
att_floor=$(ratio "$att" "$floor")
bt_att=null
[[ -z ${line[bpftrace]:-} ]] || bt_att=$(ratio "$(med bpftrace)" "$att")
echo "| recorder and throughput (default 16 MiB buffer) | |"
echo "|---|---:|"
echo "| recorder CPU per million spans (user + system), JSONL to a file | ${cost_cpu_per_m} s (${cost_user_per_m} + ${cost_sys_per_m}) |"
if [[ $otlp_cpu_per_m != null ]]; then
    echo "| the same with \`--otlp\` too (protobuf over HTTP to a local sink; ${otlp_spans} spans: ${otlp_sent} sent, ${otlp_dropped} dropped) | ${otlp_cpu_per_m} s |"
fi
echo "| recorder peak RSS, ${recorder_spans} spans | ${cost_rss_mib} MiB |"
if [[ $rss_spans -gt 0 ]]; then
    echo "| recorder peak RSS, ${rss_spans} spans (JSONL to /dev/null) | ${rss_mib} MiB (${rss_lost} lost; ${rss_cpu_per_m} s CPU per million) |"
fi
for t in 1 2 4; do
    read -r p r rec l tl c <<<"${sweep[$t]}"
    echo "| $t producer thread(s), ${sweep_s} s back to back | $(calc "printf \"%.0f\", $r") spans/s; $rec recorded + $l lost = $p produced |"
done
echo "| 1 producer, ${zero_loss_s} s back to back | $(calc "printf \"%.0f\", $zl_rate") spans/s; $zl_recorded recorded, $zl_lost lost |"
echo "| attach latency (command to first recorded span), median of $latency_runs | ${latency_ms} ms (runs:${latencies}) |"
echo
for m in "${modes[@]}"; do
    l=${line[$m]}
    printf -- '- %s: %s spans × %s runs (+%s warm-up), all runs ns/span: %s\n' "$m" \
        "$(json_field "$l" spans)" "$(json_field "$l" runs)" "$(json_field "$l" warmup_spans)" \
        "$(sed -n 's/.*"all_ns_per_span":\[\([^]]*\)\].*/\1/p' <<<"$l" | sed 's/,/, /g')"
done
echo "- attached / floor: ${att_floor}× (same run); bpftrace / attached: ${bt_att}×"
echo "- attached run (-b $buffer_mib): $rec_recorded spans recorded, $rec_lost lost, $rec_tags_lost tags lost;" \
    "trace: $jsonl_records records ($jsonl_tagged tagged), expected $expected"
if $with_bpftrace; then
    echo "- bpftrace: $bt_lines span lines of $expected spans, $bt_lost_events events reported lost"
fi

# Targets of the performance issue.
tgt() { # NAME OK(true/false) TEXT
    printf -- '- target %s: %s (%s)\n' "$1" "$($2 && echo met || echo NOT met)" "$3"
    targets_json+="${targets_json:+,}{\"name\":$(json_str "$1"),\"met\":$2,\"measured\":$(json_str "$3")}"
}
targets_json=""
bool() { awk "BEGIN { exit !($1) }" && echo true || echo false; }
echo
tgt "detached <= 5 ns over baseline" "$(bool "$det - $base <= 5")" "$(over "$det" "$base") ns"
tgt "attached <= 1.5x floor" "$(bool "$att_floor <= 1.5")" "${att_floor}x"
if [[ $bt_att != null ]]; then
    tgt "bpftrace >= 5x attached" "$(bool "$bt_att >= 5")" "${bt_att}x"
fi
tgt "zero loss, 1 producer, ${zero_loss_s} s, default buffer" "$(bool "$zl_lost == 0 && $zl_tlost == 0")" "$zl_lost spans, $zl_tlost tags lost of $zl_produced"
if [[ $rss_spans -gt 0 ]]; then
    tgt "recorder peak RSS < 64 MiB over $rss_spans spans" "$(bool "$rss_mib < 64")" "$rss_mib MiB"
fi
if [[ $latency_ms != null ]]; then
    tgt "attach latency < 1 s" "$(bool "$latency_ms < 1000")" "$latency_ms ms"
fi

verified=true
[[ ${#problems[@]} -eq 0 ]] || verified=false
if $verified; then
    echo "- verification: OK (every recorded run accounts for every span)"
else
    printf -- '- verification: FAILED:'
    printf ' %s;' "${problems[@]}"
    echo
fi

problems_json=""
for p in ${problems[@]+"${problems[@]}"}; do
    problems_json+="${problems_json:+,}$(json_str "$p")"
done
sweep_json=""
for t in 1 2 4; do
    read -r p r rec l tl c <<<"${sweep[$t]}"
    sweep_json+="${sweep_json:+,}{\"threads\":$t,\"seconds\":$sweep_s,\"produced\":$p,\"spans_per_s\":$r,\"recorded\":$rec,\"lost\":$l,\"tags_lost\":$tl,\"producer_cpu_ns_per_span\":$c}"
done
json_out=${json_out:-$build/bench-results.json}
mkdir -p "$(dirname "$json_out")"
cat >"$json_out.tmp" <<EOF
{
  "date": $(json_str "$date_utc"),
  "pinned": $pin,
  "machine": {"os": $(json_str "$os"), "kernel": $(json_str "$kernel"), "nproc": $ncpu, "cpu_model": $(json_str "$cpu_model"), "load_start": $(json_str "$load_start"), "load_end": $(json_str "$load_end")},
  "results": [$results_json],
  "attached_vs_floor": $att_floor,
  "bpftrace_vs_attached": $bt_att,
  "attached_run": {"buffer_mib": $buffer_mib, "spans_recorded": $rec_recorded, "spans_lost": $rec_lost, "tags_errors_lost": $rec_tags_lost, "still_open": $rec_open, "ends_without_begin": $rec_orphan_ends, "jsonl_records": $jsonl_records, "jsonl_records_tagged": $jsonl_tagged, "expected_records": $expected, "summary": $(json_str "$summary")},
  "bpftrace_run": {"version": $bt_version, "span_lines": $bt_lines, "lost_events": $bt_lost_events},
  "recorder": {"spans": $recorder_spans, "cpu_s_per_million": $cost_cpu_per_m, "user_s_per_million": $cost_user_per_m, "sys_s_per_million": $cost_sys_per_m, "peak_rss_mib": $cost_rss_mib, "long_run_spans": $rss_spans, "long_run_peak_rss_mib": $rss_mib, "long_run_cpu_s_per_million": $rss_cpu_per_m, "long_run_lost": $rss_lost, "otlp_spans": $otlp_spans, "otlp_cpu_s_per_million": $otlp_cpu_per_m, "otlp_sent": $otlp_sent, "otlp_dropped": $otlp_dropped},
  "producer_sweep": [$sweep_json],
  "zero_loss": {"threads": 1, "seconds": $zero_loss_s, "produced": $zl_produced, "spans_per_s": $zl_rate, "recorded": $zl_recorded, "lost": $zl_lost, "tags_lost": $zl_tlost},
  "attach_latency_ms": {"median": $latency_ms, "runs": [$(echo $latencies | sed 's/ /,/g')]},
  "targets": [$targets_json],
  "verified": $verified,
  "problems": [$problems_json]
}
EOF
mv "$json_out.tmp" "$json_out"
echo
echo "Results written to $json_out"
if $recorder_cpu; then
    # its own tables and JSON (BUILD_DIR/recorder-cpu.json)
    "$here/recorder_cpu.sh" "$build" || verified=false
fi
$verified || exit 1
