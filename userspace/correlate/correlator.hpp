// Turns the ring buffer's event stream into finished spans.
//
// BPF sends SPAN_BEGIN (names, ids), any number of SPAN_TAG / SPAN_ERROR,
// then SPAN_END (the kernel figures and the tags the span buffered).  Events of one span come from
// one thread in program order, and the ring buffer keeps reservation order, so a span's events
// always arrive begin first, end last.  The correlator keeps each open span until its end arrives,
// then hands the finished SpanRecord to the sink.  It has no BPF dependency: the unit tests drive
// it with synthetic events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "correlate/span_record.hpp"

namespace lstrace {

// Decodes a span's tag buffer (format in probe_abi.h) into `out`, in order,
// a repeated key keeping its last value; false if the buffer is malformed
// (`out` then holds the tags before the damage).
bool decode_tag_buffer(const std::uint8_t* buf, std::size_t size, std::vector<Tag>& out);

struct CorrelatorStats {
    std::uint64_t spans_recorded = 0;
    // span ends, tags and errors whose span's begin was not seen (began
    // before the attach, or its begin event was lost)
    std::uint64_t ends_without_begin = 0;
    std::uint64_t events_without_span = 0;
    std::uint64_t malformed_events = 0;     // too short, unknown type or version
    std::uint64_t spans_aborted = 0;        // recorded as aborted: their thread exited first
    std::uint64_t spans_dropped_short = 0;  // shorter than min_duration (BPF sent SPAN_DROPPED)
    std::uint64_t spans_evicted = 0;        // open spans forgotten to stay within max_open
    std::uint64_t events_recorded = 0;      // event records handed to the event sink
};

class Correlator {
public:
    // Gets each finished span; it may modify it (redaction) before writing.
    using Sink = std::function<void(SpanRecord&)>;
    // True when BPF lost this span's end event (it is counted as lost then,
    // and must not also be reported as aborted or still open).
    using LostEndCheck = std::function<bool(std::uint32_t tgid, std::uint64_t span_id)>;

    // Gets each event record (component, error, data-flow, propagation).
    using EventSink = std::function<void(EventRecord&)>;

    explicit Correlator(Sink sink, LostEndCheck lost_end = nullptr, EventSink events = nullptr)
        : sink_(std::move(sink)), lost_end_(std::move(lost_end)), event_sink_(std::move(events))
    {}

    // Bounds the spans held open in memory (the TracingConfig's
    // max_trace_size): past it the oldest open spans are forgotten (counted
    // in stats().spans_evicted; their ends then count as without begin).
    void set_max_open(std::size_t max_open) { max_open_ = max_open; }

    // At the end of a recording: forgets the open spans whose end was lost,
    // so that open_spans() counts only spans really still open.
    void discard_lost_ends();

    // Feeds one raw ring-buffer record.
    void consume(const void* data, std::size_t size);

    std::size_t open_spans() const noexcept { return open_.size(); }
    const CorrelatorStats& stats() const noexcept { return stats_; }

private:
    struct Key {
        std::uint32_t tgid;
        std::uint64_t span_id;
        bool operator==(const Key& o) const noexcept
        {
            return tgid == o.tgid && span_id == o.span_id;
        }
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const noexcept
        {
            return std::hash<std::uint64_t>()(k.span_id ^ (std::uint64_t(k.tgid) << 32));
        }
    };

    void on_begin(const lstrace_span_begin_event& e);
    void on_tag(const lstrace_span_tag_event& e);
    void on_error(const lstrace_span_error_event& e);
    void on_end(const lstrace_span_end_event& e);
    void merge_buffered_tags(SpanRecord& r, const lstrace_span_end_event& e);
    void on_thread_exit(const lstrace_thread_exit_event& e);
    void on_point(const lstrace_point_event& e);
    void on_data_flow(EventRecord r, const lstrace_point_event& e, const std::string& operation);
    void on_dropped(const lstrace_span_dropped_event& e);
    void on_exec(const lstrace_process_event& e);
    // A failed span whose parent belongs to another component: the error
    // crossed a component boundary.
    void report_propagation(const SpanRecord& failed);
    void emit(EventRecord& r);
    void evict_oldest();
    SpanRecord* find(const lstrace_event_header& h);
    // Copies a raw record into an Event and hands it to `handler`; false
    // when the record is too short for it.
    template <typename Event>
    bool dispatch(const void* data, std::size_t size, void (Correlator::*handler)(const Event&));

    bool end_was_lost(const SpanRecord& r) const
    {
        return lost_end_ && lost_end_(r.tgid, r.span_id);
    }

    Sink sink_;
    LostEndCheck lost_end_;
    EventSink event_sink_;
    std::size_t max_open_ = 0;  // 0: unbounded
    using OpenMap = std::unordered_map<Key, SpanRecord, KeyHash>;
    // Writes open spans as aborted (ending at ts_ns) and forgets them.
    void abort_spans(const std::vector<OpenMap::iterator>& victims, std::uint64_t ts_ns,
                     const std::string& reason);
    void abort_span(SpanRecord& r, const std::string& reason);
    OpenMap open_;
    // The input half of a data transformation, per thread, until its
    // output half arrives (the header sends the two back to back).
    static std::uint64_t thread_key(std::uint32_t tgid, std::uint32_t tid)
    {
        return (std::uint64_t(tgid) << 32) | tid;
    }
    std::unordered_map<std::uint64_t, EventRecord> transform_inputs_;
    CorrelatorStats stats_;
};

}  // namespace lstrace
