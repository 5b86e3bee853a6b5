#include "trace_format.hpp"

#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "lstrace/probe_abi.h"

namespace lstrace {

std::string format_timestamp(std::int64_t unix_ns)
{
    std::int64_t secs = unix_ns / 1000000000;
    std::int64_t rem = unix_ns % 1000000000;
    if (rem < 0) {
        rem += 1000000000;
        secs -= 1;
    }
    const std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof(buf) - n, ".%06" PRId64 "Z", rem / 1000);
    return buf;
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

std::string hex_id(std::uint64_t id)
{
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%016" PRIx64, id);
    return buf;
}

std::string hex_trace_id(std::uint64_t hi, std::uint64_t lo)
{
    return hex_id(hi) + hex_id(lo);
}

namespace {

nlohmann::ordered_json tag_json(const TagValue& v)
{
    return std::visit([](const auto& x) { return nlohmann::ordered_json(x); }, v);
}

double ns_to_ms(std::uint64_t ns)
{
    return static_cast<double>(ns) / 1e6;
}

nlohmann::ordered_json resources_json(const lstrace_span_figures& f, double duration_ms,
                                      bool have_oncpu)
{
    nlohmann::ordered_json r;
    if (have_oncpu) {
        const double cpu_ms = ns_to_ms(f.oncpu_ns);
        r["cpu_time_ms"] = cpu_ms;
        r["offcpu_time_ms"] = duration_ms > cpu_ms ? duration_ms - cpu_ms : 0.0;
    } else {
        r["cpu_time_ms"] = nullptr;
        r["offcpu_time_ms"] = nullptr;
    }
    r["voluntary_ctx_switches"] = f.vol_ctxsw;
    r["involuntary_ctx_switches"] = f.invol_ctxsw;
    r["minor_faults"] = f.minor_faults;
    r["major_faults"] = f.major_faults;
    r["rss_delta_bytes"] = f.rss_bytes;
    r["read_bytes"] = f.read_bytes;
    r["write_bytes"] = f.write_bytes;
    r["read_syscalls"] = f.read_syscalls;
    r["write_syscalls"] = f.write_syscalls;
    r["storage_read_bytes"] = f.storage_read_bytes;
    r["storage_write_bytes"] = f.storage_write_bytes;
    return r;
}

}  // namespace

nlohmann::ordered_json to_json(const SpanRecord& s, std::int64_t realtime_offset_ns)
{
    const double duration_ms = s.end_ns > s.begin_ns ? ns_to_ms(s.end_ns - s.begin_ns) : 0.0;
    const bool have_figures = !(s.flags & LSTRACE_F_NO_BEGIN);
    const bool have_oncpu = have_figures && !(s.flags & LSTRACE_F_NO_ONCPU);

    nlohmann::ordered_json j;
    j["timestamp"] = format_timestamp(static_cast<std::int64_t>(s.begin_ns) + realtime_offset_ns);
    j["trace_id"] = hex_trace_id(s.trace_id_hi, s.trace_id_lo);
    j["span_id"] = hex_id(s.span_id);
    j["parent_span_id"] = s.parent_span_id ? nlohmann::ordered_json(hex_id(s.parent_span_id))
                                           : nlohmann::ordered_json(nullptr);
    j["component"] = s.component;
    j["operation"] = s.operation;
    j["description"] = s.description;
    j["duration_ms"] = duration_ms;

    nlohmann::ordered_json tags = nlohmann::ordered_json::object();
    for (const Tag& t : s.tags)
        tags[t.key] = tag_json(t.value);
    const bool success = s.status == LSTRACE_STATUS_OK;
    tags["success"] = success;
    if (!s.errors.empty()) {
        tags["error_type"] = s.errors.back().type;
        tags["error_message"] = s.errors.back().message;
        if (s.errors.size() > 1)
            tags["error_count"] = s.errors.size();
    }
    if (s.status == LSTRACE_STATUS_EXCEPTION)
        tags["exception_unwinding"] = true;
    tags["execution_time_category"] = execution_time_category(duration_ms);
    if (have_figures)
        tags["memory_category"] = memory_category(s.resources.rss_bytes);
    j["tags"] = std::move(tags);

    nlohmann::ordered_json meta;
    meta["thread_id"] = std::to_string(s.tid);
    meta["process_id"] = std::to_string(s.tgid);
    meta["memory_usage"] = s.rss_end_bytes;
    if (have_oncpu && duration_ms > 0)
        meta["cpu_usage"] = 100.0 * ns_to_ms(s.resources.oncpu_ns) / duration_ms;
    else
        meta["cpu_usage"] = nullptr;
    if (!s.tracer.empty())
        meta["tracer"] = s.tracer;
    if (s.flags & LSTRACE_F_TRUNCATED)
        meta["truncated"] = true;
    if (s.flags & LSTRACE_F_THREAD_CHANGED)
        meta["ended_on_other_thread"] = true;
    j["metadata"] = std::move(meta);

    j["resources"] = have_figures ? resources_json(s.resources, duration_ms, have_oncpu)
                                  : nlohmann::ordered_json(nullptr);
    return j;
}

std::string to_json_line(const SpanRecord& s, std::int64_t realtime_offset_ns)
{
    std::string line = to_json(s, realtime_offset_ns)
                           .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    line.push_back('\n');
    return line;
}

}  // namespace lstrace
