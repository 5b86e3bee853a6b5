#include "output/trace_format.hpp"

#include <charconv>
#include <string_view>
#include <type_traits>

#include "lstrace/probe_abi.h"
#include "output/json_buffer.hpp"
#include "output/json_writer.hpp"

namespace lstrace {

std::string format_timestamp(std::int64_t unix_ns)
{
    char buf[kMaxTimestampChars];
    return std::string(buf, write_timestamp(buf, unix_ns));
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

// Records are written member by member into a JsonBuffer: each key is a
// literal with its punctuation (`,"operation":`), each value goes straight
// into the buffer.  An object's first member has no comma; where the first
// one may be absent, a `first` flag decides.  To add a field, add its
// literal and value where it belongs in the order (docs/records.md and the
// schema files list the fields; the golden tests show the change).

void tag_value(JsonBuffer& b, const TagValue& v)
{
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::string>)
                b.string(x);
            else if constexpr (std::is_same_v<T, std::int64_t>)
                b.i64(x);
            else if constexpr (std::is_same_v<T, double>)
                b.f64(x);
            else if constexpr (std::is_same_v<T, bool>)
                b.boolean(x);
            else
                b.raw(x.text);  // JsonText: already JSON
        },
        v);
}

// A 16-digit id, or null for 0 (none).
void id_value(JsonBuffer& b, std::uint64_t id)
{
    if (id)
        b.quoted_hex(id);
    else
        b.null();
}

// The standard's leading fields, common to span and event records: opens
// the record's object.
void common_fields(JsonBuffer& b, std::uint64_t ts_ns, std::int64_t realtime_offset_ns,
                   std::uint64_t trace_hi, std::uint64_t trace_lo, std::uint64_t span_id)
{
    b.lit("{\"timestamp\":");
    b.quoted_timestamp(static_cast<std::int64_t>(ts_ns) + realtime_offset_ns);
    b.lit(",\"trace_id\":");
    if (trace_hi || trace_lo)
        b.quoted_hex(trace_hi, trace_lo);
    else
        b.null();
    b.lit(",\"span_id\":");
    id_value(b, span_id);
}

void names(JsonBuffer& b, const std::string& component, const std::string& operation,
           const std::string& description)
{
    b.lit(",\"component\":");
    b.string(component);
    b.lit(",\"operation\":");
    b.string(operation);
    b.lit(",\"description\":");
    b.string(description);
}

// metadata.truncated and metadata.redacted, when they apply (never first)
void flag_fields(JsonBuffer& b, std::uint32_t flags, int redactions)
{
    if (flags & LSTRACE_F_TRUNCATED)
        b.lit(",\"truncated\":true");
    if (redactions > 0) {
        b.lit(",\"redacted\":");
        b.i64(redactions);
    }
}

// What a span record's sections need to know beyond the record itself.
struct SpanFacts {
    std::uint64_t duration_ns = 0;
    double duration_ms = 0;
    bool have_figures = false;  // resources can be reported at all
    bool have_oncpu = false;    // and the on-CPU clock among them
    bool success = false;
    bool unwinding = false;  // ended while an exception unwound
};

double ns_to_ms(std::uint64_t ns)
{
    return static_cast<double>(ns) / 1e6;
}

SpanFacts span_facts(const SpanRecord& s)
{
    SpanFacts f;
    f.duration_ns = s.end_ns > s.begin_ns ? s.end_ns - s.begin_ns : 0;
    f.duration_ms = ns_to_ms(f.duration_ns);
    // per-thread counters of two different threads do not subtract
    f.have_figures = !s.aborted && !(s.flags & (LSTRACE_F_NO_BEGIN | LSTRACE_F_THREAD_CHANGED));
    f.have_oncpu = f.have_figures && !(s.flags & LSTRACE_F_NO_ONCPU);
    f.success = s.status == LSTRACE_STATUS_OK && !s.aborted;
    f.unwinding = s.status == LSTRACE_STATUS_EXCEPTION;
    return f;
}

