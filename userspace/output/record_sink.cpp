#include "output/record_sink.hpp"

#include <algorithm>
#include <iterator>

#include <spdlog/spdlog.h>
#include <time.h>
#include <nlohmann/json.hpp>

#include "output/environment_info.hpp"
#include "output/text_format.hpp"
#include "output/trace_format.hpp"

namespace lstrace {

RecordSink::RecordSink(const RecordOptions& options, TraceOutput* output,
                       std::int64_t realtime_offset_ns, bool parallel)
    : options_(options),
      config_(options.config),
      output_(output),
      realtime_offset_ns_(realtime_offset_ns),
      redactor_(options.redact_keys)
{
    if (output_)
        writer_.emplace(config_, *output_, realtime_offset_ns_, /*threaded=*/false);
    if (parallel)
        go_parallel();
}

bool RecordSink::go_parallel()
{
    if (parallel_ || !writer_ || !TraceOutput::threads_help())
        return false;
    parallel_ = true;
    output_->start_writer_thread();
    writer_->start_thread();
    return true;
}

void RecordSink::hand_over()
{
    if (writer_)
        writer_->hand_over();
}

void RecordSink::refresh_map(std::uint32_t tgid)
{
    // A launched command was first seen stopped at exec, before its
    // libraries were mapped: read its map again once it has run.
    if (config_.include_stack_trace && mapped_after_start_.insert(tgid).second)
        symbolizer_.snapshot(static_cast<int>(tgid));
}

void RecordSink::tap(const SpanRecord& r)
{
    record_.clear();
    format_span_json(record_, r, realtime_offset_ns_, config_.debug_mode);
    tap_->offer_line(std::string(record_.view()), true);
}

void RecordSink::tap(const EventRecord& r)
{
    record_.clear();
    format_event_json(record_, r, realtime_offset_ns_);
    tap_->offer_line(std::string(record_.view()), false);
}

void RecordSink::write_span(SpanRecord& span)
{
    refresh_map(span.tgid);
    if (options_.redact)
        span.redactions = redactor_.apply(span);
    if (tap_)
        tap(span);
    if (!writer_)
        return;
    if (keep_tags_) {
        writer_->span(span);
        return;
    }
    // the tags are the span's one allocation: moved, not copied
    std::vector<Tag> tags = std::move(span.tags);
    span.tags.clear();
    SpanRecord copy = span;
    copy.tags = std::move(tags);
    writer_->span(std::move(copy));
}

void RecordSink::write_event(EventRecord& event)
{
    // Spans of filtered components never reach us (BPF skipped them, and
    // their events with them); component events name their component.
    if (!event.component.empty() && !config_.component_enabled(event.component))
        return;
    // (spans' components need no such note: BPF counts the filter's hits)
    if (!event.component.empty())
        seen_components_.insert(event.component);
    refresh_map(event.tgid);
    if (!event.stack.empty() || (event.flags & LSTRACE_F_NO_STACK))
        symbolize(event);
    if (options_.redact)
        event.redactions = redactor_.apply(event);
    if (writer_)
        writer_->event(event);
    // (events outside any span, process samples, have no OTLP span to go with)
    if (tap_ && event.span_id != 0)
        tap(event);
    ++events_written_;
    if (config_.verbose_errors &&
        (event.record_type == "error" || event.record_type == "error_propagation")) {
        std::string text;
        append_event_text_line(text, event, realtime_offset_ns_);
        std::fputs(("lstrace-bpf: " + text).c_str(), stderr);
    }
}

void RecordSink::symbolize(EventRecord& event)
{
    if (event.stack.empty()) {
        event.stack_note = "the kernel could not read the user stack";
        return;
    }
    event.frames = symbolizer_.symbolize_stack(static_cast<int>(event.tgid), event.stack);
    // The kernel walks user stacks by frame pointer: past a function built
    // without them the walk stops or strays.  Say which object that is.
    // A walk that reached main or a thread's entry is complete: what lies
    // beyond (libc's start code) does not matter.
    static const char* const roots[] = {"main",     "start_thread", "clone3",
                                        "__clone3", "clone",        "_start"};
    for (const Frame& f : event.frames) {
        if (std::find(std::begin(roots), std::end(roots), f.function) != std::end(roots))
            break;
        if (f.object.empty() || f.object.front() == '[')
            continue;
        const FramePointerReport* fp =
            symbolizer_.frame_pointers(f.object, static_cast<int>(event.tgid));
        if (fp && !fp->likely_has_frame_pointers()) {
            event.stack_note = "stack may be incomplete: " + f.object +
                               " is built without frame pointers (the kernel unwinds user "
                               "stacks by frame pointer only)";
            break;
        }
    }
}

void RecordSink::process_seen(std::uint32_t tgid)
{
    if (tgid == last_seen_)  // records come in runs from one process
        return;
    last_seen_ = tgid;
    if (!seen_processes_.insert(tgid).second)
        return;
    if (config_.include_stack_trace)
        symbolizer_.snapshot(static_cast<int>(tgid));
    // The OTLP Resource of the process wants its command line and host even
    // when the trace file does not (no environment variables then).
    if (!config_.include_environment && !tap_)
        return;
    EventRecord r;
    r.record_type = "process_info";
    r.tgid = tgid;
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    r.ts_ns = static_cast<std::uint64_t>(now.tv_sec) * 1000000000u +
              static_cast<std::uint64_t>(now.tv_nsec);
    r.description = "Environment of process " + std::to_string(tgid);
    r.details_json = environment_json(static_cast<int>(tgid),
                                      config_.include_environment ? config_.environment_allowlist
                                                                  : std::vector<std::string>{},
                                      options_.redact ? &redactor_ : nullptr)
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (tap_)
        tap(r);
    if (!config_.include_environment)
        return;
    if (writer_)
        writer_->process_info(r);
    ++events_written_;
}

void RecordSink::finish(const std::map<std::string, std::uint64_t>& filter_hits)
{
    if (writer_)
        writer_->finish();
    for (const auto& [name, hits] : filter_hits)
        if (hits == 0 && !seen_components_.count(name))
            spdlog::warn("component '{}' of the component filter matched no span or event: "
                         "check its spelling",
                         name);
}

}  // namespace lstrace
