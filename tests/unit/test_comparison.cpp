// compare and trend: the rank test against hand-computed values, and
// verdicts on synthetic traces of known distributions (seeded generators,
// 100 runs where a rate is claimed).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "analysis/trace_comparison.hpp"
#include "base/errors.hpp"
#include "common/synthetic_trace.hpp"

using namespace lstrace;
using lstrace::test::synthetic_operations_trace;
using lstrace::test::SyntheticOperation;

namespace {

RecordingProfile profile_of(const std::string& text, const std::string& name = "t")
{
    RecordingProfile p(name);
    std::istringstream in(text);
    auto ok = read_trace_stream(in, [&](const TraceLine& line) { p.add(line); });
    REQUIRE(ok.ok());
    p.finish();
    return p;
}

SyntheticOperation op(const std::string& name, int spans, double median, double sigma = 0.3)
{
    SyntheticOperation o;
    o.component = "svc";
    o.operation = name;
    o.spans = spans;
    o.median_ms = median;
    o.sigma = sigma;
    return o;
}

// The verdict of "svc.<name>" comparing a trace of `before` with one of
// `after`, each drawn with its own seed.
std::string verdict_of(const SyntheticOperation& before, const SyntheticOperation& after,
                       std::uint64_t seed, const ComparisonSettings& settings = {})
{
    const RecordingProfile base = profile_of(synthetic_operations_trace(seed, {before}));
    const RecordingProfile now = profile_of(synthetic_operations_trace(seed + 1'000'003, {after}));
    const Comparison c = compare_recordings(base, now, settings);
    REQUIRE(c.operations.size() == 1);
    return c.operations[0].verdict;
}

int count_verdicts(const SyntheticOperation& before, const SyntheticOperation& after,
                   const std::string& verdict, const ComparisonSettings& settings = {})
{
    int n = 0;
    for (std::uint64_t seed = 1; seed <= 100; ++seed)
        n += verdict_of(before, after, seed, settings) == verdict;
    return n;
}

const OperationComparison& find(const Comparison& c, const std::string& operation)
{
    for (const OperationComparison& o : c.operations)
        if (o.operation == operation)
            return o;
    FAIL("no operation " << operation);
    throw std::logic_error("unreachable");
}

// A file in a fresh temporary folder, removed at the end of the test.
struct TempFile {
    std::string path;
    explicit TempFile(const std::string& text)
    {
        char tmpl[] = "/tmp/lstrace-compare-XXXXXX";
        dir = mkdtemp(tmpl);
        path = dir + "/t.jsonl";
        std::ofstream(path) << text;
    }
    ~TempFile() { std::filesystem::remove_all(dir); }
    std::string dir;
};

std::pair<ExitCode, std::string> add_file_error(const std::string& path)
{
    try {
        RecordingProfile p;
        p.add_file(path);
    } catch (const FatalError& e) {
        return {e.code(), e.what()};
    }
    return {ExitCode::ok, ""};
}

}  // namespace

