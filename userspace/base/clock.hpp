// BPF timestamps are CLOCK_MONOTONIC; records carry wall-clock time.
#pragma once

#include <cstdint>

namespace lstrace {

// Nanoseconds to add to a CLOCK_MONOTONIC reading to get Unix time.
std::int64_t monotonic_to_realtime_offset_ns();

}  // namespace lstrace
