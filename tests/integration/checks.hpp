// Catch2 checks shared by the integration tests.
#pragma once

#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "process_helpers.hpp"

namespace lstrace::test {

// Bad input: exactly one line on stderr, "lstrace-bpf: error: ...", naming
// `needle`, and no crash.
inline void check_one_line_error(const RunResult& r, const std::string& needle)
{
    INFO("stderr: " << r.err);
    CHECK(r.signal == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.rfind("lstrace-bpf: error: ", 0) == 0);
    CHECK(r.err.find(needle) != std::string::npos);
}

// The first record of operation `op` (and `description`, when given).
inline const nlohmann::json& find_op(const std::vector<nlohmann::json>& records,
                                     const std::string& op, const std::string& description = "")
{
    for (const nlohmann::json& r : records)
        if (r["operation"] == op && (description.empty() || r["description"] == description))
            return r;
    FAIL("no record for operation " << op << " " << description);
    static nlohmann::json none;
    return none;
}

// Records running process `pid` for a second, stops it with SIGTERM and
// reaps `reap` (the process, or its parent); the span records.
inline std::vector<nlohmann::json> record_one_second(const TempDir& tmp, pid_t pid, pid_t reap)
{
    const RunResult res = record_for(tmp, pid, "1");
    kill(pid, SIGTERM);
    wait_for(reap, 10);
    INFO(res.err);
    REQUIRE(res.exit_code == 0);
    return read_spans(tmp.path("trace.jsonl"));
}

// Starts `span_workloads loop` and returns its PID once it runs.
inline pid_t start_loop(const TempDir& tmp, const std::string& truth)
{
    const pid_t pid = spawn({WORKLOADS_BIN, "loop", tmp.path(truth)});
    REQUIRE(wait_for_file(tmp.path(truth + ".ready"), 10));
    return pid;
}

}  // namespace lstrace::test
