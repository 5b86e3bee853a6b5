#include "analysis/trace_comparison.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <set>

#include "output/trace_format.hpp"

namespace lstrace {
namespace {

constexpr std::size_t kExactMaxSpans = 20;  // exact U distribution up to this per side
constexpr double kFailureRateFloor = 0.01;  // a failure rate must move by 1 point
const float kAbsent = std::numeric_limits<float>::quiet_NaN();

const std::array<MetricInfo, kMetrics> kMetricInfo = {{
    {"duration_ms", "duration", true, 0.01},
    {"cpu_ms", "CPU", true, 0.01},
    {"offcpu_ms", "off-CPU", true, 0.01},
    {"io_wait_ms", "I/O wait", true, 0.01},
    {"io_bytes", "I/O bytes", false, 1024.0},
    {"faults", "faults", false, 1.0},
    {"rss_growth_bytes", "RSS growth", false, 4096.0},
}};

// The span's figures in Metric order; NaN for those it lacks.
std::array<double, kMetrics> span_figures(const SpanFacts& s)
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::array<double, kMetrics> v;
    v.fill(nan);
    v[0] = s.duration_ms;
    const SpanResources& r = s.resources;
    if (r.present) {
        v[1] = r.cpu_ms;
        v[2] = r.offcpu_ms;
        v[3] = r.io_wait_ms ? *r.io_wait_ms : nan;
        v[4] = double(r.io_bytes());
        v[5] = double(r.minor_faults + r.major_faults);
        v[6] = double(r.rss_delta_bytes);
    }
    return v;
}

std::size_t index_of(Metric m)
{
    return static_cast<std::size_t>(m);
}

// The number of orderings of n1 + n2 distinct values with U = u, for every
// u: the coefficients of the Gaussian binomial [n1 + n2 choose n2]_q, as
// the power series prod_k (1 - q^(n1 + k)) / (1 - q^k) truncated at n1 n2.
std::vector<double> u_distribution(std::size_t n1, std::size_t n2)
{
    const std::size_t top = n1 * n2;
    std::vector<double> c(top + 1, 0.0);
    c[0] = 1.0;
    for (std::size_t k = 1; k <= n2; ++k) {
        const std::size_t m = n1 + k;
        for (std::size_t u = top; u >= m && u <= top; --u)
            c[u] -= c[u - m];
        for (std::size_t u = k; u <= top; ++u)
            c[u] += c[u - k];
    }
    return c;
}

std::string percent_text(double fraction)
{
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%+.0f%%", 100.0 * fraction);
    return buf;
}

// "+48% CPU", "CPU unchanged", "+0.50 ms CPU (from 0)".
std::string describe(Metric m, const MetricComparison& c)
{
    const MetricInfo& info = metric_info(m);
    if (c.shift == Shift::none)
        return std::string(info.label) + " unchanged";
    if (c.shift == Shift::too_few)
        return "";
    if (c.change)
        return percent_text(*c.change) + " " + info.label;
    char buf[64];
    if (info.time)
        std::snprintf(buf, sizeof(buf), "%+.2f ms %s (from 0)", c.now.median - c.base.median,
                      info.label);
    else
        std::snprintf(buf, sizeof(buf), "%s %s (from 0)", human_bytes(c.now.median).c_str(),
                      info.label);
    return buf;
}

// Which of CPU and off-CPU moved the duration, and in words.
void explain(OperationComparison& op)
{
    const Shift dir = op.metrics[index_of(Metric::duration)].shift;
    if (dir != Shift::up && dir != Shift::down)
        return;
    const MetricComparison& cpu = op.metrics[index_of(Metric::cpu)];
    const MetricComparison& off = op.metrics[index_of(Metric::offcpu)];
    const MetricComparison& wait = op.metrics[index_of(Metric::io_wait)];
    const bool cpu_moved = cpu.shift == dir, off_moved = off.shift == dir;
    const double dcpu = std::fabs(cpu.now.median - cpu.base.median),
                 doff = std::fabs(off.now.median - off.base.median);
    const bool up = dir == Shift::up;
    // Off-CPU time of a span preempted more often than it blocked is time
    // spent waiting for a CPU: it follows the CPU time and the machine's
    // load, not anything the operation waits for.
    const OperationSample& longer = up ? *op.now : *op.base;
    const bool preempted = longer.involuntary_switches > longer.voluntary_switches;
    std::string parts;
    for (const auto& [m, c] : {std::pair{Metric::cpu, &cpu}, std::pair{Metric::offcpu, &off}}) {
        const std::string d = describe(m, *c);
        if (!d.empty())
            parts += (parts.empty() ? "" : ", ") + d;
    }
    std::string why;
    if (cpu_moved && (!off_moved || dcpu >= doff || preempted)) {
        op.explained_by = "CPU";
        why = up ? "the work itself grew" : "the work itself shrank";
        if (off_moved)
            why += preempted ? ", and with it the time preempted (waiting for a CPU)"
                             : ", and it waits " + std::string(up ? "longer" : "less");
    } else if (off_moved && preempted) {
        op.explained_by = "preemption";
        why = up ? "it waits longer for a CPU (preempted more: a busier machine)"
                 : "it waits less for a CPU (preempted less: a quieter machine)";
    } else if (off_moved) {
        const bool io = wait.shift == dir;
        op.explained_by = io ? "I/O wait" : "off-CPU";
        why = up ? "it waits longer" : "it waits less";
        if (io)
            why += " (" + describe(Metric::io_wait, wait) + ")";
    } else {
        op.explained_by = "unexplained";
        why = "neither CPU nor off-CPU time moved significantly";
    }
    std::string also;
    for (Metric m : {Metric::io_bytes, Metric::faults, Metric::rss_growth}) {
        const MetricComparison& c = op.metrics[index_of(m)];
        if (c.shift == Shift::up || c.shift == Shift::down)
            also += (also.empty() ? "; " : ", ") + describe(m, c);
    }
    op.explanation = (parts.empty() ? "" : parts + ": ") + why + also;
}

double two_proportion_p(std::uint64_t f1, std::uint64_t n1, std::uint64_t f2, std::uint64_t n2)
{
    const double p = double(f1 + f2) / double(n1 + n2);
    const double se = std::sqrt(p * (1 - p) * (1.0 / double(n1) + 1.0 / double(n2)));
    if (se <= 0)
        return 1.0;
    const double z = (double(f2) / double(n2) - double(f1) / double(n1)) / se;
    return std::erfc(std::fabs(z) / std::sqrt(2.0));
}

OperationComparison compare_operation(const OperationSample* base, const OperationSample* now,
                                      const ComparisonSettings& settings)
{
    OperationComparison op;
    const OperationSample& any = base ? *base : *now;
    op.component = any.component;
    op.operation = any.operation;
    op.base = base;
    op.now = now;
    if (!base || !now) {
        op.verdict = base ? "gone" : "new";
        op.impact_ms = base ? -base->total_ms : now->total_ms;
        if (base)
            op.base_failure_rate = base->spans ? double(base->failures) / double(base->spans) : 0;
        else
            op.new_failure_rate = now->spans ? double(now->failures) / double(now->spans) : 0;
        return op;
    }
    for (std::size_t i = 0; i < kMetrics; ++i)
        op.metrics[i] = compare_metric(static_cast<Metric>(i), *base, *now, settings);
    const MetricComparison& d = op.metrics[index_of(Metric::duration)];
    op.verdict = shift_word(Metric::duration, d.shift);
    op.impact_ms = (d.now.mean - d.base.mean) * double(d.now.spans);
    op.base_failure_rate = double(base->failures) / double(base->spans);
    op.new_failure_rate = double(now->failures) / double(now->spans);
    if (base->spans >= settings.min_spans && now->spans >= settings.min_spans) {
        op.failure_p_value =
            two_proportion_p(base->failures, base->spans, now->failures, now->spans);
        const double delta = op.new_failure_rate - op.base_failure_rate;
        op.failure_shift =
            op.failure_p_value < 1 - settings.confidence && std::fabs(delta) >= kFailureRateFloor
                ? (delta > 0 ? Shift::up : Shift::down)
                : Shift::none;
    }
    explain(op);
    return op;
}

nlohmann::json nullable(std::optional<double> v)
{
    return v && std::isfinite(*v) ? nlohmann::json(*v) : nlohmann::json();
}

std::string timestamp_or_dash(std::int64_t us)
{
    return us ? format_timestamp(us * 1000) : std::string("-");
}

// A change for the text table: "+12%", "+12%*" when it passed the test,
// "new 0" / "-" when there is none.
std::string change_cell(const MetricComparison& c)
{
    if (c.shift == Shift::too_few)
        return "-";
    std::string s;
    if (c.change)
        s = percent_text(*c.change);
    else
        s = c.now.median == c.base.median ? "+0%" : "from 0";
    if (c.shift == Shift::up || c.shift == Shift::down)
        s += "*";
    return s;
}

char trend_mark(const std::string& verdict)
{
    if (verdict == "slower")
        return '+';
    if (verdict == "faster")
        return '-';
    if (verdict == "unchanged")
        return '=';
    if (verdict == "new")
        return '*';
    return '?';
}

const OperationComparison* find_operation(const Comparison& c, const std::string& component,
                                          const std::string& operation)
{
    for (const OperationComparison& op : c.operations)
        if (op.component == component && op.operation == operation)
            return &op;
    return nullptr;
}

bool selected(const std::vector<std::string>& only, const std::string& component)
{
    return only.empty() || std::find(only.begin(), only.end(), component) != only.end();
}

}  // namespace

