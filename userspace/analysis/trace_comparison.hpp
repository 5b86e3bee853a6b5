// `compare`, `trend` and `report --baseline`: is an operation slower, faster
// or unchanged between two recordings, and what explains it.
//
// One streaming pass per recording (trace_reader) builds, per
// component.operation, the figures of every span that finished (aborted
// spans are counted, not measured): duration, CPU, off-CPU, I/O wait, I/O
// bytes, page faults and RSS growth.  Their medians and p95 come from
// QuantileSketches over all spans; the statistical test runs on a uniform
// random sample (Algorithm R, fixed seed: the same files give the same
// verdicts) of at most kSampleCap spans per operation and recording.
//
// A figure is called changed when both hold:
//  - the Mann-Whitney U test (two-sided; average ranks for ties, normal
//    approximation with tie and continuity correction, exact distribution
//    for up to 20 spans per side without ties) gives p < 1 - confidence,
//    and its direction agrees with the medians';
//  - the median moved by at least min_effect of the baseline's median (and
//    by more than a floor per figure, e.g. 0.01 ms, below which clocks and
//    probes add noise; CPU, off-CPU and I/O wait also by min_effect of the
//    median duration), so tiny shifts in huge samples stay unchanged.
// With fewer than min_spans spans on a side there is no verdict ("too few
// spans").  Past kSampleCap spans the test sees the sample only: its power
// is that of kSampleCap spans per side, however long the recordings.
//
// Memory: per operation while a recording is read, the sketches (at most
// 4096 values each, then a few hundred buckets) and the sample (kSampleCap
// x 7 floats, 56 KiB); after it, the sample and a few numbers.  Not the
// number of spans.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "analysis/quantile_sketch.hpp"
#include "analysis/trace_reader.hpp"
#include "config/comparison_settings.hpp"

namespace lstrace {

// The per-span figures compared, in this order.
enum class Metric : std::size_t { duration, cpu, offcpu, io_wait, io_bytes, faults, rss_growth };
constexpr std::size_t kMetrics = 7;

struct MetricInfo {
    const char* key;    // JSON key
    const char* label;  // for text: "CPU", "off-CPU", ...
    bool time;          // milliseconds (slower/faster) or a quantity (higher/lower)
    double floor;       // smallest median shift that counts, in the figure's unit
};
const MetricInfo& metric_info(Metric metric);

struct MetricSummary {
    std::uint64_t spans = 0;  // spans that have this figure
    double median = 0, p95 = 0, mean = 0;
};

// One component.operation in one recording.
struct OperationSample {
    std::string component, operation;
    std::uint64_t spans = 0, failures = 0, aborted = 0;
    double total_ms = 0;
    // context switches of the measured spans: mostly involuntary means its
    // off-CPU time is mostly waiting for a CPU (preempted), not for an event
    std::uint64_t voluntary_switches = 0, involuntary_switches = 0;
    std::array<MetricSummary, kMetrics> metrics;  // set by RecordingProfile::finish
    // At most kSampleCap spans, uniformly chosen; NaN: the span lacks that figure.
    std::vector<std::array<float, kMetrics>> sample;
    std::string name() const { return component + "." + operation; }
};

// One recording, read in one pass.
class RecordingProfile {
public:
    static constexpr std::size_t kSampleCap = 2048;
    using Operations = std::map<std::pair<std::string, std::string>, OperationSample>;

    explicit RecordingProfile(std::string source = {}) : source_(std::move(source)) {}

    void add(const TraceLine& line);
    // Reads the file (FatalError on bad input, as analyze) and finishes.
    void add_file(const std::string& path);
    // After the last record: summaries from the sketches, which are freed.
    void finish();

