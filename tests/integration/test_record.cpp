// Tier 2 (root): record real processes with the real BPF programs and check
// every figure against the ground truth the test program measured itself.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cctype>
#include <chrono>
#include <map>
#include <utility>
#include <set>
#include <sstream>
#include <string>

#include "process_helpers.hpp"

using nlohmann::json;
using namespace lstrace::test;

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

struct Recording {
    RunResult result;
    std::vector<json> records;
    json truth;
};

Recording record_command(TempDir& tmp, const std::vector<std::string>& command)
{
    Recording rec;
    std::vector<std::string> argv = {LSTRACE_BIN, "record", "-o", tmp.path("trace.jsonl"), "--"};
    argv.insert(argv.end(), command.begin(), command.end());
    rec.result = run(argv, 120);
    rec.records = read_spans(tmp.path("trace.jsonl"));
    return rec;
}

// The workloads of span_workloads "all", recorded once for several tests.
const Recording& all_workloads()
{
    static TempDir tmp;
    static const Recording rec = [] {
        Recording r = record_command(tmp, {WORKLOADS_BIN, "all", tmp.path("truth.json")});
        r.truth = read_json(tmp.path("truth.json"));
        return r;
    }();
    return rec;
}

// The "seq" tag of a record, -1 when it has none: a span that straddles a
// detach can lose the tags set after its tag probe went away.
long seq_of(const json& r)
{
    return r["tags"].value("seq", -1L);
}

// Records process `pid` for `seconds` into tmp/trace.jsonl.
RunResult record_for(const TempDir& tmp, pid_t pid, const std::string& seconds)
{
    return run({LSTRACE_BIN, "record", "-p", std::to_string(pid), "-o", tmp.path("trace.jsonl"),
                "-d", seconds});
}

// Starts `span_workloads loop` and returns its PID once it runs.
pid_t start_loop(const TempDir& tmp, const std::string& truth)
{
    const pid_t pid = spawn({WORKLOADS_BIN, "loop", tmp.path(truth)});
    REQUIRE(wait_for_file(tmp.path(truth + ".ready"), 10));
    return pid;
}

const json& find_op(const std::vector<json>& records, const std::string& op,
                    const std::string& description = "")
{
    for (const json& r : records)
        if (r["operation"] == op && (description.empty() || r["description"] == description))
            return r;
    FAIL("no record for operation " << op << " " << description);
    static json none;
    return none;
}

bool is_hex(const std::string& s, std::size_t len)
{
    return s.size() == len && std::all_of(s.begin(), s.end(), [](char c) {
               return std::isxdigit(static_cast<unsigned char>(c)) &&
                      !std::isupper(static_cast<unsigned char>(c));
           });
}

}  // namespace

TEST_CASE("launch mode records every span and exits cleanly", "[root][record]")
{
    const Recording& rec = all_workloads();
    INFO(rec.result.err);
    REQUIRE(rec.result.exit_code == 0);
    CHECK(rec.result.err.find("13 spans recorded") != std::string::npos);
    CHECK(rec.result.err.find(" 0 spans lost, 0 still open") != std::string::npos);
    CHECK(rec.result.err.find("command exit status 0") != std::string::npos);
    REQUIRE(rec.records.size() == 13);
}

TEST_CASE("records have the structured trace event format", "[root][record]")
{
    const Recording& rec = all_workloads();
    for (const json& r : rec.records) {
        INFO(r.dump());
        CHECK(is_hex(r["trace_id"], 32));
        CHECK(is_hex(r["span_id"], 16));
        CHECK((r["parent_span_id"].is_null() || is_hex(r["parent_span_id"], 16)));
        CHECK(r["timestamp"].get<std::string>().size() == 27);
        CHECK(r["duration_ms"].get<double>() >= 0);
        CHECK(r["tags"]["success"].is_boolean());
        CHECK(r["tags"]["execution_time_category"].is_string());
        CHECK(r["metadata"]["process_id"] == std::to_string(rec.truth["pid"].get<int>()));
        CHECK(r["metadata"]["thread_id"] == std::to_string(rec.truth["tid"].get<int>()));
        CHECK(r["metadata"]["memory_usage"].get<long>() > 0);
        CHECK(r["metadata"]["tracer"] == "tests.workloads");
        CHECK(r["resources"].is_object());
    }
}

TEST_CASE("on-CPU time of a CPU-bound span matches CLOCK_THREAD_CPUTIME_ID", "[root][record]")
{
    const Recording& rec = all_workloads();
    const json& r = find_op(rec.records, "cpu_burn");
    const double truth = rec.truth["cpu"]["cpu_ms"];
    const double cpu = r["resources"]["cpu_time_ms"];
    INFO("truth " << truth << " ms, recorded " << cpu << " ms");
    CHECK(cpu == Approx(truth).epsilon(0.10));
    CHECK(r["duration_ms"].get<double>() >= cpu);
    CHECK(r["metadata"]["cpu_usage"].get<double>() > 50.0);
    CHECK(r["tags"]["execution_time_category"] == "slow");
}