const MetricInfo& metric_info(Metric metric)
{
    return kMetricInfo[index_of(metric)];
}

void RecordingProfile::add(const TraceLine& line)
{
    if (line.kind != RecordKind::span) {
        ++events_;
        return;
    }
    const SpanFacts s = span_facts(line.json);
    ++spans_;
    if (s.start_us) {
        extend_range(first_us_, last_us_, s.start_us);
        extend_range(first_us_, last_us_, s.end_us());
    }
    const auto key = std::make_pair(s.component, s.operation);
    auto [it, fresh] = ops_.try_emplace(key);
    OperationSample& op = it->second;
    std::unique_ptr<Sketches>& b = building_[key];
    if (fresh) {
        op.component = s.component;
        op.operation = s.operation;
    }
    if (!b)
        b = std::make_unique<Sketches>();
    ++op.spans;
    op.failures += s.failed;
    op.total_ms += s.duration_ms;
    if (s.aborted) {  // cut short by an exit: not a measurement of the operation
        ++op.aborted;
        return;
    }
    op.voluntary_switches += s.resources.voluntary_switches;
    op.involuntary_switches += s.resources.involuntary_switches;
    const std::array<double, kMetrics> v = span_figures(s);
    std::array<float, kMetrics> row;
    for (std::size_t i = 0; i < kMetrics; ++i) {
        row[i] = std::isnan(v[i]) ? kAbsent : static_cast<float>(v[i]);
        if (std::isnan(v[i]))
            continue;
        b->values[i].add(v[i]);
        b->sums[i] += v[i];
    }
    // Algorithm R: every span so far is in the sample with the same chance
    const std::uint64_t seen = b->seen++;
    if (op.sample.size() < kSampleCap) {
        op.sample.push_back(row);
    } else {
        const std::uint64_t j = std::uniform_int_distribution<std::uint64_t>(0, seen)(rng_);
        if (j < kSampleCap)
            op.sample[j] = row;
    }
}

