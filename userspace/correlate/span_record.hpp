// One finished span, correlated from its probe events: what a trace record
// is made of before it is formatted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "lstrace_abi.h"
#include "symbols/stack_frame.hpp"

namespace lstrace {

// A tag whose value is JSON (a list or an object from the Python API,
// LSTRACE_TAG_JSON): valid, compact JSON text, written into the record as
// that value.
struct JsonText {
    std::string text;
};

using TagValue = std::variant<std::string, std::int64_t, double, bool, JsonText>;

struct Tag {
    std::string key;
    TagValue value;
};

struct SpanError {
    std::string type;
    std::string message;
};

struct SpanRecord {
    std::uint32_t tgid = 0;
    std::uint32_t tid = 0;      // thread that began the span
    std::uint32_t ns_tgid = 0;  // the same in the process's own PID namespace
    std::uint32_t ns_tid = 0;
    std::uint64_t span_id = 0;
    std::uint64_t parent_span_id = 0;  // 0: root
    std::uint64_t trace_id_hi = 0;
    std::uint64_t trace_id_lo = 0;
    std::uint64_t begin_ns = 0;  // CLOCK_MONOTONIC
    std::uint64_t end_ns = 0;    // CLOCK_MONOTONIC
    std::string tracer;
    std::string component;
    std::string operation;
    std::string description;
    std::vector<Tag> tags;             // in the order the application set them
    std::vector<SpanError> errors;     // in the order recorded
    std::uint32_t status = 0;          // LSTRACE_STATUS_*
    std::uint32_t flags = 0;           // LSTRACE_F_* of all the span's events
    lstrace_span_figures resources{};  // end minus begin; rss_bytes is the delta
    std::int64_t rss_end_bytes = 0;
    std::int64_t peak_rss_bytes = -1;  // -1: unknown (LSTRACE_F_NO_PEAK)
    std::uint32_t fds_open = 0;        // descriptors open in the process at the end
    std::string thread_name;           // with include_thread_info (else empty)
    std::uint32_t begin_cpu = 0;
    std::uint32_t end_cpu = 0;
    // The span never ended: its thread or process exited first.  end_ns is
    // the exit; there are no end figures.
    bool aborted = false;
    std::string abort_reason;  // e.g. "thread exited", "exit status 3"
    int redactions = 0;        // values replaced by the Redactor
};

// A record that is not a span: a component, error or data-flow probe hit,
// an error propagation the correlator derived, or a process sample.  The
// fields follow the span record (docs/records.md); `span_id` is the span
// the event happened in.
struct EventRecord {
    std::string record_type;  // "state_change", "error", "data_flow", ...
    std::uint32_t tgid = 0;
    std::uint32_t tid = 0;
    std::uint64_t ts_ns = 0;    // CLOCK_MONOTONIC
    std::uint64_t span_id = 0;  // enclosing span, 0: none
    std::uint64_t trace_id_hi = 0;
    std::uint64_t trace_id_lo = 0;
    std::string component;
    std::string description;
    std::vector<Tag> tags;
    std::uint32_t flags = 0;           // LSTRACE_F_* of the event
    std::vector<std::uint64_t> stack;  // raw user addresses (error, --stack-traces)
    std::vector<Frame> frames;         // `stack` resolved by the recorder
    std::string stack_note;            // why the stack is missing or may be cut
    std::string details_json;  // a JSON object written as "details" (process_info); may be empty
    int redactions = 0;
};

}  // namespace lstrace
