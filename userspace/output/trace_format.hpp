// The structured trace event of the LangSwarm tracing standard, one JSON
// object per finished span (docs/records.md and docs/trace-record.schema.json
// describe every field).
#pragma once

#include <cstdint>
#include <string>

#include "correlate/span_record.hpp"

namespace lstrace {

class JsonBuffer;
class JsonWriter;

// A tag's value as a JSON value (JsonText as the JSON it holds).
void write_tag_value(JsonWriter& w, const TagValue& v);

// "2026-01-15T10:30:45.123456Z" for nanoseconds since the Unix epoch.
std::string format_timestamp(std::int64_t unix_ns);

// The standard's execution_time_category: very_fast < 1 ms <= fast < 10 ms
// <= normal < 100 ms <= slow < 1 s <= very_slow.
const char* execution_time_category(double duration_ms);

// The standard's memory_category: minimal < 1 KiB <= small < 1 MiB <=
// moderate < 10 MiB <= large < 100 MiB <= very_large.
const char* memory_category(std::int64_t delta_bytes);

// Writes the record as one line of JSONL (with the trailing newline) into
// `out`: the recorder's hot path (a kilobyte of JSON per span; see
// json_buffer.hpp).  append_json_line() below writes the same bytes.
void format_span_json(JsonBuffer& out, const SpanRecord& span, std::int64_t realtime_offset_ns,
                      bool debug = false);
void format_event_json(JsonBuffer& out, const EventRecord& event, std::int64_t realtime_offset_ns);

// Appends the record as one line of JSONL (with the trailing newline);
// `realtime_offset_ns` turns CLOCK_MONOTONIC into Unix time.  Strings that
// are not valid UTF-8 are repaired with U+FFFD, so the line is always valid
// JSON.  Tags the recorder writes itself (success, error_*, categories)
// replace application tags of the same name.
// With `debug` (TracingConfig debug_mode) metadata.debug carries the raw
// BPF view: monotonic begin/end, event flags, begin and end CPU.
void append_json_line(std::string& out, const SpanRecord& span, std::int64_t realtime_offset_ns,
                      bool debug = false);

// An event record (component, error, data flow, process sample) as one
// line of JSONL, in the same shape (docs/records.md).
void append_event_json_line(std::string& out, const EventRecord& event,
                            std::int64_t realtime_offset_ns);

}  // namespace lstrace
