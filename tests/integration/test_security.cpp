// What the recorder protects: the trace file's mode and owner, the
// capabilities it keeps, secret redaction.

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

TEST_CASE("once attached, the recorder holds no capability but CAP_DAC_OVERRIDE", "[root][record]")
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

TEST_CASE("secrets are redacted by default, in tags and in strings", "[root][record]")
{
    TempDir tmp;
    RunResult res =
        run({LSTRACE_BIN, "record", "--redact-keys", "customer_id", "-o", tmp.path("trace.jsonl"),
             "--", WORKLOADS_BIN, "secrets", tmp.path("truth.json")});
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
