// Tier 2 (root): the precision docs/records.md states for each kernel
// figure, held across at least 20 spans of each shape, idle and under
// contention the test starts itself.  The ground truth comes from the traced
// program (tests/testprogs/accuracy_workloads.cpp), read just outside and
// just inside the span's two probes: the probes run between those points,
// so a figure is right when it lies between the inner and the outer truth,
// give or take the stated tolerance.
#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "process_helpers.hpp"

using nlohmann::json;
using namespace lstrace::test;

namespace {

// CPU time's stated precision: 1% or 20 us, whichever is larger.
constexpr double kRelative = 0.01;
constexpr double kAbsoluteNs = 20000;

double tolerance_ns(double truth_ns)
{
    return std::max(kRelative * truth_ns, kAbsoluteNs);
}

// `n` busy loops for as long as the object lives: contention on the cores.
class BusyLoops {
public:
    explicit BusyLoops(int n)
    {
        for (int i = 0; i < n; ++i)
            pids_.push_back(spawn({ACCURACY_BIN, "spin"}));
    }
    ~BusyLoops()
    {
        for (pid_t pid : pids_) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    }
    BusyLoops(const BusyLoops&) = delete;
    BusyLoops& operator=(const BusyLoops&) = delete;

private:
    std::vector<pid_t> pids_;
};

// Sets an environment variable for the recorders this test starts.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
    ~ScopedEnv() { unsetenv(name_); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
};

struct AccuracyRun {
    RunResult result;
    std::map<std::string, json> by_description;  // span records
    json truth;
    std::string summary;  // lstrace-bpf summary of the trace
};

AccuracyRun record_workload(const std::vector<std::string>& args)
{
    TempDir tmp;
    std::vector<std::string> argv = {LSTRACE_BIN, "record",     "-o",       tmp.path("trace.jsonl"),
                                     "--",        ACCURACY_BIN, args.at(0), tmp.path("truth.json")};
    argv.insert(argv.end(), args.begin() + 1, args.end());
    AccuracyRun rec;
    rec.result = run(argv, 170);
    INFO(rec.result.err);
    REQUIRE(rec.result.exit_code == 0);
    for (json& r : read_spans(tmp.path("trace.jsonl"))) {
        const std::string description = r["description"];
        rec.by_description[description] = std::move(r);
    }
    rec.truth = read_json(tmp.path("truth.json"));
    rec.summary = run({LSTRACE_BIN, "summary", tmp.path("trace.jsonl")}).out;
    return rec;
}

// The figures of one run against their truth, and what is printed of them.
struct Outcome {
    int spans = 0;
    int cpu_bad = 0, offcpu_bad = 0, duration_bad = 0;
    // CPU figures outside the tolerance with the known signature (see
    // preempted_in_probe()), counted apart from cpu_bad, at most max_preempted()
    int cpu_preempted = 0;
    double worst_cpu_error = 0;    // relative to the tolerance: 1.0 is the limit
    double max_cpu_excess_ns = 0;  // recorded CPU minus the inner truth
    std::vector<double> excess_ns;
    std::string first_failure;
};

// How far `value` lies outside [lo, hi].
double outside(double value, double lo, double hi)
{
    return value < lo ? lo - value : value > hi ? value - hi : 0.0;
}

// A known, unexplained outlier of cpu_time_ms on the loaded 2-core VM: about
// one span in 3,000 of the probe-cost workload comes out tens to hundreds of
// microseconds outside its truth, under it (seen: -35.7, -61.7, -64.5,
// -294.4 us; 2 involuntary switches each) or over it (+48.7 us, capped at
// the span's wall time, no switch counted), always a span whose thread was
// off CPU inside one of its probes: the probes' wall time, by the program's
// own clocks, exceeds their CPU time (by 0.7 to 10.8 ms in those spans),
// so a context switch or a stall of the virtual CPU came between the
// program's clock reads and the recorder's.  docs/records.md lists it under
// "Measured precision".  Such a span is tolerated, at most one per 100
// spans of a run; any other figure outside the tolerance, or more of these,
// fails.
bool preempted_in_probe(const json& truth)
{
    const double probes_wall =
        truth["wall_outer_ns"].get<double>() - truth["wall_inner_ns"].get<double>();
    const double probes_cpu =
        truth["cpu_outer_ns"].get<double>() - truth["cpu_inner_ns"].get<double>();
    return probes_wall - probes_cpu > kAbsoluteNs;
}

int max_preempted(int spans)
{
    return std::max(1, spans / 100);
}

// Checks every span of the truth: cpu_time_ms, offcpu_time_ms and
// duration_ms (the last only where `check_duration`: preemption inside a
// probe, under contention, widens the outer wall truth but not the inner).
Outcome check_spans(const AccuracyRun& rec, const char* label)
{
    Outcome o;
    for (const json& t : rec.truth["spans"]) {
        const std::string desc = t["description"];
        const auto it = rec.by_description.find(desc);
        if (it == rec.by_description.end()) {
            ++o.cpu_bad;
            if (o.first_failure.empty())
                o.first_failure = "no record for span " + desc;
            continue;
        }
        const json& r = it->second;
        ++o.spans;
        const double cpu = r["resources"]["cpu_time_ms"].get<double>() * 1e6;
        const double offcpu = r["resources"]["offcpu_time_ms"].get<double>() * 1e6;
        const double duration = r["duration_ms"].get<double>() * 1e6;
        const double cpu_in = t["cpu_inner_ns"], cpu_out = t["cpu_outer_ns"];
        const double wall_in = t["wall_inner_ns"], wall_out = t["wall_outer_ns"];
        const double cpu_tol = tolerance_ns(cpu_in);
        const double cpu_err = outside(cpu, cpu_in, cpu_out);
        o.worst_cpu_error = std::max(o.worst_cpu_error, cpu_err / cpu_tol);
        o.excess_ns.push_back(cpu - cpu_in);
        o.max_cpu_excess_ns = std::max(o.max_cpu_excess_ns, cpu - cpu_in);
        const double off_err = outside(offcpu, wall_in - cpu_out, wall_out - cpu_in);
        const double dur_err = outside(duration, wall_in, wall_out);
        const bool cpu_ok = cpu_err <= cpu_tol;
        const bool off_ok = off_err <= tolerance_ns(wall_in);
        const bool dur_ok = dur_err <= tolerance_ns(wall_in);
        const bool explained = !cpu_ok && preempted_in_probe(t);
        o.cpu_preempted += explained;
        o.cpu_bad += !cpu_ok && !explained;
        o.offcpu_bad += !off_ok;
        o.duration_bad += !dur_ok;
        if ((!cpu_ok || !off_ok || !dur_ok) && o.first_failure.empty())
            o.first_failure = desc + ": " + r["resources"].dump() + " duration_ms " +
                              std::to_string(duration / 1e6) + "; truth " + t.dump();
        if (explained)
            std::printf("%s: %s preempted inside a probe, CPU %.1f us off the inner truth: %s\n",
                        label, desc.c_str(), (cpu - cpu_in) / 1e3, t.dump().c_str());
    }
    std::vector<double> sorted = o.excess_ns;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted.empty() ? 0 : sorted[sorted.size() / 2];
    std::printf("%s: %d spans; cpu outside tolerance %d (+%d preempted inside a probe), offcpu "
                "%d, duration %d; worst CPU error %.2f of the tolerance; CPU minus inner truth: "
                "median %.1f us, max %.1f us\n",
                label, o.spans, o.cpu_bad, o.cpu_preempted, o.offcpu_bad, o.duration_bad,
                o.worst_cpu_error, median / 1e3, o.max_cpu_excess_ns / 1e3);
    std::fflush(stdout);
    return o;
}

void require_precise(const AccuracyRun& rec, const char* label, int min_spans)
{
    const Outcome o = check_spans(rec, label);
    INFO(label << ": " << o.first_failure);
    CHECK(o.spans >= min_spans);
    CHECK(o.cpu_bad == 0);
    CHECK(o.cpu_preempted <= max_preempted(o.spans));
    CHECK(o.offcpu_bad == 0);
    CHECK(o.duration_bad == 0);
}

}  // namespace