TEST_CASE("Mann-Whitney U: exact and tie-corrected p-values as computed by hand", "[comparison]")
{
    // no overlap, 5 and 5: 2 of the C(10,5) = 252 orderings are as extreme
    RankTest t = mann_whitney({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10});
    CHECK(t.exact);
    CHECK(t.superiority == 1.0);
    CHECK(t.p_value == Approx(2.0 / 252.0));
    // 3 and 2: U = 6 is 1 ordering of C(5,2) = 10, two-sided 0.2
    CHECK(mann_whitney({1, 2, 3}, {4, 5}).p_value == Approx(0.2));
    CHECK(mann_whitney({4, 5}, {1, 2, 3}).superiority == 0.0);
    // interleaved: the middle of the distribution
    CHECK(mann_whitney({1, 3, 5, 7}, {2, 4, 6, 8}).p_value > 0.6);
    // ties: ranks 1, 3, 3 | 3, 5.5, 5.5; U = 8, mean 4.5, variance
    // 9/12 * (7 - 30/30) = 4.5; z = (3.5 - 0.5) / sqrt(4.5) = sqrt(2); p = erfc(1)
    t = mann_whitney({1, 2, 2}, {2, 3, 3});
    CHECK_FALSE(t.exact);
    CHECK(t.superiority == Approx(8.0 / 9.0));
    CHECK(t.p_value == Approx(std::erfc(1.0)));
    // all equal, or a side empty: no evidence
    CHECK(mann_whitney({2, 2, 2}, {2, 2}).p_value == 1.0);
    CHECK(mann_whitney({}, {1, 2}).p_value == 1.0);
    // past the exact sizes, the normal approximation: 30 below 30, z = 6.6
    std::vector<double> low, high;
    for (int i = 0; i < 30; ++i) {
        low.push_back(i);
        high.push_back(100 + i);
    }
    t = mann_whitney(low, high);
    CHECK_FALSE(t.exact);
    CHECK(t.p_value < 1e-9);
}

TEST_CASE("a shifted median is called slower at the expected sample sizes", "[comparison]")
{
    // lognormal, sigma 0.25; +30% is 1.05 standard deviations of the log:
    // at 40 spans per side the test's power is above 0.99, at 5 about 0.3
    const SyntheticOperation base = op("step", 40, 10.0, 0.25);
    SyntheticOperation slower = base, faster = base;
    slower.median_ms = 13.0;
    faster.median_ms = 10.0 / 1.3;
    CHECK(count_verdicts(base, slower, "slower") >= 95);
    CHECK(count_verdicts(base, faster, "faster") >= 95);
    SyntheticOperation few = base, few_slower = slower;
    few.spans = few_slower.spans = 5;
    CHECK(count_verdicts(few, few_slower, "slower") < 60);
}

TEST_CASE("an unshifted median with the same noise stays unchanged", "[comparison]")
{
    // noisy (sigma 0.5: the p95 is 2.3 times the median), 1000 spans a side
    const SyntheticOperation same = op("step", 1000, 10.0, 0.5);
    CHECK(count_verdicts(same, same, "unchanged") >= 95);
    // without the minimum effect the test alone errs at about its level (5%)
    ComparisonSettings no_floor;
    no_floor.min_effect = 0;
    CHECK(count_verdicts(same, same, "unchanged", no_floor) >= 90);
}

TEST_CASE("a 2% shift in huge samples is significant but under the minimum effect", "[comparison]")
{
    SyntheticOperation base = op("step", 5000, 10.0, 0.1), now = base;
    now.median_ms = 10.2;
    const RecordingProfile a = profile_of(synthetic_operations_trace(7, {base}));
    const RecordingProfile b = profile_of(synthetic_operations_trace(8, {now}));
    const OperationSample& s = a.operations().begin()->second;
    CHECK(s.spans == 5000);
    CHECK(s.metrics[0].spans == 5000);
    CHECK(s.sample.size() == RecordingProfile::kSampleCap);  // the test sees a sample
    const Comparison c = compare_recordings(a, b, {});
    REQUIRE(c.operations.size() == 1);
    const MetricComparison& d = c.operations[0].metrics[0];
    CHECK(d.p_value < 0.001);
    REQUIRE(d.change);
    CHECK(*d.change == Approx(0.02).margin(0.01));
    CHECK(c.operations[0].verdict == "unchanged");
    ComparisonSettings fine;
    fine.min_effect = 0.01;
    CHECK(compare_recordings(a, b, fine).operations[0].verdict == "slower");
}