void RecordingProfile::add_file(const std::string& path)
{
    if (source_.empty())
        source_ = path;
    read_trace_file(path, [this](const TraceLine& line) { add(line); });
    finish();
}

void RecordingProfile::finish()
{
    for (auto& [key, b] : building_) {
        OperationSample& op = ops_.at(key);
        for (std::size_t i = 0; i < kMetrics; ++i) {
            const QuantileSketch& q = b->values[i];
            MetricSummary& m = op.metrics[i];
            m.spans = q.count();
            m.median = q.quantile(50);
            m.p95 = q.quantile(95);
            m.mean = m.spans ? b->sums[i] / double(m.spans) : 0.0;
        }
    }
    building_.clear();
}

double RecordingProfile::wall_ms() const noexcept
{
    return last_us_ > first_us_ ? double(last_us_ - first_us_) / 1000.0 : 0.0;
}

nlohmann::json RecordingProfile::to_json() const
{
    return {{"file", source_},
            {"span_records", spans_},
            {"event_records", events_},
            {"operations", ops_.size()},
            {"first_timestamp",
             first_us_ ? nlohmann::json(format_timestamp(first_us_ * 1000)) : nlohmann::json()},
            {"wall_ms", wall_ms()}};
}

RankTest mann_whitney(std::vector<double> a, std::vector<double> b)
{
    RankTest t;
    const std::size_t n1 = a.size(), n2 = b.size();
    if (n1 == 0 || n2 == 0)
        return t;
    struct Item {
        double v;
        bool second;
    };
    std::vector<Item> all;
    all.reserve(n1 + n2);
    for (double v : a)
        all.push_back({v, false});
    for (double v : b)
        all.push_back({v, true});
    std::sort(all.begin(), all.end(), [](const Item& x, const Item& y) { return x.v < y.v; });
    const double n = double(n1 + n2);
    double rank_sum = 0, ties = 0;  // ranks of b; sum of t^3 - t over tie groups
    for (std::size_t i = 0; i < all.size();) {
        std::size_t j = i;
        while (j < all.size() && all[j].v == all[i].v)
            ++j;
        const double group = double(j - i), mid_rank = double(i + j + 1) / 2.0;
        for (std::size_t k = i; k < j; ++k)
            if (all[k].second)
                rank_sum += mid_rank;
        ties += group * group * group - group;
        i = j;
    }
    const double pairs = double(n1) * double(n2);
    const double u = rank_sum - double(n2) * double(n2 + 1) / 2.0;  // pairs with b > a, ties half
    t.superiority = u / pairs;
    if (ties == 0 && n1 <= kExactMaxSpans && n2 <= kExactMaxSpans) {
        const std::vector<double> counts = u_distribution(n1, n2);
        double total = 0, low = 0, high = 0;
        const auto k = static_cast<std::size_t>(std::llround(u));
        for (std::size_t x = 0; x < counts.size(); ++x) {
            total += counts[x];
            low += x <= k ? counts[x] : 0.0;
            high += x >= k ? counts[x] : 0.0;
        }
        t.p_value = std::min(1.0, 2.0 * std::min(low, high) / total);
        t.exact = true;
        return t;
    }
    const double variance = pairs / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if (variance <= 0)  // every value equal
        return t;
    const double z = std::max(0.0, std::fabs(u - pairs / 2.0) - 0.5) / std::sqrt(variance);
    t.p_value = std::min(1.0, std::erfc(z / std::sqrt(2.0)));
    return t;
}

