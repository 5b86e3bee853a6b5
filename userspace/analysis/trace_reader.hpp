// Reading recorded traces (JSONL), shared by summary, analyze, report,
// export: one pass over the file, line by line, so a trace of any size is
// read in constant memory.  A line is a span record (record_type "span" or
// absent, as in traces from before event records) or an event record
// (component_init, state_change, error, ... see docs/records.md).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/errors.hpp"
#include "base/result.hpp"

namespace lstrace {

enum class RecordKind { span, event };

// The figures of a span's `resources` the analyses use; 0 when absent.
struct SpanResources {
    bool present = false;  // resources was an object
    double cpu_ms = 0, offcpu_ms = 0;
    std::optional<double> io_wait_ms;               // newer traces only
    std::uint64_t read_bytes = 0, write_bytes = 0;  // read/write-like syscalls
    std::uint64_t storage_read_bytes = 0, storage_write_bytes = 0;
    std::uint64_t minor_faults = 0, major_faults = 0;
    std::uint64_t voluntary_switches = 0, involuntary_switches = 0;  // involuntary: preempted
    std::int64_t rss_delta_bytes = 0;
    std::uint64_t io_bytes() const noexcept { return read_bytes + write_bytes; }
};

// What the analyses need of a span record.
struct SpanFacts {
    std::string trace_id, span_id, parent_span_id;  // parent empty for a root
    std::string component, operation, description;
    std::string process_id, thread_id;
    std::int64_t start_us = 0;  // begin, microseconds since the Unix epoch
    double duration_ms = 0;
    bool failed = false, aborted = false;
    std::string error_type, error_message;
    SpanResources resources;
    std::int64_t end_us() const noexcept
    {
        return start_us + static_cast<std::int64_t>(duration_ms * 1000.0 + 0.5);
    }
};

// A validated line: span records have component, operation and a numeric
// duration_ms; event records a non-empty string record_type (their other
// fields are read leniently: absent or null ids, timestamps, tags).
struct TraceLine {
    const nlohmann::json& json;
    RecordKind kind;
    std::string record_type;  // "span" for spans
    std::uint64_t line_number;
};

using TraceVisitor = std::function<void(const TraceLine&)>;

// Reads a JSONL stream; an Error names the first bad line.  Blank lines are
// skipped.  The one-record-per-line JSON array that `record --format json`
// writes ("[", records ending in ",", "]") is read too.  `records` counts the lines handed to
// `visit`.
// A record line longer than this is refused (records are kilobytes; a
// stack trace of 127 symbolized frames some tens of them).
inline constexpr std::size_t kMaxTraceLineBytes = 16u << 20;

Result<bool> read_trace_stream(std::istream& in, const TraceVisitor& visit,
                               std::uint64_t* records = nullptr);

// Reads a trace file.  Throws FatalError with a one-line message: a file
// that cannot be opened (`missing` exit code), a malformed line or a file
// without records (ExitCode::bad_input).  Returns the number of records.
std::uint64_t read_trace_file(const std::string& path, const TraceVisitor& visit,
                              ExitCode missing = ExitCode::bad_input);

// Why a parsed line is not a trace record, or "" (then `kind` and `type`,
// "span" or the event's record_type, are set).
std::string record_problem(const nlohmann::json& line, RecordKind& kind, std::string& type);

SpanFacts span_facts(const nlohmann::json& record);

// "2026-11-25T15:32:47.779873Z" (what format_timestamp writes) in
// microseconds since the Unix epoch; nullopt when it is not that shape.
std::optional<std::int64_t> parse_timestamp_us(const std::string& text);

// Field readers that tolerate absence and wrong types (0 / "" then).
double json_number(const nlohmann::json& object, const char* key);
std::uint64_t json_counter(const nlohmann::json& object, const char* key);  // non-negative ints
std::int64_t json_signed(const nlohmann::json& object, const char* key);
std::string json_string(const nlohmann::json& object, const char* key);
bool json_bool(const nlohmann::json& object, const char* key, bool fallback);

// 1536 -> "1.5 KiB".
std::string human_bytes(double bytes);

// "10:00:00.010" (digits=3) or "10:00:00.010000" (6) for microseconds
// since the epoch, UTC; "-" for 0.
std::string clock_time(std::int64_t us, int digits);

// `text` for a terminal column: control characters made visible (printable()),
// cut to `width` characters, the last one "~" when cut.
std::string clip(std::string text, std::size_t width);

// Widens [first, last] to include `at` (0: unknown, ignored).
void extend_range(std::int64_t& first, std::int64_t& last, std::int64_t at);

}  // namespace lstrace
