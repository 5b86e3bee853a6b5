// `lstrace-bpf report TRACE.jsonl -o report.html [--baseline BASE.jsonl]` (render_report).
#include "commands/report.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/trace_analyzer.hpp"
#include "analysis/trace_comparison.hpp"
#include "analysis/trace_reader.hpp"
#include "output/trace_output.hpp"
#include "report/report_html.hpp"

namespace lstrace {
namespace {

// Keeps the `limit` records that began first, as compact JSON text (a
// parsed record takes several times its text's memory), in at most twice
// that memory; take() gives them as a JSON array in begin order.
class EarliestRecords {
public:
    explicit EarliestRecords(std::size_t limit) : limit_(limit) {}
    void add(const nlohmann::json& record)
    {
        ++seen_;
        items_.emplace_back(parse_timestamp_us(json_string(record, "timestamp")).value_or(0),
                            record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        if (items_.size() >= 2 * limit_)
            trim();
    }
    std::string take()
    {
        trim();
        std::stable_sort(items_.begin(), items_.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        std::string out = "[";
        for (std::size_t i = 0; i < items_.size(); ++i) {
            if (i)
                out += ',';
            out += items_[i].second;
        }
        items_.clear();
        return out + "]";
    }
    std::uint64_t dropped() const noexcept { return seen_ > limit_ ? seen_ - limit_ : 0; }

private:
    void trim()
    {
        if (items_.size() <= limit_)
            return;
        std::nth_element(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(limit_),
                         items_.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        items_.resize(limit_);
    }
    std::size_t limit_;
    std::uint64_t seen_ = 0;
    std::vector<std::pair<std::int64_t, std::string>> items_;
};

// report --baseline: the comparison of `trace` with the latest baseline,
// and the trend of all of them.
void add_baseline_comparison(nlohmann::json& data, RecordingProfile trace,
                             const std::vector<std::string>& baselines)
{
    std::vector<RecordingProfile> recordings;
    for (const std::string& path : baselines) {
        recordings.emplace_back(path);
        recordings.back().add_file(path);
    }
    const auto latest = std::max_element(recordings.begin(), recordings.end(),
                                         [](const RecordingProfile& a, const RecordingProfile& b) {
                                             return a.first_us() < b.first_us();
                                         });
    const ComparisonSettings settings;
    data["comparison"] =
        comparison_json(compare_recordings(*latest, trace, settings), *latest, trace);
    recordings.push_back(std::move(trace));
    data["trend"] = trend_json(build_trend(std::move(recordings), settings));
}

}  // namespace

int run_report(const ReportOptions& options)
{
    TraceAnalyzer analyzer;
    RecordingProfile profile(options.path);
    EarliestRecords spans(options.max_spans), events(options.max_spans);
    read_trace_file(options.path, [&](const TraceLine& line) {
        analyzer.add(line);
        if (!options.baselines.empty())
            profile.add(line);
        (line.kind == RecordKind::span ? spans : events).add(line.json);
    });
    analyzer.finish();
    profile.finish();
    const nlohmann::json analysis = analyzer.to_json();
    nlohmann::json data = {
        {"source", options.path},
        {"spans_dropped", spans.dropped()},
        {"events_dropped", events.dropped()},
        {"analysis", {{"bottlenecks", analysis["bottlenecks"]}, {"input", analysis["input"]}}}};
    if (!options.baselines.empty())
        add_baseline_comparison(data, std::move(profile), options.baselines);
    // the records go in as text, spliced before the object's closing brace
    std::string json = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    json.pop_back();
    json += ",\"spans\":" + spans.take() + ",\"events\":" + events.take() + "}";
    TraceOutput out(options.output, /*overwrite=*/true);
    out.write(render_report_json(json));
    out.commit();
    std::fprintf(stderr, "lstrace-bpf: report of %llu spans and %llu events written to %s\n",
                 static_cast<unsigned long long>(analyzer.spans()),
                 static_cast<unsigned long long>(analyzer.events()), out.path().c_str());
    return 0;
}

}  // namespace lstrace