// Records `args` of accuracy_workloads under `busy_loops` busy loops and
// holds every span to the stated precision.
static void check_shape(const std::vector<std::string>& args, int busy_loops, const char* label,
                        int min_spans)
{
    BusyLoops load(busy_loops);
    require_precise(record_workload(args), label, min_spans);
}

TEST_CASE("accuracy: CPU-bound spans of 1 ms to 1 s on 1 idle thread", "[root][accuracy]")
{
    check_shape({"cpu", "1", "21", "1000"}, 0, "cpu idle 1 thread", 21);
}

TEST_CASE("accuracy: CPU-bound spans on 8 threads without load", "[root][accuracy]")
{
    check_shape({"cpu", "8", "20", "30"}, 0, "cpu idle 8 threads", 160);
}

TEST_CASE("accuracy: CPU-bound spans on 1 thread under 4 busy loops", "[root][accuracy]")
{
    check_shape({"cpu", "1", "21", "300"}, 4, "cpu loaded 1 thread", 21);
}

TEST_CASE("accuracy: CPU-bound spans on 8 threads under 4 busy loops", "[root][accuracy]")
{
    check_shape({"cpu", "8", "20", "100"}, 4, "cpu loaded 8 threads", 160);
}

TEST_CASE("accuracy: sleepy spans (1000 x 20 us of CPU + 100 us sleep) without load",
          "[root][accuracy]")
{
    check_shape({"sleepy", "1", "20", "1000"}, 0, "sleepy idle 1 thread", 20);
}

