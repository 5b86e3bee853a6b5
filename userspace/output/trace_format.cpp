#include "output/trace_format.hpp"

#include <cinttypes>
#include <climits>
#include <cstdio>
#include <ctime>
#include <type_traits>

#include "base/hex_id.hpp"
#include "lstrace/probe_abi.h"
#include "output/json_writer.hpp"

namespace lstrace {

std::string format_timestamp(std::int64_t unix_ns)
{
    std::int64_t secs = unix_ns / 1000000000;
    std::int64_t rem = unix_ns % 1000000000;
    if (rem < 0) {
        rem += 1000000000;
        secs -= 1;
    }
    // Consecutive records fall in the same second: the date and time part
    // is formatted once per second, not per record (strftime is costly).
    // One cache per thread.
    thread_local std::int64_t cached_secs = INT64_MIN;
    thread_local char cached[32];
    thread_local std::size_t cached_len = 0;
    if (secs != cached_secs) {
        const std::time_t t = static_cast<std::time_t>(secs);
        std::tm tm{};
        gmtime_r(&t, &tm);
        cached_len = std::strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
        cached_secs = secs;
    }
    std::string out(cached, cached_len);
    char frac[9] = {'.', 0, 0, 0, 0, 0, 0, 'Z', 0};
    std::int64_t us = rem / 1000;
    for (int i = 6; i >= 1; --i, us /= 10)
        frac[i] = static_cast<char>('0' + us % 10);
    out.append(frac, 8);
    return out;
}

const char* execution_time_category(double duration_ms)
{
    if (duration_ms < 1.0)
        return "very_fast";
    if (duration_ms < 10.0)
        return "fast";
    if (duration_ms < 100.0)
        return "normal";
    if (duration_ms < 1000.0)
        return "slow";
    return "very_slow";
}

const char* memory_category(std::int64_t delta_bytes)
{
    if (delta_bytes < 1024)
        return "minimal";
    if (delta_bytes < 1024 * 1024)
        return "small";
    if (delta_bytes < 10 * 1024 * 1024)
        return "moderate";
    if (delta_bytes < 100 * 1024 * 1024)
        return "large";
    return "very_large";
}

void write_tag_value(JsonWriter& w, const TagValue& v)
{
    std::visit(
        [&](const auto& x) {
            if constexpr (std::is_same_v<std::decay_t<decltype(x)>, JsonText>)
                w.raw(x.text);
            else
                w.value(x);
        },
        v);
}

namespace {

double ns_to_ms(std::uint64_t ns)
{
    return static_cast<double>(ns) / 1e6;
}

// "key": a 16-digit id, or null for 0 (none)
void id_field(JsonWriter& w, const char* key, std::uint64_t id)
{
    w.key(key);
    if (id)
        w.value(hex_id(id));
    else
        w.null();
}

// The standard's leading fields, common to span and event records.
void common_fields(JsonWriter& w, std::uint64_t ts_ns, std::int64_t realtime_offset_ns,
                   std::uint64_t trace_hi, std::uint64_t trace_lo, std::uint64_t span_id)
{
    w.key("timestamp");
    w.value(format_timestamp(static_cast<std::int64_t>(ts_ns) + realtime_offset_ns));
    w.key("trace_id");
    if (trace_hi || trace_lo)
        w.value(hex_trace_id(trace_hi, trace_lo));
    else
        w.null();
    id_field(w, "span_id", span_id);
}

void names(JsonWriter& w, const std::string& component, const std::string& operation,
           const std::string& description)
{
    w.key("component");
    w.value(component);
    w.key("operation");
    w.value(operation);
    w.key("description");
    w.value(description);
}

// metadata.truncated and metadata.redacted, when they apply
void flag_fields(JsonWriter& w, std::uint32_t flags, int redactions)
{
    if (flags & LSTRACE_F_TRUNCATED) {
        w.key("truncated");
        w.value(true);
    }
    if (redactions > 0) {
        w.key("redacted");
        w.value(static_cast<std::int64_t>(redactions));
    }
}

void write_resources(JsonWriter& w, const SpanRecord& s, double duration_ms, bool have_oncpu)
{
    const lstrace_span_figures& f = s.resources;
    w.begin_object();
    if (have_oncpu) {
        const double cpu_ms = ns_to_ms(f.oncpu_ns);
        w.key("cpu_time_ms");
        w.value(cpu_ms);
        w.key("offcpu_time_ms");
        w.value(duration_ms > cpu_ms ? duration_ms - cpu_ms : 0.0);
    } else {
        w.key("cpu_time_ms");
        w.null();
        w.key("offcpu_time_ms");
        w.null();
    }
    const struct {
        const char* name;
        std::uint64_t value;
    } counters[] = {
        {"voluntary_ctx_switches", f.vol_ctxsw},
        {"involuntary_ctx_switches", f.invol_ctxsw},
        {"minor_faults", f.minor_faults},
        {"major_faults", f.major_faults},
    };
    for (const auto& c : counters) {
        w.key(c.name);
        w.value(c.value);
    }
    w.key("rss_delta_bytes");
    w.value(static_cast<std::int64_t>(f.rss_bytes));
    w.key("peak_rss_bytes");
    if (s.peak_rss_bytes >= 0)
        w.value(s.peak_rss_bytes);
    else
        w.null();
    if (s.flags & LSTRACE_F_RSS_APPROXIMATE) {
        w.key("rss_approximate");
        w.value(true);
    }
    if (s.flags & LSTRACE_F_RSS_OTHER_THREADS) {
        w.key("rss_changed_by_other_threads");
        w.value(true);
    }
    if (s.flags & LSTRACE_F_PER_TASK) {
        w.key("per_task");
        w.value(true);
    }
    w.key("fds_open_at_end");
    w.value(static_cast<std::uint64_t>(s.fds_open));
    const struct {
        const char* name;
        std::uint64_t value;
    } io[] = {
        {"read_bytes", f.read_bytes},
        {"write_bytes", f.write_bytes},
        {"read_syscalls", f.read_syscalls},
        {"write_syscalls", f.write_syscalls},
        {"storage_read_bytes", f.storage_read_bytes},
        {"storage_write_bytes", f.storage_write_bytes},
        {"file_read_bytes", f.io.file_read_bytes},
        {"file_write_bytes", f.io.file_write_bytes},
        {"net_read_bytes", f.io.net_read_bytes},
        {"net_write_bytes", f.io.net_write_bytes},
        {"other_read_bytes", f.io.other_read_bytes},
        {"other_write_bytes", f.io.other_write_bytes},
        {"files_opened", f.io.files_opened},
        {"fds_closed", f.io.fds_closed},
        {"sockets_connected", f.io.sockets_connected},
        {"sockets_accepted", f.io.sockets_accepted},
        {"cpu_migrations", f.cpu_migrations},
    };
    for (const auto& c : io) {
        w.key(c.name);
        w.value(c.value);
    }
    w.key("io_wait_ms");
    if (have_oncpu)
        w.value(ns_to_ms(f.io.io_wait_ns));
    else
        w.null();
    w.end_object();
}

// What a span record's sections need to know beyond the record itself.
struct SpanFacts {
    double duration_ms = 0;
    bool have_figures = false;  // resources can be reported at all
    bool have_oncpu = false;    // and the on-CPU clock among them
    bool success = false;
    bool unwinding = false;  // ended while an exception unwound
};

SpanFacts span_facts(const SpanRecord& s)
{
    SpanFacts f;
    f.duration_ms = s.end_ns > s.begin_ns ? ns_to_ms(s.end_ns - s.begin_ns) : 0.0;
    // per-thread counters of two different threads do not subtract
    f.have_figures = !s.aborted && !(s.flags & (LSTRACE_F_NO_BEGIN | LSTRACE_F_THREAD_CHANGED));
    f.have_oncpu = f.have_figures && !(s.flags & LSTRACE_F_NO_ONCPU);
    f.success = s.status == LSTRACE_STATUS_OK && !s.aborted;
    f.unwinding = s.status == LSTRACE_STATUS_EXCEPTION;
    return f;
}

// The application's tags, then the recorder's own, which win over
// application tags of the same name (the standard's decorator sets
// "success" itself, for one).
void write_span_tags(JsonWriter& w, const SpanRecord& s, const SpanFacts& f)
{
    const auto recorder_writes = [&](const std::string& k) {
        return k == "success" || k == "execution_time_category" ||
               (k == "memory_category" && f.have_figures) ||
               ((k == "error_type" || k == "error_message") && !s.errors.empty()) ||
               (k == "error_count" && s.errors.size() > 1) ||
               (k == "exception_unwinding" && f.unwinding) ||
               ((k == "aborted" || k == "abort_reason") && s.aborted);
    };
    w.begin_object();
    for (const Tag& t : s.tags) {
        if (recorder_writes(t.key))
            continue;
        w.key(t.key);
        write_tag_value(w, t.value);
    }
    w.key("success");
    w.value(f.success);
    if (!s.errors.empty()) {
        w.key("error_type");
        w.value(s.errors.back().type);
        w.key("error_message");
        w.value(s.errors.back().message);
        if (s.errors.size() > 1) {
            w.key("error_count");
            w.value(static_cast<std::uint64_t>(s.errors.size()));
        }
    }
    if (f.unwinding) {
        w.key("exception_unwinding");
        w.value(true);
    }
    if (s.aborted) {
        w.key("aborted");
        w.value(true);
        w.key("abort_reason");
        w.value(s.abort_reason);
    }
    w.key("execution_time_category");
    w.value(execution_time_category(f.duration_ms));
    if (f.have_figures) {
        w.key("memory_category");
        w.value(memory_category(s.resources.rss_bytes));
    }
    w.end_object();
}

template <typename T>
void put(JsonWriter& w, const char* key, const T& value)
{
    w.key(key);
    w.value(value);
}

// metadata.debug (TracingConfig debug_mode): the raw BPF view.
void write_span_debug(JsonWriter& w, const SpanRecord& s)
{
    w.begin_object();
    put(w, "begin_monotonic_ns", s.begin_ns);
    put(w, "end_monotonic_ns", s.end_ns);
    put(w, "bpf_flags", static_cast<std::uint64_t>(s.flags));
    put(w, "status", static_cast<std::uint64_t>(s.status));
    w.end_object();
}

void write_span_metadata(JsonWriter& w, const SpanRecord& s, const SpanFacts& f, bool debug)
{
    w.begin_object();
    put(w, "thread_id", std::to_string(s.tid));
    put(w, "process_id", std::to_string(s.tgid));
    // in a container, the ids the process sees itself
    if (s.ns_tgid && (s.ns_tgid != s.tgid || s.ns_tid != s.tid)) {
        put(w, "ns_thread_id", std::to_string(s.ns_tid));
        put(w, "ns_process_id", std::to_string(s.ns_tgid));
    }
    put(w, "memory_usage", static_cast<std::int64_t>(s.rss_end_bytes));
    w.key("cpu_usage");
    if (f.have_oncpu && f.duration_ms > 0)
        w.value(100.0 * ns_to_ms(s.resources.oncpu_ns) / f.duration_ms);
    else
        w.null();
    if (!s.tracer.empty())
        put(w, "tracer", s.tracer);
    if (!s.thread_name.empty()) {  // include_thread_info
        put(w, "thread_name", s.thread_name);
        put(w, "cpu", static_cast<std::uint64_t>(s.begin_cpu));
        put(w, "end_cpu", static_cast<std::uint64_t>(s.end_cpu));
    }
    flag_fields(w, s.flags, s.redactions);
    if (s.flags & LSTRACE_F_THREAD_CHANGED) {
        w.key("ended_on_other_thread");
        w.value(true);
    }
    if (debug) {
        w.key("debug");
        write_span_debug(w, s);
    }
    w.end_object();
}

}  // namespace

void append_json_line(std::string& out, const SpanRecord& s, std::int64_t realtime_offset_ns,
                      bool debug)
{
    const SpanFacts f = span_facts(s);
    JsonWriter w(out);
    w.begin_object();
    common_fields(w, s.begin_ns, realtime_offset_ns, s.trace_id_hi, s.trace_id_lo, s.span_id);
    id_field(w, "parent_span_id", s.parent_span_id);
    names(w, s.component, s.operation, s.description);
    w.key("duration_ms");
    w.value(f.duration_ms);
    w.key("tags");
    write_span_tags(w, s, f);
    w.key("metadata");
    write_span_metadata(w, s, f, debug);
    w.key("resources");
    if (f.have_figures)
        write_resources(w, s, f.duration_ms, f.have_oncpu);
    else
        w.null();
    // last, so the standard's fields keep their order at the front
    w.key("record_type");
    w.value("span");
    w.end_object();
    out.push_back('\n');
}

void append_event_json_line(std::string& out, const EventRecord& e, std::int64_t realtime_offset_ns)
{
    JsonWriter w(out);
    w.begin_object();
    common_fields(w, e.ts_ns, realtime_offset_ns, e.trace_id_hi, e.trace_id_lo, e.span_id);
    names(w, e.component, e.record_type, e.description);
    w.key("tags");
    w.begin_object();
    for (const Tag& t : e.tags) {
        w.key(t.key);
        write_tag_value(w, t.value);
    }
    w.end_object();
    w.key("metadata");
    w.begin_object();
    if (e.tid) {
        w.key("thread_id");
        w.value(std::to_string(e.tid));
    }
    w.key("process_id");
    w.value(std::to_string(e.tgid));
    flag_fields(w, e.flags, e.redactions);
    w.end_object();
    if (!e.frames.empty() || !e.stack_note.empty()) {
        w.key("stack_trace");
        w.begin_array();
        for (const Frame& f : e.frames) {
            w.begin_object();
            char hex[24];
            std::snprintf(hex, sizeof(hex), "0x%" PRIx64, f.address);
            w.key("address");
            w.value(hex);
            w.key("object");
            w.value(f.object);
            std::snprintf(hex, sizeof(hex), "0x%" PRIx64, f.file_offset);
            w.key("offset");
            w.value(hex);
            w.key("function");
            if (f.function.empty())
                w.null();
            else
                w.value(f.function);
            w.key("function_offset");
            w.value(f.function_offset);
            w.end_object();
        }
        w.end_array();
        if (!e.stack_note.empty()) {
            w.key("stack_note");
            w.value(e.stack_note);
        }
    }
    if (!e.details_json.empty()) {
        w.key("details");
        w.raw(e.details_json);
    }
    w.key("record_type");
    w.value(e.record_type);
    w.end_object();
    out.push_back('\n');
}

}  // namespace lstrace
