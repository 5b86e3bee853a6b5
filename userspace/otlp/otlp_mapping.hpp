// Trace records (docs/records.md, as JSON) to OTLP spans.  One mapping for
// both paths: `export --format otlp` reads them from a trace file,
// `record --otlp` gets each record's JSON line from the record sink.
//
//   process_info record -> the Resource of its process (command line, host)
//   span record         -> Span, in ResourceSpans of its process and
//                          ScopeSpans of its tracer; tags as attributes,
//                          kernel figures as lstrace.* attributes, GenAI
//                          conventions for LLM/agent/tool/workflow spans
//   event record        -> Span.Event of the span it happened in (errors as
//                          `exception`); events reach us before their span
//                          (a span's record is written when it ends), so
//                          they wait here, bounded, until it comes
//   process_sample, events outside any span -> not exported (counted)
//
// docs/otlp.md has the whole table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "otlp/otlp_config.hpp"

namespace lstrace::otlp {

namespace pb_common = opentelemetry::proto::common::v1;
namespace pb_trace = opentelemetry::proto::trace::v1;
namespace pb_collector = opentelemetry::proto::collector::trace::v1;

struct MappingSettings {
    std::string service_name;       // empty: the tracer's root, else the executable
    KeyValues resource_attributes;  // added to every Resource
    std::vector<GenAiRule> genai;
    std::string host_name;  // for processes without a process_info record; may be empty
    std::size_t max_waiting_events = 16384;  // events waiting for their span
};

struct MappingCounts {
    std::uint64_t spans = 0;                 // spans mapped
    std::uint64_t events_attached = 0;       // events sent as span events
    std::uint64_t events_outside_spans = 0;  // no span id (process_sample, ...)
    std::uint64_t events_unmatched =
        0;  // their span never came (still open, dropped) or waited too long
};

class SpanMapper {
public:
    explicit SpanMapper(MappingSettings settings);

    enum class Kind { span, event, other };
    // Takes one record; a span waits in the batch until take_request().
    Kind add(const nlohmann::json& record);

    std::size_t batched_spans() const noexcept { return batched_; }

    // The batched spans as one request, grouped by process and tracer; the
    // batch is empty afterwards.
    pb_collector::ExportTraceServiceRequest take_request();

    // Events still waiting for a span that will not come (at the end).
    void finish();
    const MappingCounts& counts() const noexcept { return counts_; }

private:
    struct Process {
        std::vector<std::string> command_line;
        std::string host_name;
        std::string tracer_root;  // of its first span with a tracer
    };
    void add_process_info(const nlohmann::json& record);
    void add_event(const nlohmann::json& record, const std::string& span_id);
    pb_trace::Span map_span(const nlohmann::json& record, const std::string& span_id);
    void fill_resource(const std::string& pid,
                       opentelemetry::proto::resource::v1::Resource& resource);

    MappingSettings settings_;
    MappingCounts counts_;
    std::map<std::string, Process> processes_;  // by process id (decimal)
    // batch: process id -> tracer -> spans
    std::map<std::string, std::map<std::string, std::vector<pb_trace::Span>>> batch_;
    std::size_t batched_ = 0;
    std::unordered_map<std::string, std::vector<pb_trace::Span::Event>> waiting_;  // by span id
    std::deque<std::string> waiting_order_;  // span ids, oldest first (bounds waiting_)
    std::size_t waiting_events_ = 0;
};

// "0af7..." (2*n hex digits) as n bytes; "" when not that shape.
std::string hex_to_bytes(const std::string& hex, std::size_t n);

// A JSON value as an OTLP AnyValue (objects as kvlists, arrays as arrays);
// false for null.
bool to_any_value(const nlohmann::json& value, pb_common::AnyValue& out);

}  // namespace lstrace::otlp
