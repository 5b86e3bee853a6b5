// Process-wide resource samples of a traced process (sample_interval_ms):
// what the whole process uses, next to the per-span figures BPF measures.
//
// Sources, and what they can and cannot say:
//   - CPU time: utime + stime of /proc/PID/stat, which the kernel sums over
//     the whole thread group, exited threads included.  Its unit is the clock
//     tick (sysconf(_SC_CLK_TCK), usually 100 Hz), so a delta is exact only
//     to 10 ms: use intervals of 100 ms or more for a meaningful percentage.
//   - RSS: /proc/PID/statm resident pages x page size.
//   - threads: field 20 of /proc/PID/stat.
//   - open fds: the entries of /proc/PID/fd.  Listing them needs ptrace
//     access to the process (root with CAP_SYS_PTRACE, or the same user), so
//     it is nullopt where that is missing (after the recorder drops
//     capabilities, for another user's process).
//   - context switches: /proc/PID/status shows the main thread's only, so
//     these are summed over /proc/PID/task/*/status: live threads only (the
//     counts of exited threads are not exposed per process).
//   - page faults: minflt/majflt of /proc/PID/stat (whole group).
// A pid that is gone -- or a zombie, which has nothing left to sample -- gives
// std::nullopt, never an exception.  Not thread-safe; cheap (a few small
// reads plus one per thread).
#pragma once

#include <cstdint>
#include <optional>

#include <vector>

#include "correlate/span_record.hpp"

namespace lstrace {

struct ProcessSample {
    int pid = 0;
    std::uint64_t taken_at_ns = 0;  // CLOCK_MONOTONIC, like BPF timestamps
    std::uint64_t cpu_time_ns = 0;  // user + system, whole process, tick resolution
    std::uint64_t rss_bytes = 0;
    std::uint32_t threads = 0;
    std::optional<std::uint32_t> open_fds;        // nullopt: /proc/PID/fd not readable
    std::uint64_t voluntary_ctxt_switches = 0;    // live threads, summed
    std::uint64_t involuntary_ctxt_switches = 0;  // live threads, summed
    std::uint64_t minor_faults = 0;
    std::uint64_t major_faults = 0;
};

// One sample of `pid` now; nullopt if it no longer exists (or is a zombie).
std::optional<ProcessSample> sample_process(int pid);

// What happened between two samples of one process.
struct SampleDelta {
    double interval_ms = 0;
    double cpu_time_ms = 0;        // CPU time used in the interval
    double cpu_usage_percent = 0;  // cpu_time / interval; above 100 with several busy threads
    std::int64_t rss_delta_bytes = 0;
    std::int64_t voluntary_ctxt_switches = 0;  // may be negative when threads exited
    std::int64_t involuntary_ctxt_switches = 0;
    std::uint64_t minor_faults = 0;
    std::uint64_t major_faults = 0;
};

// `after` minus `before` (same pid, before taken first).
SampleDelta sample_delta(const ProcessSample& before, const ProcessSample& after);

// The tags of a process_sample record (docs/records.md), under the
// standard's names: the interval's figures (`d`) and the process's state at
// its end (`now`): interval_ms, cpu_time_ms, cpu_usage (percent),
// memory_usage (RSS bytes), rss_delta_bytes, threads, open_fds (when
// readable), context switches and faults in the interval.
std::vector<Tag> sample_tags(const ProcessSample& now, const SampleDelta& d);

}  // namespace lstrace
