// `lstrace-bpf analyze`: the standard's TraceAnalyzer.  One streaming pass
// over a trace computes
//
//  - bottlenecks: per component.operation the count, duration quantiles
//    (QuantileSketch: exact for small traces, 0.5 % relative error past
//    4096 spans of one operation), total, share of the wall time, self time
//    and time on critical paths, and the resource that dominates it;
//  - self time: a span's duration minus its children's.  Children end
//    before their parent (the parent is the enclosing span on the same
//    thread), so each span's children are summed while it is still open and
//    only open parents hold an entry;
//  - critical paths: the spans of each trace are held until its root ends,
//    then walked backwards from the root's end: the child that ended last
//    is on the path, the cursor moves to its start, and so on recursively
//    (overlapping children that end after the cursor do not block).  Gaps
//    between children are the parent's own time.  For a trace with more
//    than kMaxBufferedSpans spans held at once the path is skipped (and
//    counted);
//  - the largest self times (the top `limits.top_spans`);
//  - error patterns (ErrorPatterns);
//  - with a component, its report: operations and resource profiles, state
//    changes over time, configuration, data flows, errors.
//
// Memory is bounded by the number of operations, error groups and open
// traces, not by the number of records.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analysis/error_patterns.hpp"
#include "analysis/quantile_sketch.hpp"
#include "analysis/trace_reader.hpp"

namespace lstrace {

struct OperationProfile {
    std::string component, operation;
    std::uint64_t spans = 0, failures = 0, aborted = 0, with_resources = 0;
    QuantileSketch durations;
    double total_ms = 0, self_ms = 0, critical_ms = 0;
    double cpu_ms = 0, offcpu_ms = 0, io_wait_ms = 0;
    bool has_io_wait = false;
    std::uint64_t io_bytes = 0, storage_bytes = 0, minor_faults = 0, major_faults = 0;
    std::int64_t rss_delta_bytes = 0;
    std::uint32_t index = 0;  // the analyzer's compact id of this operation
};

// Which resource dominates an operation: "on-CPU", "page faults" (on-CPU
// with >= 100 faults per CPU ms), "I/O bytes" (on-CPU moving >= 100 KiB per
// CPU ms through read/write), "off-CPU waiting", "I/O wait" (off-CPU, and
// io_wait_ms is at least half of it, or without io_wait_ms >= 10 KiB of
// storage I/O per off-CPU ms), "unknown" without resources.
std::string dominant_resource(const OperationProfile& op);

struct PathSegment {
    std::string span_id, component, operation;
    double ms = 0;  // time this span itself determined on the path
};

struct CriticalPath {
    std::uint64_t order = 0;  // how many traces ended before this one
    std::string trace_id, root_component, root_operation, root_description;
    double duration_ms = 0;
    std::size_t spans_in_trace = 0;
    std::vector<PathSegment> segments;  // per span on the path, in path order
};

struct SelfTimeSpan {
    double self_ms = 0, duration_ms = 0;
    std::string span_id, trace_id, component, operation, description;
    std::int64_t start_us = 0;
};

struct StateChange {
    std::int64_t at_us = 0;
    std::string subject, from, to, reason;  // subject: e.g. the agent of a span-state change
};

struct AnalyzerLimits {
    std::size_t top_traces = 5;  // critical paths kept: of the longest traces
    std::size_t top_spans = 10;  // largest self times kept
};

class TraceAnalyzer {
public:
    static constexpr std::size_t kMaxBufferedSpans = 2'000'000;
    static constexpr std::size_t kMaxListed = 500;  // state/config changes kept per report

    using Limits = AnalyzerLimits;

    // `component`: also build that component's report.
    explicit TraceAnalyzer(std::optional<std::string> component = std::nullopt, Limits limits = {})
        : component_(std::move(component)), limits_(limits)
    {}

    void add(const TraceLine& line);
    // Reads a whole trace file (FatalError on bad input) and finishes.
    void add_file(const std::string& path);
    // After the last record.
    void finish();

    std::vector<const OperationProfile*> operations() const;  // busiest (total) first
    // The longest traces' paths, longest first (ties: in the order they ended).
    std::vector<CriticalPath> critical_paths() const;
    std::vector<SelfTimeSpan> top_self_time() const;
    const ErrorPatterns& errors() const { return errors_; }
    const std::vector<StateChange>& state_changes() const { return state_changes_; }
    std::uint64_t spans() const noexcept { return spans_; }
    std::uint64_t events() const noexcept { return events_; }
    std::uint64_t traces() const noexcept { return traces_; }
    double wall_ms() const noexcept;

    nlohmann::json to_json() const;
    std::string text() const;

private:
    struct BufferedSpan {
        std::uint64_t id, parent;
        std::int64_t start_us, end_us;
        std::uint32_t op;  // index into op_names_
    };
    struct OpenTrace {
        std::vector<BufferedSpan> spans;
        bool overflow = false;
    };

    void add_span(const nlohmann::json& record);
    void add_event(const nlohmann::json& record, const std::string& type);
    void close_trace(const std::string& trace_id, OpenTrace& trace, const BufferedSpan* root,
                     const std::string& root_description);
    std::uint32_t op_index(const std::string& component, const std::string& operation);
    void note_self_time(const SpanFacts& s, double self_ms);

    // The report's sections, each as JSON and as text.
    nlohmann::json input_json() const;
    std::string input_text() const;
    nlohmann::json operations_json() const;
    std::string operations_text() const;
    nlohmann::json component_json() const;  // only with a component
    std::string component_text() const;
    nlohmann::json critical_paths_json() const;
    std::string critical_paths_text() const;
    nlohmann::json self_time_json() const;
    std::string self_time_text() const;

    std::optional<std::string> component_;
    Limits limits_;
    std::map<std::pair<std::string, std::string>, OperationProfile> ops_;
    std::vector<OperationProfile*> op_by_index_;
    std::unordered_map<std::string, double> child_ms_;  // open parent span_id -> children's ms
    std::unordered_map<std::string, OpenTrace> open_traces_;
    std::size_t buffered_ = 0;
    std::uint64_t paths_skipped_ = 0;
    std::vector<CriticalPath> paths_;  // a min-heap on duration, then order
    std::uint64_t paths_seen_ = 0;
    std::vector<SelfTimeSpan> top_self_;  // a min-heap on self_ms
    ErrorPatterns errors_;
    std::uint64_t spans_ = 0, events_ = 0, traces_ = 0;
    std::map<std::string, std::uint64_t> event_types_;
    std::int64_t first_us_ = 0, last_us_ = 0;
    // component report
    std::vector<StateChange> state_changes_;
    std::uint64_t state_changes_total_ = 0;
    std::map<std::string, std::uint64_t> transitions_;  // "from -> to"
    std::vector<nlohmann::json> config_events_;
    std::uint64_t config_events_total_ = 0;
    std::uint64_t flow_in_ = 0, flow_out_ = 0, flow_in_bytes_ = 0, flow_out_bytes_ = 0;
};

}  // namespace lstrace
