// The recorder's life: launch and attach, stop signals and durations, spans
// open at the attach or at an exit, overload and loss accounting, several
// recorders, a killed recorder, PID reuse.

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "checks.hpp"
#include "process_helpers.hpp"

using nlohmann::json;
using namespace lstrace::test;

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

TEST_CASE("SIGINT, SIGTERM and SIGHUP stop the recorder with every record flushed",
          "[root][record]")
{
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
        INFO("signal " << sig);
        TempDir tmp;
        const std::string truth_path = tmp.path("truth.json");
        const pid_t app = spawn({WORKLOADS_BIN, "loop", truth_path});
        REQUIRE(wait_for_file(truth_path + ".ready", 10));
        const pid_t recorder = spawn(
            {LSTRACE_BIN, "record", "-p", std::to_string(app), "-o", tmp.path("trace.jsonl")});
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

TEST_CASE("spans already open at the attach stay untraced: no partial records", "[root][record]")
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
    // Two targets; the first exits once both are attached.  An exited
    // target's pidfd stays readable, so a recorder that kept watching it
    // would spin on a CPU.  Only the idle stretch after that exit is
    // measured: loading and attaching BPF costs CPU too, more on a busy
    // machine, and is not what this test is about.
    TempDir tmp;
    const pid_t early = spawn({WORKLOADS_BIN, "loop", tmp.path("early.json")});
    const pid_t late = spawn({WORKLOADS_BIN, "loop", tmp.path("late.json")});
    REQUIRE(wait_for_file(tmp.path("early.json.ready"), 10));
    REQUIRE(wait_for_file(tmp.path("late.json.ready"), 10));
    const pid_t recorder =
        spawn({LSTRACE_BIN, "record", "-p", std::to_string(early) + "," + std::to_string(late),
               "-o", tmp.path("trace.jsonl"), "--duration", "30"});
    REQUIRE(wait_for_semaphore(early, 1, 30));
    REQUIRE(wait_for_semaphore(late, 1, 30));
    kill(early, SIGTERM);
    wait_for(early, 10);
    usleep(500 * 1000);  // the recorder notices the exit
    const double before_s = process_cpu_seconds(recorder);
    usleep(1500 * 1000);
    const double idle_cpu_s = process_cpu_seconds(recorder) - before_s;
    kill(recorder, SIGINT);
    const int status = wait_for(recorder, 20);
    kill(late, SIGTERM);
    wait_for(late, 10);
    REQUIRE(before_s >= 0);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    INFO("recorder CPU time over 1.5 s after its first target exited: " << idle_cpu_s << " s");
    // a recorder spinning on the gone target's pidfd would use ~1.5 s
    CHECK(idle_cpu_s < 0.15);
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
                         "record", "-b", "1", "-o", tmp.path("trace.jsonl"), "--", WORKLOADS_BIN,
                         "burst", tmp.path("truth.json")});
    INFO(res.err);
    REQUIRE(res.exit_code == 0);
    const long produced = read_json(tmp.path("truth.json"))["spans"].get<long>();
    const auto records = read_spans(tmp.path("trace.jsonl"));
    const auto [recorded, lost, open] = summary_counts(res.err);
    INFO("produced " << produced << ", recorded " << recorded << ", lost " << lost << ", records "
                     << records.size());
    CHECK(static_cast<long>(records.size()) == recorded);
    CHECK(lost > 0);  // a 1 MiB buffer cannot hold this burst: the test must overload
    CHECK(open == 0);
    CHECK(recorded + lost == produced);
}

TEST_CASE("a recorder that falls behind goes on through its writer threads, in order, losing "
          "nothing uncounted",
          "[root][record]")
{
    TempDir tmp;
    // Stopped for a while mid-recording, the recorder finds its ring buffer
    // full of spans at the next drain: behind, it hands formatting and
    // writing to threads of their own (RecordSink::go_parallel) and goes on.
    const std::string script =
        std::string(LSTRACE_BIN) + " record -v -o " + tmp.path("trace.jsonl") + " -- " +
        WORKLOADS_BIN + " rate " + tmp.path("truth.json") +
        " 4 0 & r=$!; sleep 1.5; kill -STOP $r; sleep 0.8; kill -CONT $r; wait $r";
    const RunResult res = run({"/bin/sh", "-c", script}, 120);
    INFO(res.err.substr(res.err.size() > 4000 ? res.err.size() - 4000 : 0));
    REQUIRE(res.exit_code == 0);
    CHECK(res.err.find("formatting and writing on threads of their own") != std::string::npos);
    const long produced = read_json(tmp.path("truth.json"))["spans"].get<long>();
    const auto records = read_spans(tmp.path("trace.jsonl"));
    // (-v: the summary is the last of many "lstrace-bpf: " lines)
    const std::size_t summary = res.err.find(" spans recorded to ");
    REQUIRE(summary != std::string::npos);
    const auto [recorded, lost, open] =
        summary_counts(res.err.substr(res.err.rfind("lstrace-bpf: ", summary)));
    INFO("produced " << produced << ", recorded " << recorded << ", lost " << lost);
    CHECK(static_cast<long>(records.size()) == recorded);
    CHECK(recorded + lost == produced);
    CHECK(open == 0);
    // one producer thread: the file holds its spans in the order they ended
    long last = -1;
    bool ordered = true;
    for (const json& r : records) {
        const long seq = r["tags"]["seq"].get<long>();
        ordered = ordered && seq > last;
        last = seq;
    }
    CHECK(ordered);
    CHECK(recorded > 20000);
}

namespace {

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
        gone =
            std::none_of(ours.begin(), ours.end(), [&](const auto& id) { return now.count(id); });
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

TEST_CASE("SIGINT stops the recorder promptly even while producers outrun it", "[root][record]")
{
    TempDir tmp;
    const pid_t app =
        spawn({"/usr/bin/env", "SOAK_SECONDS=20", WORKLOADS_BIN, "soak", tmp.path("truth.json")});
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
