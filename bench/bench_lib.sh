# SPDX-License-Identifier: MIT
#
# bench/bench_lib.sh - helpers shared by bench/run.sh and bench/recorder_cpu.sh
# (sourced, not run).  The sourcing script sets `usage_end`, the first
# line of its header comment that is no longer usage text.

bench_name=$(basename "$0")

# usage: the sourcing script's header comment, from line 4 to `usage_end`.
usage() {
    sed -n "4,/^# ${usage_end}/{/^# ${usage_end}/d;s/^# \{0,1\}//;p}" "$0" >&2
    exit 2
}
die() {
    echo "$bench_name: $*" >&2
    exit 2
}

# json_field LINE NAME: the raw value of a top-level scalar field.
json_field() {
    sed -n "s/.*\"$2\":\(\"[^\"]*\"\|[^,}]*\).*/\1/p" <<<"$1" | tr -d '"'
}
calc() { awk "BEGIN { $1 }"; }
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The recorder's summary:
#   lstrace-bpf: N spans recorded to F in S s, L spans lost, O still open,
#   A aborted by an exit, E ended without a recorded begin, T tags/errors
#   lost[; command exit status X]
summary_of() { grep -m1 '^lstrace-bpf: [0-9]* spans recorded' "$1" || true; }
sum_recorded() { sed -n 's/^lstrace-bpf: \([0-9]*\) spans recorded.*/\1/p' <<<"$1"; }
sum_num() { sed -n "s/.* \([0-9][0-9]*\) $2.*/\1/p" <<<"$1"; }

load_avg() { cut -d' ' -f1-3 /proc/loadavg; }

# other_arg ARG: an argument the script's own options do not take: help,
# an unknown option (usage), or BUILD_DIR (once).
positional=0
other_arg() {
    case "$1" in
    -h | --help) usage ;;
    -*)
        echo "$bench_name: unknown option '$1'" >&2
        usage
        ;;
    *)
        [[ $positional -eq 0 ]] || die "unexpected argument '$1'"
        build=$1
        positional=1
        ;;
    esac
}