MetricComparison compare_metric(Metric metric, const OperationSample& base,
                                const OperationSample& now, const ComparisonSettings& settings)
{
    const std::size_t i = index_of(metric);
    MetricComparison c;
    c.base = base.metrics[i];
    c.now = now.metrics[i];
    if (c.base.spans < settings.min_spans || c.now.spans < settings.min_spans)
        return c;
    const auto values = [i](const OperationSample& op) {
        std::vector<double> out;
        out.reserve(op.sample.size());
        for (const auto& row : op.sample)
            if (!std::isnan(row[i]))
                out.push_back(row[i]);
        return out;
    };
    const RankTest t = mann_whitney(values(base), values(now));
    c.p_value = t.p_value;
    const double delta = c.now.median - c.base.median;
    if (c.base.median != 0)
        c.change = delta / std::fabs(c.base.median);
    // A part of the duration (CPU, off-CPU, I/O wait) must also move by
    // min_effect of the duration: a sleep's few microseconds of CPU doubling
    // is no change of the operation.
    double floor = metric_info(metric).floor;
    if (metric_info(metric).time && metric != Metric::duration)
        floor = std::max(floor, settings.min_effect * base.metrics[0].median);
    const bool big =
        std::fabs(delta) >= floor && (!c.change || std::fabs(*c.change) >= settings.min_effect);
    const bool agrees = delta > 0 ? t.superiority > 0.5 : t.superiority < 0.5;
    c.shift = t.p_value < 1 - settings.confidence && big && agrees
                  ? (delta > 0 ? Shift::up : Shift::down)
                  : Shift::none;
    return c;
}

