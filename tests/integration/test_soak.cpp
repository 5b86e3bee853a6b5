// Tier 2 (root): a minute of spans from 8 threads while recorders attach and
// detach over and over.  The traced process must never crash, and the work
// it does inside spans must come out the same as without tracing.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "process_helpers.hpp"

using namespace lstrace::test;

TEST_CASE("soak: repeated attach and detach never disturbs a busy process", "[root][soak]")
{
    const char* env = std::getenv("SOAK_SECONDS");
    const int seconds = env ? std::atoi(env) : 60;
    TempDir tmp;
    const pid_t app = spawn({WORKLOADS_BIN, "soak", tmp.path("truth.json")});
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    int recordings = 0, failed_recordings = 0, round = 0;
    while (std::chrono::steady_clock::now() + std::chrono::milliseconds(1500) < until) {
        const std::string duration = round++ % 2 ? "0.3" : "1";
        // alternately stopped by its duration and by SIGKILL mid-recording
        if (round % 3 == 0) {
            const pid_t r = spawn({LSTRACE_BIN, "record", "-p", std::to_string(app), "--force",
                                   "-o", tmp.path("trace.jsonl")});
            usleep(400 * 1000);
            kill(r, SIGKILL);
            wait_for(r, 10);
        } else {
            const RunResult r = run({LSTRACE_BIN, "record", "-p", std::to_string(app), "--force",
                                     "-d", duration, "-o", tmp.path("trace.jsonl")});
            failed_recordings += r.exit_code != 0;
            if (r.exit_code != 0)
                WARN(r.err);
        }
        ++recordings;
        REQUIRE(kill(app, 0) == 0);  // still alive
    }
    const int status = wait_for(app, seconds + 30);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    const auto truth = read_json(tmp.path("truth.json"));
    INFO(recordings << " recordings, " << truth["spans"] << " spans");
    CHECK(truth["results_unchanged"] == true);
    CHECK(failed_recordings == 0);
    // each round loads, attaches, records 0.3-1 s and detaches (removing 13
    // uprobes takes ~1 s of RCU grace periods): at least one per 5 s shows
    // no round hung
    CHECK(recordings >= seconds / 5);
}

TEST_CASE("soak: --follow recorders come and go while a program forks and execs children",
          "[root][soak]")
{
    const char* env = std::getenv("SOAK_SECONDS");
    const int seconds = env ? std::atoi(env) : 60;
    TempDir tmp;
    // children that exec an instrumented program, four at a time, for the
    // whole soak; the parent counts every stop its waitpid(WUNTRACED) sees
    const pid_t app = spawn({WORKLOADS_BIN, "spawn", tmp.path("truth.json"), C_SPANS_BIN, "0"});
    REQUIRE(wait_for_file(tmp.path("truth.json.child.json"), 10));
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    int recordings = 0, failed_recordings = 0, killed = 0, stopped_seen = 0, round = 0;
    while (std::chrono::steady_clock::now() + std::chrono::milliseconds(1500) < until) {
        if (++round % 3 == 0) {
            const pid_t r = spawn({LSTRACE_BIN, "record", "--follow", "-p", std::to_string(app),
                                   "--force", "-o", tmp.path("trace.jsonl")});
            usleep(static_cast<useconds_t>((300 + 37 * (round % 11)) * 1000));
            kill(r, SIGKILL);
            wait_for(r, 10);
            ++killed;
        } else {
            const RunResult r =
                run({LSTRACE_BIN, "record", "--follow", "-p", std::to_string(app), "--force", "-d",
                     round % 2 ? "0.3" : "1", "-o", tmp.path("trace.jsonl")});
            failed_recordings += r.exit_code != 0;
            if (r.exit_code != 0)
                WARN(r.err);
            else if (read_spans(tmp.path("trace.jsonl")).empty())
                WARN("a --follow recording of the spawner recorded nothing");
        }
        ++recordings;
        usleep(100 * 1000);
        // a hold that outlived its recorder would show as a stopped process
        stopped_seen += !stopped_in_tree(app).empty();
        REQUIRE(kill(app, 0) == 0);
    }
    const int status = wait_for(app, 60);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    const auto truth = read_json(tmp.path("truth.json"));
    INFO(recordings << " recordings (" << killed << " SIGKILLed), " << truth["started"]
                    << " children");
    CHECK(stopped_seen == 0);
    CHECK(truth["stops_seen"] == 0);
    CHECK(truth["children_ok"] == truth["started"]);  // every child ran to a clean exit
    CHECK(failed_recordings == 0);
    // a round detaches the probes of two files (the spawner's and its
    // children's), about twice the plain soak's time: one per 8 s shows no
    // round hung
    CHECK(recordings >= seconds / 8);
}
