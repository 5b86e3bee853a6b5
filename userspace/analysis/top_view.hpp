// `lstrace-bpf top -p PID`: a live view of the busiest operations.  The
// recorder hands every finished span to a TopView (RecordHooks); once per
// interval the view renders the operations of the spans that ENDED in that
// interval (a span longer than the interval counts whole when it ends),
// busiest (on-CPU + off-CPU time) first, with an activity line, and starts
// a new interval.  TopView is pure so the unit tests drive it directly.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "analysis/trace_reader.hpp"
#include "config/cli.hpp"

namespace lstrace {

struct TopRow {
    std::string component, operation;
    std::uint64_t spans = 0, failures = 0, io_bytes = 0, faults = 0;
    double total_ms = 0, cpu_ms = 0, offcpu_ms = 0;
};

class TopView {
public:
    void add(const SpanFacts& span);

    // The current interval's rows, busiest first, and starts a new interval.
    std::vector<TopRow> take_interval();

    // One frame: the activity line, the leaders by CPU, off-CPU and I/O,
    // and the table (at most `rows` lines).  `elapsed_s` is the time since
    // recording started, `interval_s` this interval's length.
    std::string frame(const std::string& target, double elapsed_s, double interval_s,
                      std::size_t rows);

private:
    std::map<std::pair<std::string, std::string>, TopRow> interval_;
    std::uint64_t spans_total_ = 0, failures_total_ = 0, frames_ = 0;
};

}  // namespace lstrace