TEST_CASE("a sleeping span is off-CPU", "[root][record]")
{
    const Recording& rec = all_workloads();
    const json& r = find_op(rec.records, "sleep");
    INFO(r.dump());
    CHECK(r["resources"]["cpu_time_ms"].get<double>() < 5.0);
    CHECK(r["resources"]["offcpu_time_ms"].get<double>() >= 190.0);
    CHECK(r["resources"]["voluntary_ctx_switches"].get<long>() >= 1);
    CHECK(r["duration_ms"].get<double>() ==
          Approx(rec.truth["sleep"]["wall_ms"].get<double>()).epsilon(0.02));
}

TEST_CASE("bytes written and read through syscalls are counted per span", "[root][record]")
{
    const Recording& rec = all_workloads();
    const json& w = find_op(rec.records, "file_write");
    const json& rd = find_op(rec.records, "file_read");
    const double written = rec.truth["write"]["bytes"];
    const double read = rec.truth["read"]["bytes"];
    REQUIRE(written == 8 * kMiB);
    INFO(w.dump() << "\n" << rd.dump());
    CHECK(w["resources"]["write_bytes"].get<double>() == Approx(written).epsilon(0.02));
    CHECK(w["resources"]["write_syscalls"].get<long>() >=
          rec.truth["write"]["syscalls"].get<long>());
    CHECK(rd["resources"]["read_bytes"].get<double>() == Approx(read).epsilon(0.02));
    CHECK(rd["resources"]["read_syscalls"].get<long>() >=
          rec.truth["read"]["syscalls"].get<long>());
    // the reading span wrote nothing, the writing span read (almost) nothing
    CHECK(rd["resources"]["write_bytes"].get<double>() < 0.02 * written);
    CHECK(w["resources"]["read_bytes"].get<double>() < 0.02 * written);
}

TEST_CASE("touching fresh memory shows as faults and RSS growth", "[root][record]")
{
    const Recording& rec = all_workloads();
    const json& r = find_op(rec.records, "touch_memory");
    INFO(r.dump() << "\ntruth " << rec.truth["memory"].dump());
    // (16384 faults with 4 KiB pages; a kernel that backs the mapping with
    // transparent huge pages, as Debian's 6.1 does, takes a few hundred)
    CHECK(rec.truth["memory"]["minor_faults"].get<long>() >= 32);
    CHECK(r["resources"]["minor_faults"].get<double>() ==
          Approx(rec.truth["memory"]["minor_faults"].get<double>()).epsilon(0.02));
    CHECK(r["resources"]["rss_delta_bytes"].get<double>() >= 60 * kMiB);
    CHECK(r["tags"]["memory_category"] == "large");
}

TEST_CASE("RSS change is exact even for a few pages", "[root][record]")
{
    // 3 pages stay in the kernel's per-CPU counter parts: reading only the
    // global count (get_mm_counter) would show 0 here.
    const Recording& rec = all_workloads();
    const json& r = find_op(rec.records, "touch_pages");
    INFO(r.dump() << "\ntruth " << rec.truth["small_memory"].dump());
    CHECK(r["resources"]["minor_faults"] == rec.truth["small_memory"]["minor_faults"]);
    CHECK(r["resources"]["rss_delta_bytes"] == rec.truth["small_memory"]["bytes"]);
}

TEST_CASE("names that fill the probe buffer exactly are not flagged; longer ones are cut",
          "[root][record]")
{
    const Recording& rec = all_workloads();
    const json& fits = find_op(rec.records, "fits");
    const json& cut = find_op(rec.records, "cut");
    CHECK(fits["component"] == rec.truth["names"]["fits"]);
    CHECK_FALSE(fits["metadata"].contains("truncated"));
    CHECK(cut["component"] == rec.truth["names"]["cut_prefix"]);
    CHECK(cut["metadata"]["truncated"] == true);
}

TEST_CASE("nested spans share the trace and point at their parents", "[root][record]")
{
    const Recording& rec = all_workloads();
    const json& outer = find_op(rec.records, "run");
    const json& first = find_op(rec.records, "step", "first child");
    const json& second = find_op(rec.records, "step", "second child");
    const json& grandchild = find_op(rec.records, "generate");
    const json& thrower = find_op(rec.records, "throwing");
    CHECK(outer["parent_span_id"].is_null());
    for (const json* child : {&first, &second, &thrower}) {
        CHECK((*child)["parent_span_id"] == outer["span_id"]);
        CHECK((*child)["trace_id"] == outer["trace_id"]);
    }
    CHECK(grandchild["parent_span_id"] == first["span_id"]);
    CHECK(grandchild["trace_id"] == outer["trace_id"]);
    // separate root spans get separate traces
    CHECK(find_op(rec.records, "cpu_burn")["trace_id"] != outer["trace_id"]);

    CHECK(first["tags"]["model"] == "small");
    CHECK(first["tags"]["tokens"] == 128);
    CHECK(first["tags"]["temperature"] == 0.25);
    CHECK(first["tags"]["streaming"] == true);
    CHECK(first["tags"]["success"] == true);
    CHECK(outer["tags"]["steps"] == 2);
}