TEST_CASE("outliers alone do not flip a verdict", "[comparison]")
{
    // 3 of 100 spans 100 times as long: their ranks move to the top, which
    // moves the median by about one percentile and U by little
    const SyntheticOperation base = op("step", 100, 10.0, 0.2);
    SyntheticOperation spiky = base;
    spiky.outliers = 3;
    spiky.outlier_factor = 100;
    // seed for seed, the verdict is the one without the outliers: with the
    // minimum effect, and from the rank test alone
    ComparisonSettings no_floor;
    no_floor.min_effect = 0;
    for (const ComparisonSettings& settings : {ComparisonSettings{}, no_floor}) {
        int same = 0, unchanged = 0;
        for (std::uint64_t seed = 1; seed <= 100; ++seed) {
            const std::string v = verdict_of(base, spiky, seed, settings);
            same += v == verdict_of(base, base, seed, settings);
            unchanged += v == "unchanged";
        }
        CHECK(same >= 95);
        CHECK(unchanged >= 90);  // what noise alone allows at this level
    }
    // the outliers are there: the mean, and so the impact, grew a lot
    const Comparison c = compare_recordings(profile_of(synthetic_operations_trace(1, {base})),
                                            profile_of(synthetic_operations_trace(2, {spiky})), {});
    CHECK(c.operations[0].impact_ms > 1000);
    CHECK(c.operations[0].verdict == "unchanged");
}

TEST_CASE("new and gone operations, and traces with nothing in common", "[comparison]")
{
    const RecordingProfile base =
        profile_of(synthetic_operations_trace(1, {op("kept", 20, 5), op("dropped", 20, 5)}));
    const RecordingProfile now =
        profile_of(synthetic_operations_trace(2, {op("kept", 20, 5), op("added", 20, 5)}));
    const Comparison c = compare_recordings(base, now, {});
    CHECK(c.common == 1);
    REQUIRE(c.operations.size() == 3);
    CHECK(find(c, "dropped").verdict == "gone");
    CHECK(find(c, "dropped").impact_ms < 0);
    CHECK(find(c, "added").verdict == "new");
    CHECK(find(c, "added").impact_ms > 0);
    CHECK(find(c, "kept").verdict == "unchanged");
    const nlohmann::json j = comparison_json(c, base, now);
    CHECK(j["verdicts"]["new"] == 1);
    CHECK(j["verdicts"]["gone"] == 1);

    const RecordingProfile other = profile_of(synthetic_operations_trace(3, {op("else", 20, 5)}));
    const Comparison none = compare_recordings(base, other, {});
    CHECK(none.common == 0);
    for (const OperationComparison& o : none.operations)
        CHECK((o.verdict == "new" || o.verdict == "gone"));
    // --only
    const Comparison only = compare_recordings(base, now, {}, {"nope"});
    CHECK(only.operations.empty());
}

TEST_CASE("a trace compared with itself is unchanged everywhere", "[comparison]")
{
    SyntheticOperation failing = op("fails", 40, 3, 0.8);
    failing.failures = 10;
    const std::string text =
        synthetic_operations_trace(11, {op("a", 50, 1), op("b", 7, 100, 1.5), failing});
    const RecordingProfile a = profile_of(text), b = profile_of(text);
    const Comparison c = compare_recordings(a, b, {});
    REQUIRE(c.operations.size() == 3);
    for (const OperationComparison& o : c.operations) {
        INFO(o.name());
        CHECK(o.verdict == "unchanged");
        CHECK(o.impact_ms == 0);
        CHECK(o.failure_shift == Shift::none);
        for (const MetricComparison& m : o.metrics)
            CHECK((m.shift == Shift::none || m.shift == Shift::too_few));
        CHECK(o.metrics[0].p_value == 1.0);
    }
    CHECK(regressions(c, 0).empty());
}

TEST_CASE("too few spans on a side: no verdict", "[comparison]")
{
    const RecordingProfile base = profile_of(synthetic_operations_trace(1, {op("x", 3, 5)}));
    const RecordingProfile now = profile_of(synthetic_operations_trace(2, {op("x", 50, 50)}));
    CHECK(compare_recordings(base, now, {}).operations[0].verdict == "too few spans");
    ComparisonSettings two;
    two.min_spans = 2;
    CHECK(compare_recordings(base, now, two).operations[0].verdict == "slower");
}

