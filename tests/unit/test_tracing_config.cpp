// The TracingConfig file: the standard's keys and defaults, and one clear
// message per mistake.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include "config/tracing_config.hpp"

#include <unistd.h>

using namespace lstrace;

namespace {

std::string error_of(const std::string& text)
{
    auto r = parse_tracing_config(text, "cfg.json");
    REQUIRE_FALSE(r.ok());
    return r.error().message;
}

bool contains(const std::string& s, const std::string& part)
{
    return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("the defaults are the standard's", "[config]")
{
    const TracingConfig c;
    CHECK(c.output_file.empty());
    CHECK(c.output_format == OutputFormat::jsonl);
    CHECK(c.enabled_components.empty());
    CHECK(c.disabled_components.empty());
    CHECK(c.min_duration_ms == 0.0);
    CHECK(c.max_trace_size == 10000);
    CHECK(c.flush_interval == 100);
    CHECK_FALSE(c.include_stack_trace);
    CHECK_FALSE(c.include_environment);
    CHECK_FALSE(c.include_thread_info);
    CHECK_FALSE(c.debug_mode);
    CHECK_FALSE(c.verbose_errors);
    CHECK(c.sample_interval_ms == 0.0);
    CHECK(c.environment_allowlist == default_environment_allowlist());
    // the allow-list never names the usual homes of credentials
    for (const auto& name : c.environment_allowlist) {
        CHECK_FALSE(contains(name, "KEY"));
        CHECK_FALSE(contains(name, "TOKEN"));
        CHECK_FALSE(contains(name, "*"));
    }
    // every key of the file is in to_json, and nothing else
    CHECK(to_json(c).size() == tracing_config_keys().size());
    for (const auto& key : tracing_config_keys())
        CHECK(to_json(c).contains(key));
}

TEST_CASE("a good file sets every key", "[config]")
{
    const std::string path = "/tmp/lstrace-unit-config-" + std::to_string(::getpid()) + ".json";
    {
        std::ofstream out(path);
        out << R"({
  "output_file": "run.jsonl",
  "output_format": "text",
  "enabled_components": ["agent", "llm"],
  "disabled_components": ["tool"],
  "min_duration_ms": 2.5,
  "max_trace_size": 500,
  "flush_interval": 10,
  "include_stack_trace": true,
  "include_environment": true,
  "include_thread_info": true,
  "debug_mode": true,
  "verbose_errors": true,
  "sample_interval_ms": 250,
  "environment_allowlist": ["LANG", "LC_*"]
})";
    }
    auto r = load_tracing_config(path);
    std::remove(path.c_str());
    REQUIRE(r.ok());
    const TracingConfig& c = r.value();
    CHECK(c.output_file == "run.jsonl");
    CHECK(c.output_format == OutputFormat::text);
    CHECK(c.enabled_components == std::vector<std::string>{"agent", "llm"});
    CHECK(c.disabled_components == std::vector<std::string>{"tool"});
    CHECK(c.min_duration_ms == 2.5);
    CHECK(c.max_trace_size == 500);
    CHECK(c.flush_interval == 10);
    CHECK(c.include_stack_trace);
    CHECK(c.include_environment);
    CHECK(c.include_thread_info);
    CHECK(c.debug_mode);
    CHECK(c.verbose_errors);
    CHECK(c.sample_interval_ms == 250.0);
    CHECK(c.environment_allowlist == std::vector<std::string>{"LANG", "LC_*"});
    CHECK(c.component_enabled("agent"));
    CHECK_FALSE(c.component_enabled("tool"));
    CHECK_FALSE(c.component_enabled("memory"));  // not in the enabled list
}

TEST_CASE("missing keys keep their defaults, null means the standard's None", "[config]")
{
    auto r = parse_tracing_config(R"({"min_duration_ms": 1, "output_file": null,
                                      "enabled_components": null})",
                                  "cfg.json");
    REQUIRE(r.ok());
    CHECK(r.value().min_duration_ms == 1.0);
    CHECK(r.value().output_file.empty());
    CHECK(r.value().enabled_components.empty());
    CHECK(r.value().max_trace_size == 10000);
    CHECK(r.value().component_enabled("anything"));
    CHECK(parse_tracing_config("{}", "cfg.json").ok());
}