TEST_CASE("failed spans carry success=false and the error", "[root][record]")
{
    const Recording& rec = all_workloads();
    const json& second = find_op(rec.records, "step", "second child");
    CHECK(second["tags"]["success"] == false);
    CHECK(second["tags"]["error_type"] == "ConfigurationError");
    CHECK(second["tags"]["error_message"] == "Invalid configuration format");
    const json& thrower = find_op(rec.records, "throwing");
    CHECK(thrower["tags"]["success"] == false);
    CHECK(thrower["tags"]["exception_unwinding"] == true);
}

TEST_CASE("4 threads x 1000 spans: all 4000 recorded, none lost", "[root][record]")
{
    TempDir tmp;
    Recording rec = record_command(tmp, {WORKLOADS_BIN, "threads", tmp.path("truth.json")});
    INFO(rec.result.err);
    REQUIRE(rec.result.exit_code == 0);
    const json truth = read_json(tmp.path("truth.json"));
    CHECK(truth["recorded_by_app"] == 4000);
    REQUIRE(rec.records.size() == 4000);
    CHECK(rec.result.err.find("4000 spans recorded") != std::string::npos);
    CHECK(rec.result.err.find(" 0 spans lost") != std::string::npos);
    std::map<int, std::set<long>> seqs_by_thread;
    std::set<std::string> tids;
    for (const json& r : rec.records) {
        seqs_by_thread[r["tags"]["thread"].get<int>()].insert(r["tags"]["seq"].get<long>());
        tids.insert(r["metadata"]["thread_id"].get<std::string>());
    }
    CHECK(tids.size() == 4);
    REQUIRE(seqs_by_thread.size() == 4);
    for (const auto& entry : seqs_by_thread)
        CHECK(entry.second.size() == 1000);
}

TEST_CASE("attach with -p to a running process records every span begun after attach",
          "[root][record]")
{
    TempDir tmp;
    const std::string truth_path = tmp.path("truth.json");
    const pid_t app = spawn({WORKLOADS_BIN, "loop", truth_path});
    REQUIRE(wait_for_file(truth_path + ".ready", 10));
    usleep(100 * 1000);  // let it run untraced first

    RunResult res = run({LSTRACE_BIN, "record", "-p", std::to_string(app), "-o",
                         tmp.path("trace.jsonl"), "--duration", "1.5"});
    INFO(res.err);
    CHECK(res.exit_code == 0);
    usleep(100 * 1000);  // and untraced again after the detach
    kill(app, SIGTERM);
    const int status = wait_for(app, 10);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);  // the traced process ran on unharmed

    const auto records = read_spans(tmp.path("trace.jsonl"));
    const json truth = read_json(truth_path);
    std::vector<long> recorded, traced = truth["traced_seqs"].get<std::vector<long>>();
    for (const json& r : records)
        if (seq_of(r) >= 0)
            recorded.push_back(seq_of(r));
    CHECK(records.size() - recorded.size() <= 1);  // at most the span caught by the detach
    std::sort(recorded.begin(), recorded.end());
    REQUIRE(recorded.size() >= 300);  // ~1.5 s of spans every ~2 ms
    CHECK(recorded.front() > 0);      // spans before the attach are not invented
    // no gap: every span begun while attached was recorded
    CHECK(recorded.back() - recorded.front() + 1 == static_cast<long>(recorded.size()));
    // and the application agrees on which spans those were; at the very edges
    // of attach and detach one span may be seen as enabled by the application
    // and missed by the probes (the kernel sets the semaphore just before it
    // arms the breakpoint, and clears it just after disarming).
    for (long s : recorded)
        CHECK(std::binary_search(traced.begin(), traced.end(), s));
    CHECK(traced.size() - recorded.size() <= 2);
}

TEST_CASE("the C API records spans, tags of every type and errors", "[root][record]")
{
    TempDir tmp;
    Recording rec = record_command(tmp, {C_SPANS_BIN, tmp.path("truth.json")});
    INFO(rec.result.err);
    REQUIRE(rec.result.exit_code == 0);
    REQUIRE(rec.records.size() == 2);
    const json& child = find_op(rec.records, "child");
    const json& parent = find_op(rec.records, "parent");
    CHECK(child["parent_span_id"] == parent["span_id"]);
    CHECK(child["tags"]["success"] == false);
    CHECK(child["tags"]["error_type"] == "CError");
    CHECK(parent["tags"]["lang"] == "c");
    CHECK(parent["tags"]["answer"] == 42);
    CHECK(parent["tags"]["ratio"] == 0.5);
    CHECK(parent["tags"]["flag"] == true);
    CHECK(parent["tags"]["success"] == true);
    CHECK(parent["metadata"]["process_id"] ==
          std::to_string(read_json(tmp.path("truth.json"))["pid"].get<int>()));
}

TEST_CASE("SIGINT, SIGTERM and SIGHUP stop the recorder with every record flushed",
          "[root][record]")
{
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    INFO("signal " << sig);
    TempDir tmp;
    const std::string truth_path = tmp.path("truth.json");
    const pid_t app = spawn({WORKLOADS_BIN, "loop", truth_path});
    REQUIRE(wait_for_file(truth_path + ".ready", 10));
    const pid_t recorder =
        spawn({LSTRACE_BIN, "record", "-p", std::to_string(app), "-o", tmp.path("trace.jsonl")});
    usleep(1500 * 1000);
    kill(recorder, sig);
    const int status = wait_for(recorder, 10);
    kill(app, SIGTERM);
    wait_for(app, 10);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    const auto records = read_spans(tmp.path("trace.jsonl"));  // complete, valid lines
    CHECK(records.size() >= 100);
  }
}

