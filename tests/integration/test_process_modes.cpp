// Which processes are traced: probes in shared libraries, --follow across
// fork and exec, --binary, another PID namespace.

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
    const auto records = record_one_second(tmp, app, app);
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
    const std::string children = read_text("/proc/" + std::to_string(unshare) + "/task/" +
                                           std::to_string(unshare) + "/children");
    const int host_pid = std::atoi(children.c_str());
    REQUIRE(host_pid > 0);
    const auto records = record_one_second(tmp, host_pid, unshare);
    REQUIRE(records.size() >= 100);
    const std::string ns_pid =
        std::to_string(std::atoi(read_text(tmp.path("truth.json.ready")).c_str()));
    CHECK(ns_pid == "1");
    for (const json& r : {records.front(), records.back()}) {
        CHECK(r["metadata"]["process_id"] == std::to_string(host_pid));
        CHECK(r["metadata"]["ns_process_id"] == ns_pid);
        CHECK(r["metadata"]["ns_thread_id"] == ns_pid);
    }
}