TEST_CASE("accuracy: sleepy spans on 8 threads under 4 busy loops", "[root][accuracy]")
{
    check_shape({"sleepy", "8", "20", "200"}, 4, "sleepy loaded 8 threads", 160);
}

TEST_CASE("accuracy: CPU time stays exact when most scheduler events are lost", "[root][accuracy]")
{
    // The sched_switch program ignores 63 of every 64 events: a clock kept
    // from switch events would lose whole slices; the kernel's own
    // accounting read at the probes does not depend on them.
    ScopedEnv lose("LSTRACE_TEST_LOSE_SCHED_EVENTS", "1");
    BusyLoops load(4);
    const AccuracyRun cpu = record_workload({"cpu", "2", "21", "100"});
    require_precise(cpu, "cpu loaded, events lost", 42);
    const AccuracyRun sleepy = record_workload({"sleepy", "2", "20", "200"});
    require_precise(sleepy, "sleepy loaded, events lost", 40);
}

TEST_CASE("accuracy: the probes' own cost stays outside the span (the first span's too)",
          "[root][accuracy]")
{
    // The CPU the record shows beyond the inner truth is the part of the
    // probes' cost inside the span: the return from span_begin and the trap
    // into span_end, up to where the programs read the clocks (last in
    // span_begin, first in span_end).  The outer truth minus the inner is
    // the whole cost of both probes.  A thread's first span (its per-thread
    // setup) is no exception.
    const AccuracyRun rec = record_workload({"cpu", "8", "20", "1"});
    const Outcome o = check_spans(rec, "probe cost, 8 threads x 20 spans of 1 ms");
    INFO(o.first_failure);
    CHECK(o.cpu_bad == 0);
    CHECK(o.cpu_preempted <= max_preempted(o.spans));
    std::vector<double> inside, whole;
    for (const json& t : rec.truth["spans"]) {
        const json& r = rec.by_description.at(t["description"].get<std::string>());
        inside.push_back(r["resources"]["cpu_time_ms"].get<double>() * 1e6 -
                         t["cpu_inner_ns"].get<double>());
        whole.push_back(t["cpu_outer_ns"].get<double>() - t["cpu_inner_ns"].get<double>());
    }
    const auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    const double inside_median = median(inside);
    std::printf("probe cost: both probes %.1f us (median), of which inside the span %.1f us\n",
                median(whole) / 1e3, inside_median / 1e3);
    CHECK(inside_median <= 0.75 * median(whole));
    // each thread's first span against all spans (medians: an interrupt
    // inside one probe, which the kernel charges to the thread, is no
    // first-span cost)
    std::vector<double> first;
    std::string firsts;
    for (const json& t : rec.truth["spans"]) {
        const std::string desc = t["description"];
        if (desc.size() < 3 || desc.substr(desc.size() - 3) != " s0")
            continue;
        const json& r = rec.by_description.at(desc);
        first.push_back(r["resources"]["cpu_time_ms"].get<double>() * 1e6 -
                        t["cpu_inner_ns"].get<double>());
        firsts += " " + std::to_string(static_cast<long>(first.back()));
    }
    REQUIRE(first.size() == 8);
    INFO("first spans' CPU beyond the inner truth (ns):" << firsts);
    CHECK(median(first) <= std::max(kAbsoluteNs, 2 * inside_median));
}