TEST_CASE("spans already open at the attach stay untraced: no partial records",
          "[root][record]")
{
    TempDir tmp;
    const pid_t app = spawn({WORKLOADS_BIN, "slow", tmp.path("truth.json")});
    REQUIRE(wait_for_file(tmp.path("truth.json.ready"), 10));
    usleep(50 * 1000);  // well inside a 200 ms span
    RunResult res = record_for(tmp, app, "1");
    kill(app, SIGTERM);
    wait_for(app, 10);
    INFO(res.err);
    REQUIRE(res.exit_code == 0);
    // The span open at the attach began while the application saw no
    // recorder, so it fires no end either (the header only ends spans it
    // began traced): nothing half-seen reaches the trace.
    CHECK(res.err.find(" 0 ended without a recorded begin") != std::string::npos);
    const auto records = read_spans(tmp.path("trace.jsonl"));
    CHECK(records.size() >= 3);
    for (const json& r : records) {
        CHECK(r["resources"].is_object());
        CHECK(r["duration_ms"].get<double>() >= 195.0);  // whole spans only
    }
}

TEST_CASE("a recorder that is itself being ptraced keeps working", "[root][record]")
{
    TempDir tmp;
    const pid_t app = start_loop(tmp, "truth.json");
    const pid_t recorder = spawn({LSTRACE_BIN, "record", "-p", std::to_string(app), "-o",
                                  tmp.path("trace.jsonl"), "-d", "1.5"});
    // Be its tracer (as strace or a debugger would), passing every signal on.
    REQUIRE(ptrace(PTRACE_SEIZE, recorder, nullptr, nullptr) == 0);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        const pid_t r = waitpid(recorder, &status, WNOHANG);
        if (r == recorder && (WIFEXITED(status) || WIFSIGNALED(status)))
            break;
        if (r == recorder && WIFSTOPPED(status)) {
            const int sig = WSTOPSIG(status);
            ptrace(PTRACE_CONT, recorder, nullptr,
                   reinterpret_cast<void*>(static_cast<long>(sig == SIGTRAP ? 0 : sig)));
        }
        usleep(5 * 1000);
    }
    kill(app, SIGTERM);
    wait_for(app, 10);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(read_spans(tmp.path("trace.jsonl")).size() >= 100);
}

TEST_CASE("a duration limit ends a launched command with SIGTERM and keeps its last spans",
          "[root][record]")
{
    TempDir tmp;
    RunResult res = run({LSTRACE_BIN, "record", "--duration", "1", "-o", tmp.path("trace.jsonl"),
                         "--", WORKLOADS_BIN, "loop", tmp.path("truth.json")});
    INFO(res.err);
    REQUIRE(res.exit_code == 0);
    CHECK(res.err.find("command exit status 0") != std::string::npos);  // it handled SIGTERM
    const json truth = read_json(tmp.path("truth.json"));
    std::vector<long> recorded, traced = truth["traced_seqs"].get<std::vector<long>>();
    for (const json& r : read_spans(tmp.path("trace.jsonl")))
        recorded.push_back(r["tags"]["seq"].get<long>());
    std::sort(recorded.begin(), recorded.end());
    // traced from its first instruction to its exit: exactly the same spans
    CHECK(recorded == traced);
    CHECK(recorded.size() >= 200);
}

TEST_CASE("the recorder idles while a traced process it outlived is gone", "[root][record]")
{
    // Two targets; the first exits at once.  An exited target's pidfd stays
    // readable, so a recorder that kept watching it would spin on a CPU.
    TempDir tmp;
    const pid_t early = spawn({WORKLOADS_BIN, "loop", tmp.path("early.json")});
    const pid_t late = spawn({WORKLOADS_BIN, "loop", tmp.path("late.json")});
    REQUIRE(wait_for_file(tmp.path("early.json.ready"), 10));
    REQUIRE(wait_for_file(tmp.path("late.json.ready"), 10));
    const pid_t recorder = spawn({LSTRACE_BIN, "record", "-p",
                                  std::to_string(early) + "," + std::to_string(late), "-o",
                                  tmp.path("trace.jsonl"), "--duration", "2"});
    usleep(300 * 1000);
    kill(early, SIGTERM);
    wait_for(early, 10);
    int status = 0;
    rusage usage{};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (wait4(recorder, &status, WNOHANG, &usage) == 0 &&
           std::chrono::steady_clock::now() < deadline)
        usleep(20 * 1000);
    kill(late, SIGTERM);
    wait_for(late, 10);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    const double cpu_s = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
                         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    INFO("recorder CPU time over ~2 s: " << cpu_s << " s");
    CHECK(cpu_s < 0.5);
}

