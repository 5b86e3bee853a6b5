// BPF timestamps are CLOCK_MONOTONIC; records carry wall-clock time.
#pragma once

#include <cstdint>

namespace lstrace {

// Nanoseconds to add to a CLOCK_MONOTONIC reading to get Unix time.
std::int64_t monotonic_to_realtime_offset_ns();

// CPU time the calling thread has used (CLOCK_THREAD_CPUTIME_ID).
std::uint64_t this_thread_cpu_ns();

}  // namespace lstrace