std::string shift_word(Metric metric, Shift shift)
{
    const bool time = metric_info(metric).time;
    switch (shift) {
    case Shift::up:
        return time ? "slower" : "higher";
    case Shift::down:
        return time ? "faster" : "lower";
    case Shift::none:
        return "unchanged";
    case Shift::too_few:
        break;
    }
    return "too few spans";
}

Comparison compare_recordings(const RecordingProfile& base, const RecordingProfile& now,
                              const ComparisonSettings& settings,
                              const std::vector<std::string>& only)
{
    Comparison c;
    c.settings = settings;
    for (const auto& [key, op] : base.operations()) {
        if (!selected(only, key.first))
            continue;
        auto it = now.operations().find(key);
        const OperationSample* other = it == now.operations().end() ? nullptr : &it->second;
        c.common += other != nullptr;
        c.operations.push_back(compare_operation(&op, other, settings));
    }
    for (const auto& [key, op] : now.operations())
        if (selected(only, key.first) && !base.operations().count(key))
            c.operations.push_back(compare_operation(nullptr, &op, settings));
    std::stable_sort(c.operations.begin(), c.operations.end(),
                     [](const OperationComparison& a, const OperationComparison& b) {
                         return std::fabs(a.impact_ms) > std::fabs(b.impact_ms);
                     });
    return c;
}

std::vector<const OperationComparison*> regressions(const Comparison& comparison, double percent)
{
    std::vector<const OperationComparison*> out;
    for (const OperationComparison& op : comparison.operations) {
        if (!op.base || !op.now)
            continue;
        bool over = false;
        for (Metric m : {Metric::duration, Metric::cpu}) {
            const MetricComparison& c = op.metrics[index_of(m)];
            over = over || (c.shift == Shift::up && (!c.change || *c.change * 100.0 > percent));
        }
        if (over)
            out.push_back(&op);
    }
    return out;
}

std::string comparison_method(const ComparisonSettings& s)
{
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  "Mann-Whitney U, two-sided, %g%% confidence; a change needs a median shift of at "
                  "least %g%%; at least %zu spans per side",
                  s.confidence * 100.0, s.min_effect * 100.0, s.min_spans);
    return buf;
}

nlohmann::json comparison_json(const Comparison& comparison, const RecordingProfile& base,
                               const RecordingProfile& now)
{
    using json = nlohmann::json;
    json ops = json::array();
    std::map<std::string, std::uint64_t> verdicts;
    for (const OperationComparison& op : comparison.operations) {
        ++verdicts[op.verdict];
        json o = {{"operation", op.name()},
                  {"component", op.component},
                  {"name", op.operation},
                  {"verdict", op.verdict},
                  {"impact_ms", op.impact_ms},
                  {"count",
                   {{"base", op.base ? op.base->spans : 0}, {"new", op.now ? op.now->spans : 0}}},
                  {"failure_rate",
                   {{"base", op.base ? json(op.base_failure_rate) : json()},
                    {"new", op.now ? json(op.new_failure_rate) : json()}}}};
        const auto side = [](const OperationSample* s, std::size_t i) {
            if (!s)
                return json();
            const MetricSummary& m = s->metrics[i];
            return json{{"spans", m.spans}, {"p50", m.median}, {"p95", m.p95}, {"mean", m.mean}};
        };
        json metrics = json::object();
        for (std::size_t i = 0; i < kMetrics; ++i) {
            json m = {{"base", side(op.base, i)}, {"new", side(op.now, i)}};
            if (op.base && op.now) {
                const MetricComparison& c = op.metrics[i];
                m["change"] = nullable(c.change);
                m["p_value"] = c.p_value;
                m["verdict"] = shift_word(static_cast<Metric>(i), c.shift);
            }
            metrics[kMetricInfo[i].key] = m;
        }
        o["metrics"] = metrics;
        if (op.base && op.now) {
            const MetricComparison& d = op.metrics[index_of(Metric::duration)];
            o["p_value"] = d.p_value;
            o["p50_change"] = nullable(d.change);
            o["failure_rate"]["p_value"] = op.failure_p_value;
            o["failure_rate"]["verdict"] = op.failure_shift == Shift::up     ? "higher"
                                           : op.failure_shift == Shift::down ? "lower"
                                           : op.failure_shift == Shift::none ? "unchanged"
                                                                             : "too few spans";
        }
        if (!op.explained_by.empty()) {
            o["explained_by"] = op.explained_by;
            o["explanation"] = op.explanation;
        }
        ops.push_back(std::move(o));
    }
    const ComparisonSettings& s = comparison.settings;
    return {{"base", base.to_json()},
            {"new", now.to_json()},
            {"test",
             {{"name", "Mann-Whitney U"},
              {"sides", 2},
              {"confidence", s.confidence},
              {"alpha", 1 - s.confidence},
              {"min_effect", s.min_effect},
              {"min_spans", s.min_spans},
              {"sample_cap", RecordingProfile::kSampleCap},
              {"exact_up_to", kExactMaxSpans}}},
            {"common_operations", comparison.common},
            {"verdicts", verdicts},
            {"operations", ops}};
}

