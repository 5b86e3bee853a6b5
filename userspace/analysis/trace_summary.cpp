#include "analysis/trace_summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <istream>

#include "analysis/trace_reader.hpp"
#include "base/errors.hpp"
#include "base/terminal_text.hpp"

namespace lstrace {

double percentile(std::vector<double> values, double p)
{
    if (values.empty())
        return 0.0;
    std::sort(values.begin(), values.end());
    const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
    const std::size_t idx = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
    return values[std::min(idx, values.size() - 1)];
}

Result<bool> TraceSummary::add(const nlohmann::json& r)
{
    RecordKind kind = RecordKind::span;
    std::string type;
    const std::string problem = record_problem(r, kind, type);
    if (!problem.empty())
        return Error{problem};
    // event records (component, error, data flow...) have no duration:
    // counted by type, not tabulated
    if (kind != RecordKind::span) {
        ++events_[type];
        return true;
    }
    OperationStats& s =
        ops_[{r["component"].get<std::string>(), r["operation"].get<std::string>()}];
    ++records_;
    ++s.spans;
    const double ms = r["duration_ms"].get<double>();
    s.durations_ms.push_back(ms);
    s.total_ms += ms;
    const auto tags = r.find("tags");
    if (tags != r.end() && tags->is_object()) {
        auto ok = tags->find("success");
        if (ok != tags->end() && ok->is_boolean() && !ok->get<bool>())
            ++s.failures;
    }
    const auto res = r.find("resources");
    if (res != r.end() && res->is_object()) {
        s.cpu_ms += json_number(*res, "cpu_time_ms");
        s.offcpu_ms += json_number(*res, "offcpu_time_ms");
        s.read_bytes += json_counter(*res, "read_bytes");
        s.write_bytes += json_counter(*res, "write_bytes");
        s.minor_faults += json_counter(*res, "minor_faults");
        s.major_faults += json_counter(*res, "major_faults");
        s.rss_delta_bytes += json_signed(*res, "rss_delta_bytes");
    }
    return true;
}

Result<bool> TraceSummary::add_stream(std::istream& in)
{
    return read_trace_stream(in, [this](const TraceLine& line) { add(line.json); });
}

std::string TraceSummary::table() const
{
    std::vector<std::pair<const std::pair<std::string, std::string>*, const OperationStats*>> rows;
    for (const auto& [key, stats] : ops_)
        rows.emplace_back(&key, &stats);
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.second->total_ms > b.second->total_ms; });
    std::string out;
    char buf[512];
    std::snprintf(buf, sizeof(buf), "%-36s %6s %5s %9s %9s %10s %10s %10s %10s %8s %10s\n",
                  "component.operation", "spans", "fail", "p50 ms", "p95 ms", "total ms", "cpu ms",
                  "off-cpu ms", "written", "faults", "rss delta");
    out += buf;
    for (const auto& [key, s] : rows) {
        const std::string name = clip(key->first + "." + key->second, 36);
        std::snprintf(buf, sizeof(buf),
                      "%-36s %6llu %5llu %9.2f %9.2f %10.1f %10.1f %10.1f %10s %8llu %10s\n",
                      name.c_str(), static_cast<unsigned long long>(s->spans),
                      static_cast<unsigned long long>(s->failures), percentile(s->durations_ms, 50),
                      percentile(s->durations_ms, 95), s->total_ms, s->cpu_ms, s->offcpu_ms,
                      human_bytes(double(s->write_bytes)).c_str(),
                      static_cast<unsigned long long>(s->minor_faults + s->major_faults),
                      human_bytes(double(s->rss_delta_bytes)).c_str());
        out += buf;
    }
    return out;
}

}  // namespace lstrace