void write_resources(JsonBuffer& b, const SpanRecord& s, const SpanFacts& f)
{
    const lstrace_span_figures& r = s.resources;
    if (f.have_oncpu) {
        const double cpu_ms = ns_to_ms(r.oncpu_ns);
        b.lit("{\"cpu_time_ms\":");
        b.ms(r.oncpu_ns);  // cpu_ms, written without the general double search
        b.lit(",\"offcpu_time_ms\":");
        b.f64(f.duration_ms > cpu_ms ? f.duration_ms - cpu_ms : 0.0);
    } else {
        b.lit("{\"cpu_time_ms\":null,\"offcpu_time_ms\":null");
    }
    // (keys with their punctuation: one copy each)
    const struct {
        std::string_view key;
        std::uint64_t value;
    } counters[] = {
        {",\"voluntary_ctx_switches\":", r.vol_ctxsw},
        {",\"involuntary_ctx_switches\":", r.invol_ctxsw},
        {",\"minor_faults\":", r.minor_faults},
        {",\"major_faults\":", r.major_faults},
    };
    for (const auto& c : counters) {
        b.raw(c.key);
        b.u64(c.value);
    }
    b.lit(",\"rss_delta_bytes\":");
    b.i64(r.rss_bytes);
    b.lit(",\"peak_rss_bytes\":");
    if (s.peak_rss_bytes >= 0)
        b.i64(s.peak_rss_bytes);
    else
        b.null();
    if (s.flags & LSTRACE_F_RSS_APPROXIMATE)
        b.lit(",\"rss_approximate\":true");
    if (s.flags & LSTRACE_F_RSS_OTHER_THREADS)
        b.lit(",\"rss_changed_by_other_threads\":true");
    if (s.flags & LSTRACE_F_PER_TASK)
        b.lit(",\"per_task\":true");
    b.lit(",\"fds_open_at_end\":");
    b.u64(s.fds_open);
    const struct {
        std::string_view key;
        std::uint64_t value;
    } io[] = {
        {",\"read_bytes\":", r.read_bytes},
        {",\"write_bytes\":", r.write_bytes},
        {",\"read_syscalls\":", r.read_syscalls},
        {",\"write_syscalls\":", r.write_syscalls},
        {",\"storage_read_bytes\":", r.storage_read_bytes},
        {",\"storage_write_bytes\":", r.storage_write_bytes},
        {",\"file_read_bytes\":", r.io.file_read_bytes},
        {",\"file_write_bytes\":", r.io.file_write_bytes},
        {",\"net_read_bytes\":", r.io.net_read_bytes},
        {",\"net_write_bytes\":", r.io.net_write_bytes},
        {",\"other_read_bytes\":", r.io.other_read_bytes},
        {",\"other_write_bytes\":", r.io.other_write_bytes},
        {",\"files_opened\":", r.io.files_opened},
        {",\"fds_closed\":", r.io.fds_closed},
        {",\"sockets_connected\":", r.io.sockets_connected},
        {",\"sockets_accepted\":", r.io.sockets_accepted},
        {",\"cpu_migrations\":", r.cpu_migrations},
    };
    for (const auto& c : io) {
        b.raw(c.key);
        b.u64(c.value);
    }
    b.lit(",\"io_wait_ms\":");
    if (f.have_oncpu)
        b.ms(r.io.io_wait_ns);
    else
        b.null();
    b.put('}');
}

// Tags the recorder writes itself in this span's record.  (Most keys are
// none of them: their length alone says so.)
bool recorder_writes(const std::string& k, const SpanRecord& s, const SpanFacts& f)
{
    switch (k.size()) {
    case 7:
        return k == "success" || (k == "aborted" && s.aborted);
    case 10:
        return k == "error_type" && !s.errors.empty();
    case 11:
        return k == "error_count" && s.errors.size() > 1;
    case 12:
        return k == "abort_reason" && s.aborted;
    case 13:
        return k == "error_message" && !s.errors.empty();
    case 15:
        return k == "memory_category" && f.have_figures;
    case 19:
        return k == "exception_unwinding" && f.unwinding;
    case 23:
        return k == "execution_time_category";
    default:
        return false;
    }
}

// The application's tags, then the recorder's own, which win over
// application tags of the same name (the standard's decorator sets
// "success" itself, for one).
void write_span_tags(JsonBuffer& b, const SpanRecord& s, const SpanFacts& f)
{
    b.put('{');
    for (const Tag& t : s.tags) {
        if (recorder_writes(t.key, s, f))
            continue;
        b.string(t.key);
        b.put(':');
        tag_value(b, t.value);
        b.put(',');
    }
    b.lit("\"success\":");
    b.boolean(f.success);
    if (!s.errors.empty()) {
        b.lit(",\"error_type\":");
        b.string(s.errors.back().type);
        b.lit(",\"error_message\":");
        b.string(s.errors.back().message);
        if (s.errors.size() > 1) {
            b.lit(",\"error_count\":");
            b.u64(s.errors.size());
        }
    }
    if (f.unwinding)
        b.lit(",\"exception_unwinding\":true");
    if (s.aborted) {
        b.lit(",\"aborted\":true,\"abort_reason\":");
        b.string(s.abort_reason);
    }
    b.lit(",\"execution_time_category\":");
    b.string(execution_time_category(f.duration_ms));
    if (f.have_figures) {
        b.lit(",\"memory_category\":");
        b.string(memory_category(s.resources.rss_bytes));
    }
    b.put('}');
}