TEST_CASE("the slowdown is explained by the resource that grew", "[comparison]")
{
    SyntheticOperation base = op("step", 40, 10.0, 0.2);
    base.cpu_share = 0.5;  // 5 ms on CPU, 5 off
    SyntheticOperation more_cpu = base, more_wait = base;
    more_cpu.median_ms = 12.5;  // CPU 7.5 (+50%), off-CPU 5
    more_cpu.cpu_share = 0.6;
    more_wait.median_ms = 20;  // CPU 5, off-CPU 15 (+200%)
    more_wait.cpu_share = 0.25;
    const RecordingProfile a = profile_of(synthetic_operations_trace(1, {base}));
    const Comparison cpu =
        compare_recordings(a, profile_of(synthetic_operations_trace(2, {more_cpu})), {});
    const OperationComparison& c = cpu.operations[0];
    CHECK(c.verdict == "slower");
    CHECK(c.explained_by == "CPU");
    CHECK(c.metrics[static_cast<std::size_t>(Metric::cpu)].shift == Shift::up);
    CHECK(c.metrics[static_cast<std::size_t>(Metric::offcpu)].shift == Shift::none);
    CHECK(c.explanation.find("CPU, off-CPU unchanged: the work itself grew") != std::string::npos);
    CHECK(regressions(cpu, 20).size() == 1);
    CHECK(regressions(cpu, 80).empty());

    const Comparison wait =
        compare_recordings(a, profile_of(synthetic_operations_trace(2, {more_wait})), {});
    CHECK(wait.operations[0].verdict == "slower");
    CHECK(wait.operations[0].explained_by == "off-CPU");
    CHECK(wait.operations[0].explanation.find("CPU unchanged, +") != std::string::npos);
    CHECK(wait.operations[0].explanation.find("it waits longer") != std::string::npos);

    // off-CPU time that is preemption follows the CPU time (and the load):
    // CPU +50% with preempted waiting +100% is still the work growing, and
    // preempted waiting growing alone is a busier machine
    SyntheticOperation busy_base = base, busy_cpu = more_cpu, busy_wait = more_wait;
    for (SyntheticOperation* o : {&busy_base, &busy_cpu, &busy_wait})
        o->involuntary_switches = 3;
    busy_cpu.median_ms = 17.5;  // CPU 7.5 (+50%), off-CPU 10 (+100%)
    busy_cpu.cpu_share = 7.5 / 17.5;
    const RecordingProfile busy = profile_of(synthetic_operations_trace(1, {busy_base}));
    const OperationComparison preempted =
        compare_recordings(busy, profile_of(synthetic_operations_trace(2, {busy_cpu})), {})
            .operations[0];
    CHECK(preempted.explained_by == "CPU");
    CHECK(preempted.explanation.find("the work itself grew, and with it the time preempted") !=
          std::string::npos);
    const OperationComparison contention =
        compare_recordings(busy, profile_of(synthetic_operations_trace(2, {busy_wait})), {})
            .operations[0];
    CHECK(contention.explained_by == "preemption");
    CHECK(contention.explanation.find("waits longer for a CPU") != std::string::npos);
    // the same growth of off-CPU time without preemption is waiting
    busy_cpu.involuntary_switches = 0;
    busy_cpu.voluntary_switches = 3;
    CHECK(compare_recordings(a, profile_of(synthetic_operations_trace(2, {busy_cpu})), {})
              .operations[0]
              .explained_by == "off-CPU");

    // and the other way round
    const Comparison back =
        compare_recordings(profile_of(synthetic_operations_trace(3, {more_cpu})), a, {});
    CHECK(back.operations[0].verdict == "faster");
    CHECK(back.operations[0].explanation.find("the work itself shrank") != std::string::npos);
    CHECK(regressions(back, 0).empty());

    const std::string text = comparison_text(cpu, a, a);
    CHECK(text.find("slower, explained by CPU") != std::string::npos);
    const nlohmann::json j = comparison_json(cpu, a, a);
    CHECK(j["operations"][0]["verdict"] == "slower");
    CHECK(j["operations"][0]["metrics"]["cpu_ms"]["verdict"] == "slower");
    CHECK(j["operations"][0]["p_value"].get<double>() < 0.05);
    CHECK(j["test"]["confidence"] == 0.95);
}