TEST_CASE("malformed JSON names the file, line and column", "[config]")
{
    // the stray comma is on line 3, column 22
    const std::string msg = error_of("{\n  \"debug_mode\": true,\n  \"min_duration_ms\": ,\n}");
    INFO(msg);
    CHECK(contains(msg, "cfg.json:3:22: "));
    CHECK(contains(msg, "unexpected ','"));
    CHECK_FALSE(contains(msg, "json.exception"));
    // truncated: the position is the end of the text
    CHECK(contains(error_of("{\"debug_mode\": true"), "cfg.json:1:20: "));
    CHECK(contains(error_of(""), "cfg.json:1:1: "));
    CHECK(contains(error_of("{\n\n  \"a\": tru\n}"), "cfg.json:3:"));
}

TEST_CASE("each bad value is one message naming the key", "[config]")
{
    std::string msg = error_of(R"({"debug_mode": "yes"})");
    CHECK(contains(msg, "cfg.json: "));
    CHECK(contains(msg, "'debug_mode' must be true or false, not a string"));

    msg = error_of(R"({"min_duration_ms": -1})");
    CHECK(contains(msg, "'min_duration_ms' must be a number from 0 to 1e12 (ms)"));
    CHECK(contains(error_of(R"({"min_duration_ms": 2e13})"), "must be a number from 0 to 1e12"));
    CHECK(contains(error_of(R"({"min_duration_ms": 1e308})"), "must be a number from 0 to 1e12"));
    CHECK(contains(error_of(R"({"min_duration_ms": "5"})"),
                   "'min_duration_ms' must be a number >= 0, not a string"));

    msg = error_of(R"({"output_format": "xml"})");
    CHECK(contains(msg, "'output_format' must be \"jsonl\", \"json\" or \"text\""));
    CHECK(contains(msg, "\"xml\""));

    CHECK(contains(error_of(R"({"max_trace_size": 0})"),
                   "'max_trace_size' must be an integer from 1"));
    CHECK(contains(error_of(R"({"max_trace_size": -3})"),
                   "'max_trace_size' must be an integer from 1"));
    CHECK(contains(error_of(R"({"max_trace_size": 99999999999})"),
                   "'max_trace_size' must be an integer from 1"));
    CHECK(contains(error_of(R"({"max_trace_size": 1.5})"),
                   "'max_trace_size' must be an integer > 0, not a number"));
    CHECK(contains(error_of(R"({"flush_interval": true})"),
                   "'flush_interval' must be an integer > 0, not a boolean"));
    CHECK(contains(error_of(R"({"enabled_components": "agent"})"),
                   "'enabled_components' must be a list of names"));
    CHECK(contains(error_of(R"({"enabled_components": ["agent", 3]})"), "3 is not one"));
    CHECK(contains(error_of(R"({"disabled_components": [""]})"), "'disabled_components'"));
    CHECK(contains(error_of(R"({"output_file": ""})"), "'output_file' must be a file name"));
    CHECK(contains(error_of(R"({"sample_interval_ms": 1})"),
                   "'sample_interval_ms' must be 0 (off) or from 10"));
    CHECK(contains(error_of(R"({"environment_allowlist": ["*"]})"), "whole environment"));
    CHECK(contains(error_of(R"({"environment_allowlist": ["A=B"]})"),
                   "not an environment variable name"));
    CHECK(contains(error_of(R"({"environment_allowlist": ["A*B"]})"), "only allowed at the end"));
    CHECK(contains(error_of(R"([1, 2])"), "must be a JSON object"));
    CHECK(contains(error_of(R"({"debug_mode": true, "debug_mode": false})"),
                   "'debug_mode' appears more than once"));
}

TEST_CASE("an unknown key is an error with a suggestion when one is close", "[config]")
{
    std::string msg = error_of(R"({"min_duration": 5})");
    CHECK(contains(msg, "unknown key 'min_duration' (did you mean 'min_duration_ms'?)"));
    CHECK(contains(error_of(R"({"include_stack_traces": true})"),
                   "did you mean 'include_stack_trace'?"));
    CHECK(contains(error_of(R"({"Debug_Mode": true})"), "did you mean 'debug_mode'?"));
    msg = error_of(R"({"colour": "blue"})");
    CHECK(contains(msg, "unknown key 'colour'"));
    CHECK_FALSE(contains(msg, "did you mean"));
}

TEST_CASE("a missing file is an error naming it", "[config]")
{
    auto r = load_tracing_config("/nonexistent/lstrace.json");
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.error().message, "/nonexistent/lstrace.json"));
}
