// Tier 2 (root): the recorder's TracingConfig (flags and --config file)
// applied to real recordings: component filter and min_duration in BPF,
// output formats, thread info, environment, process samples, stack traces,
// debug and verbose errors, and bad configuration.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "process_helpers.hpp"

using nlohmann::json;
using namespace lstrace::test;

namespace {

RunResult record_standard(const TempDir& tmp, const std::string& mode,
                          const std::vector<std::string>& flags, const std::string& out,
                          const char* bin = STANDARD_BIN)
{
    std::vector<std::string> argv = {LSTRACE_BIN, "record", "-o", tmp.path(out)};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"--", bin, mode, tmp.path(mode + ".truth.json")});
    return run(argv, 120);
}

std::multiset<std::string> span_names(const std::vector<json>& records)
{
    std::multiset<std::string> names;
    for (const json& r : records)
        if (r["record_type"] == "span")
            names.insert(r["component"].get<std::string>() + "/" +
                         r["operation"].get<std::string>());
    return names;
}

}  // namespace

TEST_CASE("component filters and min_duration_ms are applied in BPF", "[root][config]")
{
    TempDir tmp;
    // deny-list: beta's spans are skipped in BPF; "gama" is a typo
    RunResult r =
        record_standard(tmp, "filters", {"--exclude-components", "beta,gama"}, "deny.jsonl");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto names = span_names(read_jsonl(tmp.path("deny.jsonl")));
    CHECK(names.count("beta/short") == 0);
    CHECK(names.count("beta/long") == 0);
    CHECK(names.count("alpha/short") == 3);
    CHECK(names.count("gamma/long") == 1);
    CHECK(names.size() == 10);
    CHECK(r.err.find("component 'gama' of the component filter matched no span") !=
          std::string::npos);
    CHECK(r.err.find("'beta'") == std::string::npos);

    // allow-list and min duration: only alpha, only its long span and its
    // short failure (failed spans are kept whatever their duration)
    // (25 ms: far above the short spans' microseconds even where an emulated
    // CPU is preempted by its busy host in the middle of one)
    r = record_standard(tmp, "filters", {"--components", "alpha", "--min-duration", "25"},
                        "allow.jsonl");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    names = span_names(read_jsonl(tmp.path("allow.jsonl")));
    CHECK(names == std::multiset<std::string>{"alpha/long", "alpha/short_failure"});
    CHECK(r.err.find("0 still open") != std::string::npos);
}

TEST_CASE("a --config file sets the standard's keys and flags override it", "[root][config]")
{
    TempDir tmp;
    write_text(tmp.path("cfg.json"), R"({
  "output_format": "json",
  "include_thread_info": true,
  "include_environment": true,
  "environment_allowlist": ["LANG", "LSTRACE_TEST_*"],
  "debug_mode": true,
  "sample_interval_ms": 40,
  "disabled_components": ["memory"]
})");
    ::setenv("LSTRACE_TEST_VISIBLE", "yes", 1);
    ::setenv("LSTRACE_HIDDEN", "no", 1);
    const RunResult r = record_standard(
        tmp, "resources", {"--config", tmp.path("cfg.json"), "--exclude-components", "compute"},
        "trace.json");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    // one JSON array (output_format json)
    std::ifstream in(tmp.path("trace.json"));
    const json all = json::parse(in);
    REQUIRE(all.is_array());
    std::vector<json> records(all.begin(), all.end());
    // the flag replaced the file's disabled list: memory is back, compute gone
    const auto names = span_names(records);
    CHECK(names.count("memory/scratch") == 1);
    CHECK(names.count("compute/hop") == 0);
    const json truth = read_json(tmp.path("resources.truth.json"));
    for (const json& s : of_type(records, "span")) {
        INFO(s.dump());
        CHECK(s["metadata"]["thread_name"] == "standard_worklo");  // comm, 15 bytes
        CHECK(s["metadata"]["cpu"].is_number_integer());
        CHECK(s["metadata"]["debug"]["end_monotonic_ns"].get<std::uint64_t>() >
              s["metadata"]["debug"]["begin_monotonic_ns"].get<std::uint64_t>());
    }
    const auto info = of_type(records, "process_info");
    REQUIRE(info.size() == 1);
    const json& d = info[0]["details"];
    CHECK(d["command_line"][1] == "resources");
    CHECK(d["environment"]["LSTRACE_TEST_VISIBLE"] == "yes");
    CHECK_FALSE(d["environment"].contains("LSTRACE_HIDDEN"));
    CHECK_FALSE(d["environment"].contains("PATH"));
    CHECK(d["kernel_release"].get<std::string>().size() > 0);
    // the workload runs ~0.4 s: several 40 ms samples of its process
    const auto samples = of_type(records, "process_sample");
    CHECK(samples.size() >= 3);
    for (const json& s : samples) {
        CHECK(s["metadata"]["process_id"] == std::to_string(truth["pid"].get<int>()));
        CHECK(s["tags"]["memory_usage"].get<long>() > 0);
        CHECK(s["tags"]["interval_ms"].get<double>() > 0);
    }
    ::unsetenv("LSTRACE_TEST_VISIBLE");
    ::unsetenv("LSTRACE_HIDDEN");
}

TEST_CASE("text output is one readable line per record", "[root][config]")
{
    TempDir tmp;
    const RunResult r = record_standard(tmp, "errors", {"--format", "text"}, "trace.txt");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string text = read_text(tmp.path("trace.txt"));
    INFO(text);
    CHECK(text.find(" span agent/answer ") != std::string::npos);
    CHECK(text.find(" span llm/generate ") != std::string::npos);
    CHECK(text.find("FAILED RateLimitError: 429") != std::string::npos);
    CHECK(
        text.find(" error_propagation agent: Error RateLimitError propagated from llm to agent") !=
        std::string::npos);
    CHECK(text.find('{') != 0);  // not JSON lines
}