std::string comparison_text(const Comparison& comparison, const RecordingProfile& base,
                            const RecordingProfile& now)
{
    std::string out;
    char buf[1024];
    for (const auto& [label, r] : {std::pair{"BASE", &base}, std::pair{"NEW ", &now}}) {
        std::snprintf(buf, sizeof(buf), "%s %s: %llu spans, %zu operations, from %s, %.1f ms\n",
                      label, r->source().c_str(), static_cast<unsigned long long>(r->spans()),
                      r->operations().size(), timestamp_or_dash(r->first_us()).c_str(),
                      r->wall_ms());
        out += buf;
    }
    std::size_t added = 0, removed = 0;
    for (const OperationComparison& op : comparison.operations) {
        added += !op.base;
        removed += !op.now;
    }
    out += comparison_method(comparison.settings) + "\n";
    std::snprintf(buf, sizeof(buf), "%zu operations in both, %zu new, %zu gone\n\n",
                  comparison.common, added, removed);
    out += buf;
    std::snprintf(
        buf, sizeof(buf), "%-32s %-13s %7s %7s %9s %9s %7s %7s %7s %8s %7s %7s %7s %11s %8s %10s\n",
        "component.operation", "verdict", "spans", "spans", "p50 ms", "p50 ms", "p50", "p95", "CPU",
        "off-CPU", "I/O", "faults", "RSS", "fail %", "p-value", "impact ms");
    out += buf;
    std::snprintf(buf, sizeof(buf),
                  "%-32s %-13s %7s %7s %9s %9s %7s %7s %7s %8s %7s %7s %7s %11s %8s %10s\n", "", "",
                  "base", "new", "base", "new", "change", "change", "p50", "p50", "p50", "p50",
                  "p50", "base/new", "", "");
    out += buf;
    for (const OperationComparison& op : comparison.operations) {
        const auto count = [](const OperationSample* s) {
            return s ? std::to_string(s->spans) : std::string("-");
        };
        const auto p50 = [](const OperationSample* s) {
            char b[32] = "-";
            if (s)
                std::snprintf(b, sizeof(b), "%.2f", s->metrics[0].median);
            return std::string(b);
        };
        const bool both = op.base && op.now;
        const auto cell = [&](Metric m) {
            return both ? change_cell(op.metrics[index_of(m)]) : std::string("-");
        };
        std::string p95 = "-";
        if (both) {  // the p95 is shown, not tested
            const MetricSummary &b = op.base->metrics[0], &n = op.now->metrics[0];
            p95 = b.p95 > 0 ? percent_text((n.p95 - b.p95) / b.p95) : std::string("-");
        }
        char fail[32], pval[16] = "-";
        std::snprintf(
            fail, sizeof(fail), "%s/%s",
            op.base ? std::to_string(std::lround(op.base_failure_rate * 100)).c_str() : "-",
            op.now ? std::to_string(std::lround(op.new_failure_rate * 100)).c_str() : "-");
        if (both && op.metrics[0].shift != Shift::too_few)
            std::snprintf(pval, sizeof(pval), "%.3g", op.metrics[0].p_value);
        std::snprintf(buf, sizeof(buf),
                      "%-32s %-13s %7s %7s %9s %9s %7s %7s %7s %8s %7s %7s %7s %11s %8s %+10.1f\n",
                      clip(op.name(), 32).c_str(), op.verdict.c_str(), count(op.base).c_str(),
                      count(op.now).c_str(), p50(op.base).c_str(), p50(op.now).c_str(),
                      cell(Metric::duration).c_str(), p95.c_str(), cell(Metric::cpu).c_str(),
                      cell(Metric::offcpu).c_str(), cell(Metric::io_bytes).c_str(),
                      cell(Metric::faults).c_str(), cell(Metric::rss_growth).c_str(), fail, pval,
                      op.impact_ms);
        out += buf;
        if (!op.explanation.empty())
            out += "    " + op.verdict + ", explained by " + op.explained_by + ": " +
                   op.explanation + "\n";
        if (op.failure_shift == Shift::up || op.failure_shift == Shift::down)
            out += "    failure rate " +
                   std::string(op.failure_shift == Shift::up ? "higher" : "lower") + "\n";
    }
    out += "(* the change passed the test; impact = time the change added to the new recording)\n";
    return out;
}

