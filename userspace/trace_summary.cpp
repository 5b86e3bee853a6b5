#include "trace_summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <istream>

#include "errors.hpp"

namespace lstrace {
namespace {

double number_or_zero(const nlohmann::json& j, const char* key)
{
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

// A counter field: a non-negative integer, or 0 when it is anything else
// (casting a negative or huge double to an integer is undefined).
std::uint64_t counter_or_zero(const nlohmann::json& j, const char* key)
{
    auto it = j.find(key);
    return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

std::int64_t signed_or_zero(const nlohmann::json& j, const char* key)
{
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

std::string human_bytes(double bytes)
{
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    double v = bytes;
    while (std::fabs(v) >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

}  // namespace

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
    // event records (component, error, data flow...) have no duration:
    // counted by type, not tabulated
    if (r.is_object()) {
        const auto type = r.find("record_type");
        if (type != r.end() && type->is_string() && *type != "span") {
            ++events_[type->get<std::string>()];
            return true;
        }
    }
    if (!r.is_object() || !r.contains("component") || !r.contains("operation") ||
        !r["component"].is_string() || !r["operation"].is_string() ||
        !r.contains("duration_ms") || !r["duration_ms"].is_number())
        return Error{"not a trace record (needs component, operation and duration_ms)"};
    OperationStats& s = ops_[{r["component"].get<std::string>(), r["operation"].get<std::string>()}];
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
        s.cpu_ms += number_or_zero(*res, "cpu_time_ms");
        s.offcpu_ms += number_or_zero(*res, "offcpu_time_ms");
        s.read_bytes += counter_or_zero(*res, "read_bytes");
        s.write_bytes += counter_or_zero(*res, "write_bytes");
        s.minor_faults += counter_or_zero(*res, "minor_faults");
        s.major_faults += counter_or_zero(*res, "major_faults");
        s.rss_delta_bytes += signed_or_zero(*res, "rss_delta_bytes");
    }
    return true;
}

Result<bool> TraceSummary::add_stream(std::istream& in)
{
    std::string line;
    for (std::uint64_t n = 1; std::getline(in, line); ++n) {
        if (line.empty())
            continue;
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded())
            return Error{"line " + std::to_string(n) + ": invalid JSON"};
        auto added = add(j);
        if (!added)
            return Error{"line " + std::to_string(n) + ": " + added.error().message};
    }
    return true;
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
        std::string name = key->first + "." + key->second;
        if (name.size() > 36)
            name = name.substr(0, 35) + "~";
        std::snprintf(buf, sizeof(buf),
                      "%-36s %6llu %5llu %9.2f %9.2f %10.1f %10.1f %10.1f %10s %8llu %10s\n",
                      name.c_str(), static_cast<unsigned long long>(s->spans),
                      static_cast<unsigned long long>(s->failures),
                      percentile(s->durations_ms, 50), percentile(s->durations_ms, 95), s->total_ms,
                      s->cpu_ms, s->offcpu_ms, human_bytes(double(s->write_bytes)).c_str(),
                      static_cast<unsigned long long>(s->minor_faults + s->major_faults),
                      human_bytes(double(s->rss_delta_bytes)).c_str());
        out += buf;
    }
    return out;
}

int run_summary(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        throw FatalError(ExitCode::no_target, "cannot open " + path);
    TraceSummary summary;
    auto ok = summary.add_stream(in);
    if (!ok)
        throw FatalError(ExitCode::bad_input, path + ": " + ok.error().message);
    std::fputs(summary.table().c_str(), stdout);
    std::printf("%llu spans, %zu operations\n",
                static_cast<unsigned long long>(summary.records()), summary.operations().size());
    if (!summary.events().empty()) {
        std::string line;
        for (const auto& [type, n] : summary.events())
            line += (line.empty() ? "" : ", ") + std::to_string(n) + " " + type;
        std::printf("events: %s\n", line.c_str());
    }
    return 0;
}

}  // namespace lstrace