TEST_CASE("accuracy: bytes of every socket call and of splice and sendfile are counted",
          "[root][accuracy]")
{
    const AccuracyRun rec = record_workload({"sockets"});
    int checked = 0;
    for (const json& t : rec.truth["spans"]) {
        const json& r = rec.by_description.at(t["description"].get<std::string>());
        const json& res = r["resources"];
        const json& w = t["work"];
        const long sent = w["sent"], received = w["received"];
        const long spliced = w.value("spliced", 0L);
        INFO(r.dump() << "\ntruth " << t.dump());
        const std::string op = r["operation"];
        if (op == "splice") {
            // send + recv, and each spliced byte read from one descriptor and
            // written to the other, twice (socket -> pipe -> socket)
            CHECK(res["read_bytes"] == received + 2 * spliced);
            CHECK(res["write_bytes"] == sent + 2 * spliced);
            CHECK(res["net_read_bytes"] == received + spliced);
            CHECK(res["net_write_bytes"] == sent + spliced);
            CHECK(res["other_read_bytes"] == spliced);
            CHECK(res["other_write_bytes"] == spliced);
        } else if (op == "sendfile") {
            // the file read and the socket write by sendfile, then recv
            CHECK(res["read_bytes"] == sent + received);
            CHECK(res["write_bytes"] == sent);
            CHECK(res["file_read_bytes"] == sent);
            CHECK(res["net_read_bytes"] == received);
            CHECK(res["net_write_bytes"] == sent);
        } else {
            CHECK(res["read_bytes"] == received);
            CHECK(res["write_bytes"] == sent);
            CHECK(res["net_read_bytes"] == received);
            CHECK(res["net_write_bytes"] == sent);
        }
        ++checked;
    }
    CHECK(checked == 24);
    // summary's "written" column follows write_bytes: 4 rounds x 1 MiB sent
    INFO(rec.summary);
    bool row_seen = false;
    std::istringstream rows(rec.summary);
    for (std::string row; std::getline(rows, row);)
        if (row.rfind("accuracy.send_recv ", 0) == 0) {
            row_seen = true;
            CHECK(row.find(" 4.0 MiB ") != std::string::npos);
        }
    CHECK(row_seen);
}

TEST_CASE("accuracy: the record says when other threads changed the RSS during a span",
          "[root][accuracy]")
{
    // Half the spans run while another thread maps, touches and unmaps
    // 8 MiB (twice at least); in the other half it waits.
    const AccuracyRun rec = record_workload({"rss-other"});
    int with_others = 0, quiet = 0;
    for (const json& t : rec.truth["spans"]) {
        const json& r = rec.by_description.at(t["description"].get<std::string>());
        INFO(r.dump());
        const bool flagged = r["resources"].value("rss_changed_by_other_threads", false);
        CHECK(flagged == t["other_thread_changed_rss"].get<bool>());
        (flagged ? with_others : quiet) += 1;
        // the peak is this thread's share: at least the RSS at either end
        CHECK(r["resources"]["peak_rss_bytes"].get<long>() >=
              r["metadata"]["memory_usage"].get<long>());
    }
    CHECK(with_others == 10);
    CHECK(quiet == 10);
}