TEST_CASE("a failure rate that grows is called higher", "[comparison]")
{
    SyntheticOperation ok = op("call", 200, 5), failing = ok;
    failing.failures = 40;
    const Comparison c =
        compare_recordings(profile_of(synthetic_operations_trace(1, {ok})),
                           profile_of(synthetic_operations_trace(2, {failing})), {});
    CHECK(c.operations[0].failure_shift == Shift::up);
    CHECK(c.operations[0].new_failure_rate == Approx(0.2));
}

TEST_CASE("trend orders recordings by start time and compares neighbours", "[comparison]")
{
    SyntheticOperation v1 = op("step", 40, 10, 0.2), v3 = v1;
    v3.median_ms = 20;
    std::vector<RecordingProfile> recordings;
    // given newest first
    recordings.push_back(profile_of(synthetic_operations_trace(3, {v3}, 7200), "third"));
    recordings.push_back(profile_of(synthetic_operations_trace(1, {v1}, 0), "first"));
    recordings.push_back(profile_of(synthetic_operations_trace(2, {v1}, 3600), "second"));
    const Trend t = build_trend(std::move(recordings), {});
    REQUIRE(t.recordings.size() == 3);
    CHECK(t.recordings[0].source() == "first");
    CHECK(t.recordings[2].source() == "third");
    REQUIRE(t.steps.size() == 2);
    CHECK(t.steps[0].operations[0].verdict == "unchanged");
    CHECK(t.steps[1].operations[0].verdict == "slower");
    const nlohmann::json j = trend_json(t);
    REQUIRE(j["operations"].size() == 1);
    const nlohmann::json& points = j["operations"][0]["points"];
    REQUIRE(points.size() == 3);
    CHECK_FALSE(points[0].contains("verdict"));
    CHECK(points[1]["verdict"] == "unchanged");
    CHECK(points[2]["verdict"] == "slower");
    const std::string text = trend_text(t);
    CHECK(text.find("svc.step") != std::string::npos);
    CHECK(text.find("=") != std::string::npos);
    CHECK(text.find("+\n") != std::string::npos);
}

TEST_CASE("comparison inputs: empty, malformed, folders", "[comparison]")
{
    const TempFile empty("");
    auto e = add_file_error(empty.path);
    CHECK(e.first == ExitCode::bad_input);
    CHECK(e.second.find("no trace records") != std::string::npos);
    const TempFile malformed(synthetic_operations_trace(1, {op("a", 2, 1)}) + "{oops\n");
    e = add_file_error(malformed.path);
    CHECK(e.first == ExitCode::bad_input);
    CHECK(e.second.find("line 3: invalid JSON") != std::string::npos);

    // a folder: its *.jsonl and *.json files by name; fewer than two is bad input
    const TempFile one(synthetic_operations_trace(1, {op("a", 2, 1)}));
    std::ofstream(one.dir + "/notes.txt") << "not a trace\n";
    try {
        trend_inputs({one.dir});
        FAIL("one trace accepted");
    } catch (const FatalError& err) {
        CHECK(err.code() == ExitCode::bad_input);
        CHECK(std::string(err.what()).find("found 1") != std::string::npos);
    }
    std::ofstream(one.dir + "/a.json") << synthetic_operations_trace(2, {op("a", 2, 1)});
    CHECK(trend_inputs({one.dir}) == std::vector<std::string>{one.dir + "/a.json", one.path});
}