TEST_CASE("verbose errors: each error is printed as it is recorded", "[root][config]")
{
    TempDir tmp;
    const RunResult r = record_standard(tmp, "errors", {"--verbose-errors"}, "trace.jsonl");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("lstrace-bpf: ") != std::string::npos);
    CHECK(r.err.find(" error agent: Error occurred: ConfigurationError") != std::string::npos);
    CHECK(r.err.find(" error_propagation agent:") != std::string::npos);
}

TEST_CASE("stack traces: symbolized user stacks, and a note when frame pointers are missing",
          "[root][config]")
{
    TempDir tmp;
    RunResult r = record_standard(tmp, "stack", {"--stack-traces"}, "fp.jsonl", STANDARD_FP_BIN);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto errors = of_type(read_jsonl(tmp.path("fp.jsonl")), "error");
    REQUIRE(errors.size() == 1);
    std::vector<std::string> functions;
    for (const json& f : errors[0]["stack_trace"]) {
        INFO(f.dump());
        CHECK(f["address"].get<std::string>().rfind("0x", 0) == 0);
        if (f["function"].is_string())
            functions.push_back(f["function"]);
    }
    INFO(errors[0].dump());
    const auto has = [&](const std::string& name) {
        for (const std::string& f : functions)
            if (f.find(name) != std::string::npos)
                return true;
        return false;
    };
    CHECK(has("lstrace__probe_error"));
    CHECK(has("stack_inner"));
    CHECK(has("stack_middle"));
    CHECK(has("stack_outer"));
    CHECK(has("main"));
    CHECK_FALSE(errors[0].contains("stack_note"));
    CHECK(errors[0]["stack_trace"][0]["object"].get<std::string>().find("standard_workloads_fp") !=
          std::string::npos);

    // without frame pointers the kernel's walk stops early: said so
    r = record_standard(tmp, "stack", {"--stack-traces"}, "nofp.jsonl");
    REQUIRE(r.exit_code == 0);
    errors = of_type(read_jsonl(tmp.path("nofp.jsonl")), "error");
    REQUIRE(errors.size() == 1);
    INFO(errors[0].dump());
    CHECK(errors[0]["stack_trace"][0]["function"] == "lstrace__probe_error");
    CHECK(errors[0]["stack_note"].get<std::string>().find("without frame pointers") !=
          std::string::npos);

    // and without --stack-traces no stack at all
    r = record_standard(tmp, "stack", {}, "plain.jsonl", STANDARD_FP_BIN);
    REQUIRE(r.exit_code == 0);
    errors = of_type(read_jsonl(tmp.path("plain.jsonl")), "error");
    REQUIRE(errors.size() == 1);
    CHECK_FALSE(errors[0].contains("stack_trace"));
}

TEST_CASE("a malformed or wrong config file is a clear usage error, nothing recorded",
          "[root][config]")
{
    TempDir tmp;
    write_text(tmp.path("broken.json"),
               "{\n  \"output_format\": \"json\",\n  \"debug_mode\": tru\n}\n");
    RunResult r = record_standard(tmp, "filters", {"--config", tmp.path("broken.json")}, "x.jsonl");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("broken.json:3:") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    write_text(tmp.path("typo.json"), R"({"min_duration": 5})");
    r = record_standard(tmp, "filters", {"--config", tmp.path("typo.json")}, "x.jsonl");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("did you mean 'min_duration_ms'") != std::string::npos);
    r = record_standard(tmp, "filters", {"--components", "a", "--exclude-components", "a"},
                        "x.jsonl");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("disables every enabled component") != std::string::npos);
    CHECK_FALSE(std::ifstream(tmp.path("x.jsonl")).good());
}

namespace {

// Size of the recorder's partial trace file for `name` (NAME.PID.partial,
// not yet renamed into place); -1 if there is none.
long temporary_trace_size(const TempDir& tmp, const std::string& name)
{
    const RunResult ls =
        run({"/bin/sh", "-c", "stat -c %s " + tmp.path(name) + ".*.partial 2>/dev/null"});
    return ls.out.empty() ? -1 : std::stol(ls.out);
}

}  // namespace

TEST_CASE("flush_interval hands records to the kernel every N records", "[root][config]")
{
    TempDir tmp;
    const pid_t app = spawn({WORKLOADS_BIN, "loop", tmp.path("truth.json")});
    REQUIRE(wait_for_file(tmp.path("truth.json.ready"), 10));
    const auto size_while_recording = [&](const std::string& interval, const std::string& name) {
        const pid_t r = spawn({LSTRACE_BIN, "record", "-p", std::to_string(app), "-o",
                               tmp.path(name), "-d", "4", "--flush-interval", interval});
        // attached by then, a few hundred spans recorded: well under the
        // recorder's 1 MiB output buffer
        usleep(1200 * 1000);
        const long size = temporary_trace_size(tmp, name);
        wait_for(r, 20);
        return size;
    };
    // every record flushed: the file grows while recording
    CHECK(size_while_recording("1", "each.jsonl") > 0);
    // a flush only every million records: all still in the 1 MiB buffer
    CHECK(size_while_recording("1000000", "rare.jsonl") == 0);
    kill(app, SIGTERM);
    wait_for(app, 10);
    CHECK(read_spans(tmp.path("rare.jsonl")).size() > 100);  // all there at the end
}