std::vector<std::string> trend_inputs(const std::vector<std::string>& paths)
{
    namespace fs = std::filesystem;
    std::vector<std::string> files;
    for (const std::string& path : paths) {
        std::error_code ec;
        if (!fs::is_directory(path, ec)) {
            files.push_back(path);
            continue;
        }
        std::vector<std::string> found;
        for (const fs::directory_entry& e : fs::directory_iterator(path, ec)) {
            const std::string ext = e.path().extension().string();
            if (e.is_regular_file(ec) && (ext == ".jsonl" || ext == ".json"))
                found.push_back(e.path().string());
        }
        if (ec)
            throw FatalError(ExitCode::bad_input, "cannot list " + path + ": " + ec.message());
        std::sort(found.begin(), found.end());
        files.insert(files.end(), found.begin(), found.end());
    }
    if (files.size() < 2)
        throw FatalError(ExitCode::bad_input,
                         "trend needs two or more trace files (*.jsonl, *.json), found " +
                             std::to_string(files.size()));
    return files;
}

Trend build_trend(const std::vector<std::string>& paths, const ComparisonSettings& settings,
                  const std::vector<std::string>& only)
{
    std::vector<RecordingProfile> recordings;
    recordings.reserve(paths.size());
    for (const std::string& path : paths) {
        recordings.emplace_back(path);
        recordings.back().add_file(path);
    }
    return build_trend(std::move(recordings), settings, only);
}

Trend build_trend(std::vector<RecordingProfile> recordings, const ComparisonSettings& settings,
                  const std::vector<std::string>& only)
{
    Trend t;
    t.recordings = std::move(recordings);
    std::stable_sort(t.recordings.begin(), t.recordings.end(),
                     [](const RecordingProfile& a, const RecordingProfile& b) {
                         return a.first_us() < b.first_us();
                     });
    for (std::size_t i = 0; i + 1 < t.recordings.size(); ++i)
        t.steps.push_back(compare_recordings(t.recordings[i], t.recordings[i + 1], settings, only));
    return t;
}

namespace {

// Every operation of the trend (filtered as the steps were), in name order.
std::set<std::pair<std::string, std::string>> trend_operations(const Trend& t)
{
    std::set<std::pair<std::string, std::string>> names;
    for (const Comparison& c : t.steps)
        for (const OperationComparison& op : c.operations)
            names.emplace(op.component, op.operation);
    return names;
}

const OperationSample* find_sample(const RecordingProfile& r,
                                   const std::pair<std::string, std::string>& key)
{
    auto it = r.operations().find(key);
    return it == r.operations().end() ? nullptr : &it->second;
}

}  // namespace

