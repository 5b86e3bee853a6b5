// `lstrace-bpf record`: attach, stream records to the trace file, stop,
// flush, summarize.
#pragma once

#include <cstdint>
#include <functional>

#include "config/cli.hpp"
#include "correlate/span_record.hpp"

namespace lstrace {

// Live consumers of a recording (`top`): every finished span, as well as
// or instead of the trace file, and a periodic tick.
struct RecordHooks {
    // Each finished span after redaction; `realtime_offset_ns` turns its
    // CLOCK_MONOTONIC times into Unix time (as to_json_line takes it).
    std::function<void(const SpanRecord&, std::int64_t realtime_offset_ns)> on_span;
    // Called every tick_ms while recording; returning false stops it.
    std::function<bool()> on_tick;
    int tick_ms = 1000;
};

// Returns the process exit code; throws FatalError for user errors.  An
// empty options.output records without a trace file (for hooks).
int run_record(const RecordOptions& options, const RecordHooks& hooks = {});

}  // namespace lstrace