void write_span_metadata(JsonBuffer& b, const SpanRecord& s, const SpanFacts& f, bool debug)
{
    b.lit("{\"thread_id\":");
    b.quoted_u64(s.tid);
    b.lit(",\"process_id\":");
    b.quoted_u64(s.tgid);
    // in a container, the ids the process sees itself
    if (s.ns_tgid && (s.ns_tgid != s.tgid || s.ns_tid != s.tid)) {
        b.lit(",\"ns_thread_id\":");
        b.quoted_u64(s.ns_tid);
        b.lit(",\"ns_process_id\":");
        b.quoted_u64(s.ns_tgid);
    }
    b.lit(",\"memory_usage\":");
    b.i64(s.rss_end_bytes);
    b.lit(",\"cpu_usage\":");
    if (f.have_oncpu && f.duration_ms > 0)
        b.f64(100.0 * ns_to_ms(s.resources.oncpu_ns) / f.duration_ms);
    else
        b.null();
    if (!s.tracer.empty()) {
        b.lit(",\"tracer\":");
        b.string(s.tracer);
    }
    if (!s.thread_name.empty()) {  // include_thread_info
        b.lit(",\"thread_name\":");
        b.string(s.thread_name);
        b.lit(",\"cpu\":");
        b.u64(s.begin_cpu);
        b.lit(",\"end_cpu\":");
        b.u64(s.end_cpu);
    }
    flag_fields(b, s.flags, s.redactions);
    if (s.flags & LSTRACE_F_THREAD_CHANGED)
        b.lit(",\"ended_on_other_thread\":true");
    if (debug) {  // TracingConfig debug_mode: the raw BPF view
        b.lit(",\"debug\":{\"begin_monotonic_ns\":");
        b.u64(s.begin_ns);
        b.lit(",\"end_monotonic_ns\":");
        b.u64(s.end_ns);
        b.lit(",\"bpf_flags\":");
        b.u64(s.flags);
        b.lit(",\"status\":");
        b.u64(s.status);
        b.put('}');
    }
    b.put('}');
}

// "0x1f": lower-case hex, as printf's %#x writes it for non-zero values
// (and "0x0" for zero).
void quoted_address(JsonBuffer& b, std::uint64_t v)
{
    b.room(20);
    char buf[20] = {'"', '0', 'x'};
    char* end = std::to_chars(buf + 3, buf + sizeof(buf), v, 16).ptr;
    *end++ = '"';
    b.raw(std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

}  // namespace

void format_span_json(JsonBuffer& b, const SpanRecord& s, std::int64_t realtime_offset_ns,
                      bool debug)
{
    const SpanFacts f = span_facts(s);
    common_fields(b, s.begin_ns, realtime_offset_ns, s.trace_id_hi, s.trace_id_lo, s.span_id);
    b.lit(",\"parent_span_id\":");
    id_value(b, s.parent_span_id);
    names(b, s.component, s.operation, s.description);
    b.lit(",\"duration_ms\":");
    b.ms(f.duration_ns);
    b.lit(",\"tags\":");
    write_span_tags(b, s, f);
    b.lit(",\"metadata\":");
    write_span_metadata(b, s, f, debug);
    b.lit(",\"resources\":");
    if (f.have_figures)
        write_resources(b, s, f);
    else
        b.null();
    // last, so the standard's fields keep their order at the front
    b.lit(",\"record_type\":\"span\"}\n");
}

void format_event_json(JsonBuffer& b, const EventRecord& e, std::int64_t realtime_offset_ns)
{
    common_fields(b, e.ts_ns, realtime_offset_ns, e.trace_id_hi, e.trace_id_lo, e.span_id);
    names(b, e.component, e.record_type, e.description);
    b.lit(",\"tags\":{");
    bool first = true;
    for (const Tag& t : e.tags) {
        if (!first)
            b.put(',');
        first = false;
        b.string(t.key);
        b.put(':');
        tag_value(b, t.value);
    }
    b.lit("},\"metadata\":{");
    if (e.tid) {
        b.lit("\"thread_id\":");
        b.quoted_u64(e.tid);
        b.put(',');
    }
    b.lit("\"process_id\":");
    b.quoted_u64(e.tgid);
    flag_fields(b, e.flags, e.redactions);
    b.put('}');
    if (!e.frames.empty() || !e.stack_note.empty()) {
        b.lit(",\"stack_trace\":[");
        bool first_frame = true;
        for (const Frame& fr : e.frames) {
            if (!first_frame)
                b.put(',');
            first_frame = false;
            b.lit("{\"address\":");
            quoted_address(b, fr.address);
            b.lit(",\"object\":");
            b.string(fr.object);
            b.lit(",\"offset\":");
            quoted_address(b, fr.file_offset);
            b.lit(",\"function\":");
            if (fr.function.empty())
                b.null();
            else
                b.string(fr.function);
            b.lit(",\"function_offset\":");
            b.u64(fr.function_offset);
            b.put('}');
        }
        b.put(']');
        if (!e.stack_note.empty()) {
            b.lit(",\"stack_note\":");
            b.string(e.stack_note);
        }
    }
    if (!e.details_json.empty()) {
        b.lit(",\"details\":");
        b.raw(e.details_json);
    }
    b.lit(",\"record_type\":");
    b.string(e.record_type);
    b.lit("}\n");
}

void append_json_line(std::string& out, const SpanRecord& s, std::int64_t realtime_offset_ns,
                      bool debug)
{
    thread_local JsonBuffer b;
    b.clear();
    format_span_json(b, s, realtime_offset_ns, debug);
    out.append(b.view());
}

void append_event_json_line(std::string& out, const EventRecord& e, std::int64_t realtime_offset_ns)
{
    thread_local JsonBuffer b;
    b.clear();
    format_event_json(b, e, realtime_offset_ns);
    out.append(b.view());
}

}  // namespace lstrace