namespace {

// "lstrace-bpf: N spans recorded ... M spans lost, K still open" -> {N, M, K}
std::array<long, 3> summary_counts(const std::string& err)
{
    std::array<long, 3> n{-1, -1, -1};
    std::sscanf(err.c_str() + err.find("lstrace-bpf: "),
                "lstrace-bpf: %ld spans recorded to %*s in %*s s, %ld spans lost, %ld still open",
                &n[0], &n[1], &n[2]);
    return n;
}

}  // namespace

TEST_CASE("overload: records plus reported losses equal the spans produced, exactly",
          "[root][record]")
{
    TempDir tmp;
    // Guarantee the overload: the recorder and the producers share one CPU
    // (the producers inherit it), the recorder at the lowest priority; the
    // burst raises its own threads to the highest.
    RunResult res = run({"/usr/bin/taskset", "-c", "0", "/usr/bin/nice", "-n", "19", LSTRACE_BIN,
                         "record", "-b", "1", "-o", tmp.path("trace.jsonl"), "--",
                         WORKLOADS_BIN, "burst", tmp.path("truth.json")});
    INFO(res.err);
    REQUIRE(res.exit_code == 0);
    const long produced = read_json(tmp.path("truth.json"))["spans"].get<long>();
    const auto records = read_spans(tmp.path("trace.jsonl"));
    const auto [recorded, lost, open] = summary_counts(res.err);
    INFO("produced " << produced << ", recorded " << recorded << ", lost " << lost
                     << ", records " << records.size());
    CHECK(static_cast<long>(records.size()) == recorded);
    CHECK(lost > 0);  // a 1 MiB buffer cannot hold this burst: the test must overload
    CHECK(open == 0);
    CHECK(recorded + lost == produced);
}

namespace {

// The `recording` semaphore of a running process, from `lstrace-bpf list -p`.
int recording_semaphore(pid_t pid)
{
    const RunResult r = run({LSTRACE_BIN, "list", "-p", std::to_string(pid)});
    const auto line = r.out.find("langswarm:recording");
    if (line == std::string::npos)
        return -1;
    const std::string rest = r.out.substr(line, r.out.find('\n', line) - line);
    if (rest.find("disabled") != std::string::npos)
        return 0;
    const auto at = rest.find("enabled (semaphore ");
    return at == std::string::npos ? -1 : std::atoi(rest.c_str() + at + 19);
}

bool wait_for_semaphore(pid_t pid, int value, int timeout_s)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
        if (recording_semaphore(pid) == value)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

std::vector<long> recorded_seqs(const std::string& trace)
{
    std::vector<long> seqs;
    for (const json& r : read_spans(trace))
        if (seq_of(r) >= 0)
            seqs.push_back(seq_of(r));
    std::sort(seqs.begin(), seqs.end());
    return seqs;
}

}  // namespace

TEST_CASE("two recorders on one process each get complete output", "[root][record]")
{
    TempDir tmp;
    const pid_t app = start_loop(tmp, "truth.json");
    const std::string pid = std::to_string(app);
    // B outlives A: A's detach must not turn tracing off under B.  (The
    // kernel counts a semaphore once per armed uprobe, not per recorder, so
    // it reads 1 with both attached.)
    // (B's margin covers A's load, 1.5 s and detach, ~1 s for 13 uprobes)
    const pid_t b = spawn({LSTRACE_BIN, "record", "-p", pid, "-o", tmp.path("b.jsonl"), "-d", "8"});
    REQUIRE(wait_for_semaphore(app, 1, 5));
    const pid_t a =
        spawn({LSTRACE_BIN, "record", "-p", pid, "-o", tmp.path("a.jsonl"), "-d", "1.5"});
    const int sa = wait_for(a, 20);
    CHECK(recording_semaphore(app) == 1);  // B is still attached
    const int sb = wait_for(b, 20);
    CHECK(wait_for_semaphore(app, 0, 5));  // both gone: the application is untraced again
    kill(app, SIGTERM);
    wait_for(app, 10);
    REQUIRE(WIFEXITED(sa));
    REQUIRE(WIFEXITED(sb));
    CHECK(WEXITSTATUS(sa) == 0);
    CHECK(WEXITSTATUS(sb) == 0);
    for (const char* name : {"a.jsonl", "b.jsonl"}) {
        const auto seqs = recorded_seqs(tmp.path(name));
        INFO(name);
        REQUIRE(seqs.size() >= 250);
        CHECK(seqs.back() - seqs.front() + 1 == static_cast<long>(seqs.size()));  // no gap
    }
}

namespace {

// IDs of the loaded BPF programs called on_span_begin (bpftool prog show).
std::set<std::string> span_begin_programs()
{
    std::set<std::string> ids;
    const RunResult r = run({"/usr/sbin/bpftool", "prog", "show"});
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line))
        if (line.find(" name on_span_begin ") != std::string::npos)
            ids.insert(line.substr(0, line.find(':')));
    return ids;
}

}  // namespace

