// BPF timestamps are CLOCK_MONOTONIC; records carry wall-clock time.
#pragma once

#include <cstdint>

namespace lstrace {

// Nanoseconds to add to a CLOCK_MONOTONIC reading to get Unix time.
std::int64_t monotonic_to_realtime_offset_ns();

// CPU time the calling thread has used (CLOCK_THREAD_CPUTIME_ID).
std::uint64_t this_thread_cpu_ns();

// Stores the thread's CPU time into `out` when it goes out of scope: put at
// the top of a thread's function, `out` holds the thread's total once it is
// joined (a joined thread's own clock can no longer be read).
class ThreadCpuAtExit {
public:
    explicit ThreadCpuAtExit(std::uint64_t& out) : out_(out) {}
    ~ThreadCpuAtExit() { out_ = this_thread_cpu_ns(); }
    ThreadCpuAtExit(const ThreadCpuAtExit&) = delete;
    ThreadCpuAtExit& operator=(const ThreadCpuAtExit&) = delete;

private:
    std::uint64_t& out_;
};

}  // namespace lstrace
