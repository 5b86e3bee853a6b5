#include "output/text_format.hpp"

#include <cinttypes>
#include <cstdio>

#include "base/hex_id.hpp"
#include "base/terminal_text.hpp"
#include "lstrace/probe_abi.h"
#include "output/json_writer.hpp"
#include "output/trace_format.hpp"

namespace lstrace {
namespace {

void append_tags(std::string& out, const std::vector<Tag>& tags)
{
    if (tags.empty())
        return;
    std::string json;
    JsonWriter w(json);
    w.begin_object();
    for (const Tag& t : tags) {
        w.key(t.key);
        write_tag_value(w, t.value);
    }
    w.end_object();
    // JSON escapes C0 controls but not C1 (U+0080..U+009F), which some
    // terminals obey; printable() writes those as \u0080.., still JSON
    out.push_back(' ');
    out += printable(json);
}

void appendf(std::string& out, const char* fmt, double a, double b)
{
    char buf[96];
    std::snprintf(buf, sizeof(buf), fmt, a, b);
    out += buf;
}

}  // namespace

void append_text_line(std::string& out, const SpanRecord& s, std::int64_t realtime_offset_ns)
{
    out += format_timestamp(static_cast<std::int64_t>(s.begin_ns) + realtime_offset_ns);
    out += " span ";
    // traced strings, shown on terminals (--format text -o -, --verbose-errors)
    out += printable(s.component) + "/" + printable(s.operation);
    const double ms = s.end_ns > s.begin_ns ? static_cast<double>(s.end_ns - s.begin_ns) / 1e6 : 0;
    const bool figures =
        !s.aborted &&
        !(s.flags & (LSTRACE_F_NO_BEGIN | LSTRACE_F_THREAD_CHANGED | LSTRACE_F_NO_ONCPU));
    if (figures)
        appendf(out, " %.3f ms cpu %.3f ms", ms, static_cast<double>(s.resources.oncpu_ns) / 1e6);
    else
        appendf(out, " %.3f ms", ms, 0);
    if (s.aborted)
        out += " ABORTED (" + printable(s.abort_reason) + ")";
    else if (s.status != LSTRACE_STATUS_OK)
        out += " FAILED" + (s.errors.empty() ? std::string()
                                             : " " + printable(s.errors.back().type) + ": " +
                                                   printable(s.errors.back().message));
    else
        out += " ok";
    out += " pid " + std::to_string(s.tgid) + " tid " + std::to_string(s.tid);
    out += " trace " + hex_trace_id(s.trace_id_hi, s.trace_id_lo).substr(0, 8);
    out += " span " + hex_id(s.span_id).substr(0, 8);
    append_tags(out, s.tags);
    out.push_back('\n');
}

void append_event_text_line(std::string& out, const EventRecord& e, std::int64_t realtime_offset_ns)
{
    out += format_timestamp(static_cast<std::int64_t>(e.ts_ns) + realtime_offset_ns);
    out += " " + printable(e.record_type) + " ";
    if (!e.component.empty())
        out += printable(e.component) + ": ";
    out += printable(e.description);
    append_tags(out, e.tags);
    out.push_back('\n');
    for (const Frame& f : e.frames) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "    0x%" PRIx64 " ", f.address);
        out += buf;
        out += f.function.empty() ? "?" : printable(f.function);
        out += " (" + (f.object.empty() ? std::string("?") : printable(f.object)) + ")\n";
    }
    if (!e.stack_note.empty())
        out += "    (" + e.stack_note + ")\n";
}

}  // namespace lstrace
