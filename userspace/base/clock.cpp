#include "base/clock.hpp"

#include <time.h>

namespace lstrace {
namespace {

std::int64_t now_ns(clockid_t id)
{
    timespec ts;
    clock_gettime(id, &ts);
    return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

std::int64_t monotonic_to_realtime_offset_ns()
{
    // Bracket the monotonic reading with two realtime readings and keep the
    // tightest of a few tries: the offset is then good to well under 1 us.
    std::int64_t best_gap = INT64_MAX, offset = 0;
    for (int i = 0; i < 5; ++i) {
        const std::int64_t r1 = now_ns(CLOCK_REALTIME);
        const std::int64_t m = now_ns(CLOCK_MONOTONIC);
        const std::int64_t r2 = now_ns(CLOCK_REALTIME);
        if (r2 - r1 < best_gap) {
            best_gap = r2 - r1;
            offset = r1 + (r2 - r1) / 2 - m;
        }
    }
    return offset;
}

std::uint64_t this_thread_cpu_ns()
{
    return static_cast<std::uint64_t>(now_ns(CLOCK_THREAD_CPUTIME_ID));
}

}  // namespace lstrace
