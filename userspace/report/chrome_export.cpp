#include "report/chrome_export.hpp"

#include <cstdio>
#include <cstdlib>

#include "output/trace_output.hpp"

namespace lstrace {
namespace {

long long id_of(const nlohmann::json& record, const char* key)
{
    auto meta = record.find("metadata");
    if (meta == record.end())
        return 0;
    const std::string s = json_string(*meta, key);
    if (!s.empty())
        return std::atoll(s.c_str());
    return static_cast<long long>(json_signed(*meta, key));
}

nlohmann::json field_or_null(const nlohmann::json& j, const char* key)
{
    auto it = j.find(key);
    return it == j.end() ? nlohmann::json() : *it;
}

}  // namespace

void ChromeExporter::name_track(long long pid, long long tid, std::vector<nlohmann::json>& out)
{
    if (processes_.insert(pid).second)
        out.push_back({{"ph", "M"},
                       {"name", "process_name"},
                       {"pid", pid},
                       {"tid", 0},
                       {"args", {{"name", "pid " + std::to_string(pid)}}}});
    if (tid && threads_.insert({pid, tid}).second)
        out.push_back({{"ph", "M"},
                       {"name", "thread_name"},
                       {"pid", pid},
                       {"tid", tid},
                       {"args", {{"name", "tid " + std::to_string(tid)}}}});
}

void ChromeExporter::add(const TraceLine& line, std::vector<nlohmann::json>& out)
{
    const nlohmann::json& r = line.json;
    const long long pid = id_of(r, "process_id"), tid = id_of(r, "thread_id");
    name_track(pid, tid, out);
    // integral microseconds: a double would print as 1.79e+15
    const std::int64_t ts = parse_timestamp_us(json_string(r, "timestamp")).value_or(0);
    const std::string component = json_string(r, "component");
    if (line.kind == RecordKind::span) {
        const SpanFacts s = span_facts(r);
        nlohmann::json args = {{"span_id", s.span_id},
                               {"parent_span_id", field_or_null(r, "parent_span_id")},
                               {"trace_id", s.trace_id},
                               {"description", s.description},
                               {"tags", field_or_null(r, "tags")},
                               {"metadata", field_or_null(r, "metadata")},
                               {"resources", field_or_null(r, "resources")}};
        nlohmann::json ev = {{"ph", "X"},
                             {"name", component + "." + s.operation},
                             {"cat", s.failed ? component + ",error" : component},
                             {"ts", ts},
                             {"dur", s.duration_ms * 1000.0},
                             {"pid", pid},
                             {"tid", tid},
                             {"args", std::move(args)}};
        if (s.failed)
            ev["cname"] = "terrible";  // chrome://tracing's red
        out.push_back(std::move(ev));
        const std::int64_t end = s.end_us();
        const auto meta = r.find("metadata");
        if (meta != r.end() && meta->contains("memory_usage"))
            out.push_back({{"ph", "C"},
                           {"name", "memory_usage"},
                           {"ts", end},
                           {"pid", pid},
                           {"args", {{"rss_bytes", json_signed(*meta, "memory_usage")}}}});
        if (s.resources.present)
            out.push_back(
                {{"ph", "C"},
                 {"name", "span resources"},
                 {"ts", end},
                 {"pid", pid},
                 {"args",
                  {{"cpu_ms", s.resources.cpu_ms},
                   {"offcpu_ms", s.resources.offcpu_ms},
                   {"io_bytes", s.resources.io_bytes()},
                   {"page_faults", s.resources.minor_faults + s.resources.major_faults}}}});
        return;
    }
    const nlohmann::json tags = field_or_null(r, "tags");
    if (line.record_type == "process_sample") {
        // one counter track per figure (cpu_usage, memory_usage, threads, ...):
        // figures of different units would stack on one track
        if (tags.is_object())
            for (const auto& [key, value] : tags.items())
                if (value.is_number())
                    out.push_back({{"ph", "C"},
                                   {"name", "process " + key},
                                   {"ts", ts},
                                   {"pid", pid},
                                   {"args", {{key, value}}}});
        return;
    }
    std::string name = line.record_type;
    const std::string error_type = json_string(tags, "error_type");
    if (!error_type.empty())
        name += ": " + error_type;
    const bool error = line.record_type.rfind("error", 0) == 0;
    out.push_back({{"ph", "i"},
                   {"s", tid ? "t" : "p"},
                   {"name", name},
                   {"cat", error ? "error" : line.record_type},
                   {"ts", ts},
                   {"pid", pid},
                   {"tid", tid},
                   {"args",
                    {{"component", component},
                     {"span_id", field_or_null(r, "span_id")},
                     {"description", field_or_null(r, "description")},
                     {"tags", tags}}}});
}

}  // namespace lstrace