    const std::string& source() const noexcept { return source_; }
    const Operations& operations() const noexcept { return ops_; }
    std::uint64_t spans() const noexcept { return spans_; }
    std::uint64_t events() const noexcept { return events_; }
    std::int64_t first_us() const noexcept { return first_us_; }  // 0: no timestamps
    double wall_ms() const noexcept;
    nlohmann::json to_json() const;  // file, spans, operations, first timestamp, wall time

private:
    struct Sketches {
        std::array<QuantileSketch, kMetrics> values;
        std::array<double, kMetrics> sums{};
        std::uint64_t seen = 0;  // spans offered to the sample
    };
    std::string source_;
    Operations ops_;
    std::map<std::pair<std::string, std::string>, std::unique_ptr<Sketches>> building_;
    std::mt19937_64 rng_{0x5eed1575};
    std::uint64_t spans_ = 0, events_ = 0;
    std::int64_t first_us_ = 0, last_us_ = 0;
};

// The Mann-Whitney U test of `b` against `a`.
struct RankTest {
    double p_value = 1.0;      // two-sided
    double superiority = 0.5;  // P(b > a) + P(b == a) / 2, from U
    bool exact = false;        // exact distribution (small samples, no ties)
};
RankTest mann_whitney(std::vector<double> a, std::vector<double> b);

enum class Shift { up, down, none, too_few };

struct MetricComparison {
    MetricSummary base, now;
    std::optional<double> change;  // relative change of the median; none when the base's is 0
    double p_value = 1.0;
    Shift shift = Shift::too_few;
};
MetricComparison compare_metric(Metric metric, const OperationSample& base,
                                const OperationSample& now, const ComparisonSettings& settings);

// "slower"/"faster" for times, "higher"/"lower" for quantities,
// "unchanged", "too few spans".
std::string shift_word(Metric metric, Shift shift);

struct OperationComparison {
    std::string component, operation;
    // slower, faster, unchanged (the duration's shift), new, gone, too few spans
    std::string verdict;
    const OperationSample* base = nullptr;  // null: new
    const OperationSample* now = nullptr;   // null: gone
    std::array<MetricComparison, kMetrics> metrics;
    double base_failure_rate = 0, new_failure_rate = 0, failure_p_value = 1.0;
    Shift failure_shift = Shift::too_few;
    // Time the change added to the new recording: (mean now - mean before)
    // x spans now; new: its total; gone: minus its total.
    double impact_ms = 0;
    // CPU, preemption, off-CPU, I/O wait, unexplained; "" unless slower/faster
    std::string explained_by;
    std::string explanation;  // "+48% CPU, off-CPU unchanged: the work itself grew"
    std::string name() const { return component + "." + operation; }
};

struct Comparison {
    ComparisonSettings settings;
    std::vector<OperationComparison> operations;  // largest |impact| first
    std::size_t common = 0;                       // operations in both recordings
};

// `only`: components to keep (all when empty).
Comparison compare_recordings(const RecordingProfile& base, const RecordingProfile& now,
                              const ComparisonSettings& settings,
                              const std::vector<std::string>& only = {});

// Operations whose p50 duration or median CPU time is slower by more than
// `percent` (compare --fail-on).
std::vector<const OperationComparison*> regressions(const Comparison& comparison, double percent);

nlohmann::json comparison_json(const Comparison& comparison, const RecordingProfile& base,
                               const RecordingProfile& now);
std::string comparison_text(const Comparison& comparison, const RecordingProfile& base,
                            const RecordingProfile& now);

// Recordings in start order and the comparison of each with the one before.
struct Trend {
    std::vector<RecordingProfile> recordings;  // oldest first
    std::vector<Comparison> steps;             // steps[i]: recordings[i] -> recordings[i + 1]
};
// The trace files `paths` name: files as given; a folder's *.jsonl and
// *.json files, by name.  FatalError (bad input) when fewer than two.
std::vector<std::string> trend_inputs(const std::vector<std::string>& paths);
// Reads the files (FatalError on bad input), orders them by their first
// timestamp, compares neighbours.
Trend build_trend(const std::vector<std::string>& paths, const ComparisonSettings& settings,
                  const std::vector<std::string>& only = {});
// Recordings already read (finished).
Trend build_trend(std::vector<RecordingProfile> recordings, const ComparisonSettings& settings,
                  const std::vector<std::string>& only = {});

nlohmann::json trend_json(const Trend& trend);
std::string trend_text(const Trend& trend);

// "the test" in words, for headers and docs.
std::string comparison_method(const ComparisonSettings& settings);

}  // namespace lstrace
