// Where finished records go during `record`: applies the TracingConfig's
// output-side settings (format, component filter for event records,
// flush_interval, stack symbolization, environment records, verbose
// errors), redacts, formats and writes.  BPF already did the filtering
// that saves work in the kernel (components of spans, min_duration_ms).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>

#include "config/cli.hpp"
#include "correlate/span_record.hpp"
#include "output/json_buffer.hpp"
#include "output/record_writer.hpp"
#include "output/redactor.hpp"
#include "output/trace_output.hpp"
#include "symbols/symbolizer.hpp"

namespace lstrace {

// Where records go besides the file: `record --otlp`'s exporter.  Gets
// each record's JSON line; must never block (the ring consumer calls it).
class RecordTap {
public:
    virtual ~RecordTap() = default;
    virtual void offer_line(std::string line, bool is_span) = 0;
};

class RecordSink {
public:
    // `output` nullptr: nothing is written (a live view gets the records
    // through RecordHooks instead), but records are still redacted.
    // `parallel`: go_parallel() at once.
    RecordSink(const RecordOptions& options, TraceOutput* output, std::int64_t realtime_offset_ns,
               bool parallel = false);

    // With `record --otlp`: every span, every event inside a span and one
    // process_info record per process (even without include_environment)
    // go to the tap as JSON lines, after redaction.
    void set_tap(RecordTap* tap) { tap_ = tap; }
    // Spans keep their tags after write_span() (their caller reads them).
    void keep_tags() { keep_tags_ = true; }

    // Takes the span's tags (they move to the writer, without a copy)
    // unless keep_tags() was asked for; the rest of the span stays as it was
    // after redaction.
    void write_span(SpanRecord& span);
    void write_event(EventRecord& event);
    // Records are formatted on a thread of their own and the file written
    // on another (RecordWriter, TraceOutput) from now on, when there is an
    // output and more than one CPU: true if that happened now.  The
    // recorder asks when its consumer falls behind: a pipeline takes about
    // twice the spans per second and costs more CPU per span.
    bool go_parallel();
    // The records so far go to the writer thread now (RecordWriter).
    void hand_over();

    // A traced process is known: with include_environment its process_info
    // record is written (once per process); with include_stack_trace its
    // memory map is cached so stacks resolve even after it exits.  Call it
    // for the targets before capabilities are dropped.
    void process_seen(std::uint32_t tgid);

    // Writes what is left, closes the output's framing (the json format's
    // array), throws a write error of the writer thread, and warns
    // about component-filter names that matched nothing (`filter_hits`:
    // spans BPF saw per name of the filter).
    void finish(const std::map<std::string, std::uint64_t>& filter_hits);

    std::uint64_t events_written() const noexcept { return events_written_; }
    // The writer thread's CPU time once finish() returned (0: none).
    std::uint64_t writer_cpu_ns() const noexcept { return writer_ ? writer_->thread_cpu_ns() : 0; }

private:
    // The record to the tap (its JSON line, formatted here).
    void tap(const SpanRecord& r);
    void tap(const EventRecord& r);
    void symbolize(EventRecord& event);
    void refresh_map(std::uint32_t tgid);

    const RecordOptions& options_;
    const TracingConfig& config_;
    TraceOutput* output_;
    RecordTap* tap_ = nullptr;
    bool keep_tags_ = false;
    bool parallel_ = false;
    std::int64_t realtime_offset_ns_;
    Redactor redactor_;
    Symbolizer symbolizer_;
    std::optional<RecordWriter> writer_;  // formats and writes to `output`
    JsonBuffer record_;                   // the tap's JSON line (reused)
    std::uint64_t events_written_ = 0;
    std::unordered_set<std::uint32_t> seen_processes_;
    std::uint32_t last_seen_ = 0;  // the process of the last record (0: none yet)
    std::unordered_set<std::uint32_t> mapped_after_start_;
    std::set<std::string> seen_components_;  // of event records
};

}  // namespace lstrace