TEST_CASE("a recorder killed with SIGKILL leaves the process untraced and running",
          "[root][record]")
{
    TempDir tmp;
    const pid_t app = start_loop(tmp, "truth.json");
    const auto before = span_begin_programs();  // other recorders' (none, usually)
    const pid_t recorder =
        spawn({LSTRACE_BIN, "record", "-p", std::to_string(app), "-o", tmp.path("t.jsonl")});
    REQUIRE(wait_for_semaphore(app, 1, 5));
    std::set<std::string> ours;
    for (const auto& id : span_begin_programs())
        if (!before.count(id))
            ours.insert(id);
    CHECK(ours.size() == 1);
    kill(recorder, SIGKILL);
    wait_for(recorder, 10);
    CHECK(wait_for_semaphore(app, 0, 5));  // the kernel dropped the uprobes with the recorder
    // and its BPF programs are unloaded (a program outlives its loader only
    // while a link or a pin holds it)
    bool gone = false;
    for (int i = 0; i < 50 && !gone; ++i, usleep(100 * 1000)) {
        const auto now = span_begin_programs();
        gone = std::none_of(ours.begin(), ours.end(), [&](const auto& id) { return now.count(id); });
    }
    CHECK(gone);
    usleep(200 * 1000);
    CHECK(kill(app, 0) == 0);  // still running
    kill(app, SIGTERM);
    const int status = wait_for(app, 10);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    // the spans it made after the recorder died were not traced
    const auto traced = read_json(tmp.path("truth.json"))["traced_seqs"].get<std::vector<long>>();
    CHECK(traced.size() < 1000);
}