nlohmann::json trend_json(const Trend& t)
{
    using json = nlohmann::json;
    json recordings = json::array();
    for (const RecordingProfile& r : t.recordings)
        recordings.push_back(r.to_json());
    json ops = json::array();
    for (const auto& key : trend_operations(t)) {
        json points = json::array();
        for (std::size_t i = 0; i < t.recordings.size(); ++i) {
            const OperationSample* s = find_sample(t.recordings[i], key);
            if (!s)
                continue;
            json p = {{"recording", i},
                      {"count", s->spans},
                      {"failures", s->failures},
                      {"p50_ms", s->metrics[0].median},
                      {"p95_ms", s->metrics[0].p95},
                      {"cpu_p50_ms", s->metrics[index_of(Metric::cpu)].median},
                      {"offcpu_p50_ms", s->metrics[index_of(Metric::offcpu)].median}};
            if (i > 0) {
                const OperationComparison* op =
                    find_operation(t.steps[i - 1], key.first, key.second);
                if (op) {
                    p["verdict"] = op->verdict;
                    if (op->base && op->now) {
                        p["p_value"] = op->metrics[0].p_value;
                        p["change"] = nullable(op->metrics[0].change);
                    }
                    if (!op->explained_by.empty())
                        p["explained_by"] = op->explained_by;
                }
            }
            points.push_back(std::move(p));
        }
        ops.push_back({{"operation", key.first + "." + key.second},
                       {"component", key.first},
                       {"name", key.second},
                       {"points", points}});
    }
    const ComparisonSettings s = t.steps.empty() ? ComparisonSettings{} : t.steps[0].settings;
    return {{"recordings", recordings},
            {"test",
             {{"name", "Mann-Whitney U"},
              {"confidence", s.confidence},
              {"min_effect", s.min_effect},
              {"min_spans", s.min_spans},
              {"sample_cap", RecordingProfile::kSampleCap}}},
            {"operations", ops}};
}

std::string trend_text(const Trend& t)
{
    std::string out;
    char buf[512];
    std::snprintf(buf, sizeof(buf),
                  "TREND over %zu recordings, oldest first (verdicts against the one before)\n",
                  t.recordings.size());
    out += buf;
    for (std::size_t i = 0; i < t.recordings.size(); ++i) {
        const RecordingProfile& r = t.recordings[i];
        std::snprintf(buf, sizeof(buf), "  #%-3zu %-27s %8llu spans  %s\n", i + 1,
                      timestamp_or_dash(r.first_us()).c_str(),
                      static_cast<unsigned long long>(r.spans()), r.source().c_str());
        out += buf;
    }
    if (!t.steps.empty())
        out += comparison_method(t.steps[0].settings) + "\n";
    out += "\np50 duration ms per recording (+ slower, - faster, = unchanged, ? too few spans, "
           "* new; blank: not in that recording)\n";
    std::snprintf(buf, sizeof(buf), "%-32s", "component.operation");
    out += buf;
    for (std::size_t i = 0; i < t.recordings.size(); ++i) {
        std::snprintf(buf, sizeof(buf), " %10s", ("#" + std::to_string(i + 1)).c_str());
        out += buf;
    }
    out += "\n";
    for (const auto& key : trend_operations(t)) {
        std::snprintf(buf, sizeof(buf), "%-32s", clip(key.first + "." + key.second, 32).c_str());
        out += buf;
        for (std::size_t i = 0; i < t.recordings.size(); ++i) {
            const OperationSample* s = find_sample(t.recordings[i], key);
            if (!s) {
                out += "           ";
                continue;
            }
            const OperationComparison* op =
                i > 0 ? find_operation(t.steps[i - 1], key.first, key.second) : nullptr;
            std::snprintf(buf, sizeof(buf), " %9.2f%c", s->metrics[0].median,
                          op ? trend_mark(op->verdict) : ' ');
            out += buf;
        }
        out += "\n";
    }
    return out;
}

}  // namespace lstrace