TEST_CASE("the trace is private to its owner: mode 0600, the sudo user's", "[root][record]")
{
    TempDir tmp;
    RunResult r = run({"/usr/bin/env", "SUDO_UID=65534", "SUDO_GID=65534", LSTRACE_BIN, "record",
                       "-o", tmp.path("trace.jsonl"), "--", C_SPANS_BIN});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    struct stat st {};
    REQUIRE(stat(tmp.path("trace.jsonl").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(st.st_uid == 65534u);
    CHECK(st.st_gid == 65534u);
}

TEST_CASE("once attached, the recorder holds no capability but CAP_DAC_OVERRIDE",
          "[root][record]")
{
    TempDir tmp;
    const pid_t app = start_loop(tmp, "truth.json");
    const pid_t recorder =
        spawn({LSTRACE_BIN, "record", "-p", std::to_string(app), "-o", tmp.path("t.jsonl")});
    REQUIRE(wait_for_semaphore(app, 1, 5));
    usleep(100 * 1000);
    const std::string status = read_text("/proc/" + std::to_string(recorder) + "/status");
    kill(recorder, SIGTERM);
    const int rs = wait_for(recorder, 10);
    kill(app, SIGTERM);
    wait_for(app, 10);
    INFO(status);
    CHECK(status.find("CapEff:\t0000000000000002") != std::string::npos);
    CHECK(status.find("CapPrm:\t0000000000000002") != std::string::npos);
    CHECK(status.find("CapInh:\t0000000000000000") != std::string::npos);
    CHECK(status.find("CapBnd:\t0000000000000002") != std::string::npos);
    CHECK(status.find("CapAmb:\t0000000000000000") != std::string::npos);
    CHECK(status.find("NoNewPrivs:\t1") != std::string::npos);
    // and it still finished its job without them
    REQUIRE(WIFEXITED(rs));
    CHECK(WEXITSTATUS(rs) == 0);
    CHECK(read_spans(tmp.path("t.jsonl")).size() > 10);
}

TEST_CASE("spans still open when their process or thread dies are written as aborted",
          "[root][record]")
{
    const std::pair<const char*, const char*> cases[] = {
        {"abort-exit", "exit status 3"},
        {"abort-kill", "killed by signal SIGKILL"},
    };
    for (const auto& [mode, reason] : cases) {
        TempDir tmp;
        Recording rec = record_command(tmp, {WORKLOADS_BIN, mode, tmp.path("truth.json")});
        INFO(mode << ": " << rec.result.err);
        REQUIRE(rec.result.exit_code == 0);
        CHECK(rec.result.err.find("0 still open, 2 aborted by an exit") != std::string::npos);
        REQUIRE(rec.records.size() == 2);
        CHECK(rec.records[0]["operation"] == "inner");  // innermost first
        CHECK(rec.records[1]["operation"] == "outer");
        for (const json& r : rec.records) {
            CHECK(r["tags"]["aborted"] == true);
            CHECK(r["tags"]["abort_reason"] == reason);
            CHECK(r["tags"]["success"] == false);
            CHECK(r["resources"].is_null());
        }
        CHECK(rec.records[0]["parent_span_id"] == rec.records[1]["span_id"]);
    }

    TempDir tmp;
    Recording rec = record_command(tmp, {WORKLOADS_BIN, "abort-thread", tmp.path("truth.json")});
    INFO(rec.result.err);
    REQUIRE(rec.records.size() == 2);
    const json& leaked = find_op(rec.records, "leaked");
    CHECK(leaked["tags"]["aborted"] == true);
    CHECK(leaked["tags"]["abort_reason"] == "thread exited");
    const json& completed = find_op(rec.records, "completed");
    CHECK(completed["tags"]["success"] == true);
    CHECK_FALSE(completed["tags"].contains("aborted"));
}

TEST_CASE("secrets are redacted by default, in tags and in strings", "[root][record]")
{
    TempDir tmp;
    RunResult res = run({LSTRACE_BIN, "record", "--redact-keys", "customer_id", "-o",
                         tmp.path("trace.jsonl"), "--", WORKLOADS_BIN, "secrets",
                         tmp.path("truth.json")});
    INFO(res.err);
    REQUIRE(res.exit_code == 0);
    const std::string text = read_text(tmp.path("trace.jsonl"));
    for (const auto& secret : read_json(tmp.path("truth.json"))["secrets"])
        CHECK(text.find(secret.get<std::string>()) == std::string::npos);
    CHECK(text.find("cust-789") == std::string::npos);  // --redact-keys
    const json r = read_spans(tmp.path("trace.jsonl")).at(0);
    CHECK(r["tags"]["api_key"] == "[REDACTED]");
    CHECK(r["tags"]["headers"] == "Authorization: Bearer [REDACTED]");
    CHECK(r["tags"]["prompt_tokens"] == 42);  // a count, not a token
    CHECK(r["tags"]["error_message"] == "login failed: password=[REDACTED]");
    CHECK(r["description"] == "POST /v1/chat with api_key=[REDACTED]");
    CHECK(r["metadata"]["redacted"] == 5);

    TempDir raw;
    RunResult plain = run({LSTRACE_BIN, "record", "--no-redact", "-o", raw.path("trace.jsonl"),
                           "--", WORKLOADS_BIN, "secrets", raw.path("truth.json")});
    REQUIRE(plain.exit_code == 0);
    const json p = read_spans(raw.path("trace.jsonl")).at(0);
    CHECK(p["tags"]["api_key"] == "sk-test-123");
    CHECK_FALSE(p["metadata"].contains("redacted"));
}

TEST_CASE("SIGINT stops the recorder promptly even while producers outrun it",
          "[root][record]")
{
    TempDir tmp;
    const pid_t app = spawn({"/usr/bin/env", "SOAK_SECONDS=20", WORKLOADS_BIN, "soak",
                             tmp.path("truth.json")});
    usleep(300 * 1000);
    const pid_t recorder =
        spawn({LSTRACE_BIN, "record", "-p", std::to_string(app), "-o", tmp.path("t.jsonl")});
    REQUIRE(wait_for_semaphore(app, 1, 10));
    usleep(1000 * 1000);  // the ring buffer is full by now: 8 threads, 2 CPUs
    const auto sent = std::chrono::steady_clock::now();
    kill(recorder, SIGINT);
    const int status = wait_for(recorder, 20);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
    kill(app, SIGKILL);
    wait_for(app, 10);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    INFO("stopped " << seconds << " s after SIGINT");
    CHECK(seconds < 5.0);
    CHECK(read_spans(tmp.path("t.jsonl")).size() > 1000);  // flushed, valid JSONL
}

TEST_CASE("probes in a shared library are found and recorded, launched and attached",
          "[root][record]")
{
    {
        TempDir tmp;
        Recording rec = record_command(tmp, {LIB_USER_BIN, "once", tmp.path("truth.json")});
        INFO(rec.result.err);
        REQUIRE(rec.result.exit_code == 0);
        CHECK(read_json(tmp.path("truth.json"))["recorded_by_app"] == 5);
        REQUIRE(rec.records.size() == 10);  // 5 x (outer + inner)
        for (const json& r : rec.records) {
            CHECK(r["metadata"]["tracer"] == "tests.lib");
            if (r["operation"] == "inner")
                CHECK_FALSE(r["parent_span_id"].is_null());
        }
    }
    TempDir tmp;
    const pid_t app = spawn({LIB_USER_BIN, "loop", tmp.path("truth.json")});
    REQUIRE(wait_for_file(tmp.path("truth.json.ready"), 10));
    RunResult res = record_for(tmp, app, "1");
    kill(app, SIGTERM);
    wait_for(app, 10);
    INFO(res.err);
    REQUIRE(res.exit_code == 0);
    const auto records = read_spans(tmp.path("trace.jsonl"));
    CHECK(records.size() >= 200);
    std::vector<long> seqs;
    for (const json& r : records)
        if (r["operation"] == "outer" && seq_of(r) >= 0)
            seqs.push_back(seq_of(r));
    std::sort(seqs.begin(), seqs.end());
    REQUIRE_FALSE(seqs.empty());
    CHECK(seqs.back() - seqs.front() + 1 == static_cast<long>(seqs.size()));
}

TEST_CASE("follow mode traces forked children and children that exec another program",
          "[root][record]")
{
    TempDir tmp;
    RunResult res = run({LSTRACE_BIN, "record", "--follow", "-o", tmp.path("trace.jsonl"), "--",
                         WORKLOADS_BIN, "family", tmp.path("truth.json"), C_SPANS_BIN});
    INFO(res.err);
    REQUIRE(res.exit_code == 0);
    const json truth = read_json(tmp.path("truth.json"));
    CHECK(truth["children_ok"] == true);
    const auto records = read_spans(tmp.path("trace.jsonl"));
    std::map<std::string, std::string> pid_of;  // operation -> process_id
    for (const json& r : records)
        pid_of[r["operation"].get<std::string>()] = r["metadata"]["process_id"];
    INFO(records.size() << " records");
    CHECK(pid_of["parent"] == std::to_string(truth["parent_pid"].get<int>()));
    CHECK(pid_of["forked"] == std::to_string(truth["forked_pid"].get<int>()));
    // after exec: c_spans' own spans, in the child's (unchanged) PID
    CHECK(pid_of["child"] == std::to_string(truth["execd_pid"].get<int>()));
    CHECK(read_json(tmp.path("truth.json.exec.json"))["pid"] == truth["execd_pid"]);
    CHECK(records.size() == 4);  // family.parent, family.forked, c parent + child

    // and without --follow only the parent's span
    TempDir plain;
    RunResult alone = run({LSTRACE_BIN, "record", "-o", plain.path("trace.jsonl"), "--",
                           WORKLOADS_BIN, "family", plain.path("truth.json"), C_SPANS_BIN});
    REQUIRE(alone.exit_code == 0);
    const auto only = read_spans(plain.path("trace.jsonl"));
    REQUIRE(only.size() == 1);
    CHECK(only[0]["operation"] == "parent");
}

TEST_CASE("binary mode traces every process running the file, started before or after",
          "[root][record]")
{
    TempDir tmp;
    const pid_t before = start_loop(tmp, "before.json");
    const pid_t recorder = spawn({LSTRACE_BIN, "record", "--binary", WORKLOADS_BIN, "-o",
                                  tmp.path("trace.jsonl"), "-d", "2"});
    // (attaching every process's probes takes seconds in an emulated VM)
    REQUIRE(wait_for_semaphore(before, 1, 30));
    const pid_t after = start_loop(tmp, "after.json");
    const int rs = wait_for(recorder, 20);
    kill(before, SIGTERM);
    kill(after, SIGTERM);
    wait_for(before, 10);
    wait_for(after, 10);
    REQUIRE(WIFEXITED(rs));
    CHECK(WEXITSTATUS(rs) == 0);
    std::set<std::string> pids;
    for (const json& r : read_spans(tmp.path("trace.jsonl")))
        pids.insert(r["metadata"]["process_id"].get<std::string>());
    CHECK(pids.count(std::to_string(before)) == 1);
    CHECK(pids.count(std::to_string(after)) == 1);
}

TEST_CASE("a process in another PID namespace: host and namespace PIDs", "[root][record]")
{
    TempDir tmp;
    const pid_t unshare = spawn({"/usr/bin/unshare", "--pid", "--fork", "--mount-proc",
                                 WORKLOADS_BIN, "loop", tmp.path("truth.json")});
    REQUIRE(wait_for_file(tmp.path("truth.json.ready"), 10));
    // the workload is unshare's child: PID 1 inside, something else outside
    const std::string children =
        read_text("/proc/" + std::to_string(unshare) + "/task/" + std::to_string(unshare) +
                  "/children");
    const int host_pid = std::atoi(children.c_str());
    REQUIRE(host_pid > 0);
    RunResult res = record_for(tmp, host_pid, "1");
    kill(host_pid, SIGTERM);
    wait_for(unshare, 10);
    INFO(res.err);
    REQUIRE(res.exit_code == 0);
    const auto records = read_spans(tmp.path("trace.jsonl"));
    REQUIRE(records.size() >= 100);
    const std::string ns_pid = std::to_string(std::atoi(read_text(tmp.path("truth.json.ready")).c_str()));
    CHECK(ns_pid == "1");
    for (const json& r : {records.front(), records.back()}) {
        CHECK(r["metadata"]["process_id"] == std::to_string(host_pid));
        CHECK(r["metadata"]["ns_process_id"] == ns_pid);
        CHECK(r["metadata"]["ns_thread_id"] == ns_pid);
    }
}

TEST_CASE("PID reuse: a new process with an old PID inherits nothing", "[root][record]")
{
    TempDir tmp;
    RunResult res = run({LSTRACE_BIN, "record", "--follow", "-o", tmp.path("trace.jsonl"), "--",
                         WORKLOADS_BIN, "pid-reuse", tmp.path("truth.json")});
    INFO(res.err);
    REQUIRE(res.exit_code == 0);
    const json truth = read_json(tmp.path("truth.json"));
    REQUIRE(truth["reused"] == true);  // the second child really got the first one's PID
    const std::string pid = std::to_string(truth["a"].get<int>());
    std::map<std::string, int> ops;
    for (const json& r : read_spans(tmp.path("trace.jsonl"))) {
        CHECK(r["metadata"]["process_id"] == pid);
        ++ops[r["operation"].get<std::string>()];
        if (r["operation"] == "left_open") {
            // aborted when A exited, not kept open for (or ended by) B
            CHECK(r["tags"]["aborted"] == true);
            CHECK(r["tags"]["abort_reason"] == "exit status 0");
        } else {
            CHECK(r["resources"].is_object());
            CHECK(r["resources"]["cpu_time_ms"].get<double>() <= r["duration_ms"].get<double>());
        }
    }
    CHECK(ops["a"] == 3);
    CHECK(ops["left_open"] == 1);
    CHECK(ops["b"] == 5);
    CHECK(res.err.find("0 still open") != std::string::npos);
}
