#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "base/errors.hpp"
#include "config/cli.hpp"

using namespace lstrace;

namespace {

CommandLine parse(std::initializer_list<const char*> args)
{
    std::vector<std::string> storage{"lstrace-bpf"};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : storage)
        argv.push_back(s.data());
    argv.push_back(nullptr);
    return parse_command_line(static_cast<int>(storage.size()), argv.data());
}

ExitCode code_of(std::initializer_list<const char*> args)
{
    try {
        parse(args);
    } catch (const FatalError& e) {
        return e.code();
    }
    return ExitCode::ok;
}

}  // namespace

TEST_CASE("record with -p parses a PID list", "[cli]")
{
    auto cl = parse({"record", "-p", "12,34", "-p", "56", "-o", "out.jsonl", "--duration", "2.5"});
    REQUIRE(cl.subcommand == Subcommand::record);
    CHECK(cl.record.pids == std::vector<int>{12, 34, 56});
    CHECK(parse({"record", "-p", "7,3,7", "-p", "3"}).record.pids == std::vector<int>{3, 7});
    CHECK(cl.record.output == "out.jsonl");
    REQUIRE(cl.record.duration_s);
    CHECK(*cl.record.duration_s == 2.5);
    CHECK(cl.record.command.empty());
}

TEST_CASE("record takes the command after -- or after the options", "[cli]")
{
    auto cl = parse({"record", "-o", "t.jsonl", "--", "./app", "-v", "--flag"});
    CHECK(cl.record.command == std::vector<std::string>{"./app", "-v", "--flag"});
    CHECK_FALSE(cl.verbose);  // -v after the command belongs to the command

    auto cl2 = parse({"record", "-v", "./app", "x"});
    CHECK(cl2.record.command == std::vector<std::string>{"./app", "x"});
    CHECK(cl2.verbose);
    CHECK(cl2.record.output == "trace.jsonl");
    CHECK(cl2.record.buffer_mib == 16);
    CHECK_FALSE(cl2.record.force);
    CHECK(cl2.record.btf_path.empty());

    auto cl3 = parse({"record", "-f", "--btf", "/tmp/vmlinux", "-p", "1"});
    CHECK(cl3.record.force);
    CHECK(cl3.record.btf_path == "/tmp/vmlinux");
}

TEST_CASE("bad command lines are usage errors with exit code 2", "[cli]")
{
    CHECK(code_of({}) == ExitCode::usage);
    CHECK(code_of({"frobnicate"}) == ExitCode::usage);
    CHECK(code_of({"record"}) == ExitCode::usage);                            // no target
    CHECK(code_of({"record", "--bogus", "-p", "1"}) == ExitCode::usage);      // unknown flag
    CHECK(code_of({"record", "-p", "1", "--", "./app"}) == ExitCode::usage);  // both
    CHECK(code_of({"record", "-p", "12x"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "0"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "-5"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1,"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", ""}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "99999999999999999999"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--duration", "0"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--duration", "abc"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--duration", "nan"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--duration", "1e30"}) == ExitCode::usage);
    // ms that would wrap around as 64-bit nanoseconds (and turn the filter off)
    for (const char* ms : {"2e13", "1e308", "18446744073709.6"})
        CHECK(code_of({"record", "-p", "1", "--min-duration", ms}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--sample-interval", "1e308"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--config", "/nonexistent/tracing.json"}) ==
          ExitCode::no_target);
    CHECK(code_of({"record", "-p", "1", "--config", "/dev/zero"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--buffer-size", "3"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--buffer-size", "2048"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "-o", ""}) == ExitCode::usage);
    CHECK(code_of({"record", "-p"}) == ExitCode::usage);  // missing value
    CHECK(code_of({"record", "-p", "1", "--btf", ""}) == ExitCode::usage);
    CHECK(code_of({"list"}) == ExitCode::usage);
    CHECK(code_of({"list", "a", "b"}) == ExitCode::usage);
    CHECK(code_of({"list", "a", "-p", "1"}) == ExitCode::usage);
    CHECK(code_of({"summary"}) == ExitCode::usage);
    CHECK(code_of({"summary", "a", "b"}) == ExitCode::usage);
    CHECK(code_of({"summary", "--x"}) == ExitCode::usage);
}

TEST_CASE("summary takes one trace file", "[cli]")
{
    auto cl = parse({"summary", "trace.jsonl"});
    CHECK(cl.subcommand == Subcommand::summary);
    CHECK(cl.summary_path == "trace.jsonl");
}

TEST_CASE("usage errors carry a one-line message naming the problem", "[cli]")
{
    try {
        parse({"record", "--bogus", "-p", "1"});
        FAIL("no error");
    } catch (const FatalError& e) {
        const std::string msg = e.what();
        CHECK(msg.find("--bogus") != std::string::npos);
        CHECK(msg.find('\n') == std::string::npos);
    }
}

TEST_CASE("help and version", "[cli]")
{
    CHECK(parse({"--help"}).subcommand == Subcommand::help);
    CHECK(parse({"record", "--help"}).subcommand == Subcommand::help);
    CHECK(parse({"--version"}).subcommand == Subcommand::version);
    const std::string help = help_text();
    CHECK(help.find("EXAMPLES") != std::string::npos);
    CHECK(help.find("EXIT CODES") != std::string::npos);
}

TEST_CASE("whole-string number parsing", "[cli]")
{
    CHECK(parse_integer("42") == 42);
    CHECK_FALSE(parse_integer("42 "));
    CHECK_FALSE(parse_integer(" 42"));
    CHECK_FALSE(parse_integer("4x2"));
    CHECK_FALSE(parse_integer(""));
    CHECK(parse_number("0.5") == 0.5);
    CHECK_FALSE(parse_number("0.5s"));
}

TEST_CASE("list takes a path or one PID", "[cli]")
{
    auto cl = parse({"list", "/bin/true"});
    CHECK(cl.subcommand == Subcommand::list);
    CHECK(cl.list.path == "/bin/true");
    auto cl2 = parse({"list", "-p", "7"});
    CHECK(cl2.list.pid == 7);
}

TEST_CASE("analyze, report, export and top parse their options", "[cli]")
{
    auto a = parse({"analyze", "t.jsonl", "--json", "--component", "agent"});
    REQUIRE(a.subcommand == Subcommand::analyze);
    CHECK(a.analyze.path == "t.jsonl");
    CHECK(a.analyze.json);
    REQUIRE(a.analyze.component);
    CHECK(*a.analyze.component == "agent");
    CHECK_FALSE(parse({"analyze", "t.jsonl"}).analyze.json);
    CHECK(*parse({"analyze", "--top", "20", "t.jsonl"}).analyze.top == 20);
    CHECK_FALSE(parse({"analyze", "t.jsonl"}).analyze.top);

    auto r = parse({"report", "t.jsonl", "-o", "out.html", "--max-spans", "100"});
    REQUIRE(r.subcommand == Subcommand::report);
    CHECK(r.report.output == "out.html");
    CHECK(r.report.max_spans == 100);
    CHECK(parse({"report", "t.jsonl"}).report.output == "report.html");

    auto e = parse({"export", "--format", "chrome", "t.jsonl"});
    REQUIRE(e.subcommand == Subcommand::export_trace);
    CHECK(e.export_trace.format == "chrome");
    CHECK(e.export_trace.output == "-");

    auto t = parse({"top", "-p", "42", "-i", "0.5", "-n", "3"});
    REQUIRE(t.subcommand == Subcommand::top);
    CHECK(t.top.pids == std::vector<int>{42});
    CHECK(t.top.interval_s == 0.5);
    REQUIRE(t.top.iterations);
    CHECK(*t.top.iterations == 3);
    CHECK(*parse({"top", "-p", "42", "--once"}).top.iterations == 1);
    CHECK_FALSE(parse({"top", "-p", "42"}).top.iterations);
    CHECK(parse({"analyze", "--help"}).subcommand == Subcommand::help);
}

TEST_CASE("analysis commands reject bad command lines", "[cli]")
{
    CHECK(code_of({"analyze"}) == ExitCode::usage);
    CHECK(code_of({"analyze", "a.jsonl", "b.jsonl"}) == ExitCode::usage);
    CHECK(code_of({"analyze", "--component", "", "a.jsonl"}) == ExitCode::usage);
    CHECK(code_of({"analyze", "--frobnicate", "a.jsonl"}) == ExitCode::usage);
    CHECK(code_of({"analyze", "--top", "0", "a.jsonl"}) == ExitCode::usage);
    CHECK(code_of({"report", "a.jsonl", "-o", ""}) == ExitCode::usage);
    CHECK(code_of({"report", "a.jsonl", "--max-spans", "0"}) == ExitCode::usage);
    CHECK(code_of({"export", "--format", "perfetto-proto", "a.jsonl"}) == ExitCode::usage);
    CHECK(code_of({"top"}) == ExitCode::usage);
    CHECK(code_of({"top", "-p", "x"}) == ExitCode::usage);
    CHECK(code_of({"top", "-p", "1", "-i", "0"}) == ExitCode::usage);
    CHECK(code_of({"top", "-p", "1", "-n", "0"}) == ExitCode::usage);
    CHECK(code_of({"top", "-p", "1", "extra"}) == ExitCode::usage);
}

namespace {

// A config file for one test, removed at scope exit.
struct TempConfig {
    std::string path;
    explicit TempConfig(const std::string& text)
        : path("/tmp/lstrace-unit-cli-" + std::to_string(::getpid()) + ".json")
    {
        std::ofstream(path) << text;
    }
    ~TempConfig() { std::remove(path.c_str()); }
};

std::string message_of(std::initializer_list<const char*> args)
{
    try {
        parse(args);
    } catch (const FatalError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("record without config flags has the standard's defaults", "[cli][config]")
{
    auto cl = parse({"record", "-p", "1"});
    CHECK(cl.record.config_path.empty());
    CHECK(cl.record.config.output_format == OutputFormat::jsonl);
    CHECK(cl.record.config.max_trace_size == 10000);
    CHECK(cl.record.config.output_file == "trace.jsonl");  // mirrors the effective -o
}

TEST_CASE("every TracingConfig flag sets its key", "[cli][config]")
{
    auto cl = parse({"record",
                     "-p",
                     "1",
                     "--format",
                     "json",
                     "--components",
                     "agent,llm",
                     "--exclude-components",
                     "tool",
                     "--min-duration",
                     "2.5",
                     "--max-trace-size",
                     "50",
                     "--flush-interval",
                     "5",
                     "--stack-traces",
                     "--environment",
                     "--thread-info",
                     "--debug",
                     "--verbose-errors",
                     "--sample-interval",
                     "100",
                     "--env-allow",
                     "LANG,LC_*"});
    const TracingConfig& c = cl.record.config;
    CHECK(c.output_format == OutputFormat::json);
    CHECK(c.enabled_components == std::vector<std::string>{"agent", "llm"});
    CHECK(c.disabled_components == std::vector<std::string>{"tool"});
    CHECK(c.min_duration_ms == 2.5);
    CHECK(c.max_trace_size == 50);
    CHECK(c.flush_interval == 5);
    CHECK(c.include_stack_trace);
    CHECK(c.include_environment);
    CHECK(c.include_thread_info);
    CHECK(c.debug_mode);
    CHECK(c.verbose_errors);
    CHECK(c.sample_interval_ms == 100.0);
    CHECK(c.environment_allowlist == std::vector<std::string>{"LANG", "LC_*"});
    CHECK_FALSE(cl.verbose);  // --debug is the standard's debug_mode, not -v
}

TEST_CASE("precedence: defaults < config file < flags, wherever --config is", "[cli][config]")
{
    TempConfig file(R"({"output_file": "from-file.jsonl", "min_duration_ms": 7, "flush_interval": 3,
                        "include_thread_info": true, "enabled_components": ["agent"]})");
    // flags before --config still win
    auto cl = parse({"record", "--min-duration", "1", "--config", file.path.c_str(), "-p", "1",
                     "--components", "llm"});
    const TracingConfig& c = cl.record.config;
    CHECK(cl.record.config_path == file.path);
    CHECK(c.min_duration_ms == 1.0);                                 // flag
    CHECK(c.enabled_components == std::vector<std::string>{"llm"});  // flag
    CHECK(c.flush_interval == 3);                                    // file
    CHECK(c.include_thread_info);                                    // file
    CHECK(c.max_trace_size == 10000);                                // default
    CHECK(cl.record.output == "from-file.jsonl");                    // file's output_file
    CHECK(c.output_file == "from-file.jsonl");

    auto cl2 = parse({"record", "--config", file.path.c_str(), "-o", "flag.jsonl", "-p", "1"});
    CHECK(cl2.record.output == "flag.jsonl");  // -o wins
    CHECK(cl2.record.config.output_file == "flag.jsonl");
}

TEST_CASE("bad TracingConfig flags and files are usage errors naming the problem", "[cli][config]")
{
    CHECK(code_of({"record", "-p", "1", "--format", "xml"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--min-duration", "-1"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--min-duration", "5ms"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--max-trace-size", "0"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--max-trace-size", "1.5"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--flush-interval", "-2"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--components", ","}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--sample-interval", "1"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--env-allow", "*"}) == ExitCode::usage);
    CHECK(code_of({"record", "-p", "1", "--config", ""}) == ExitCode::usage);
    CHECK(message_of({"record", "-p", "1", "--debug=1"}).find("'--debug=1' takes no value") !=
          std::string::npos);
    CHECK(code_of({"record", "-p", "1", "--config", "/nonexistent/x.json"}) ==
          ExitCode::no_target);  // a missing file, like a missing trace

    std::string msg = message_of({"record", "-p", "1", "--min-duration", "-1"});
    CHECK(msg.find("--min-duration '-1'") != std::string::npos);
    CHECK(msg.find("min_duration_ms") != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
    msg = message_of({"record", "-p", "1", "--format", "xml"});
    CHECK(msg.find("--format 'xml'") != std::string::npos);

    TempConfig bad("{\n  \"flush_interval\": 10,\n  \"debug\": true\n}");
    msg = message_of({"record", "--config", bad.path.c_str(), "-p", "1"});
    CHECK(msg.find(bad.path) != std::string::npos);
    CHECK(msg.find("unknown key 'debug' (did you mean 'debug_mode'?)") != std::string::npos);

    TempConfig broken("{\n  \"flush_interval\": 10\n  \"debug_mode\": true\n}");
    msg = message_of({"record", "--config", broken.path.c_str(), "-p", "1"});
    // nlohmann stops after the string that should have been a ',' or '}'
    CHECK(msg.find(broken.path + ":3:14: ") != std::string::npos);
    CHECK(code_of({"record", "--config", broken.path.c_str(), "-p", "1"}) == ExitCode::usage);
}

TEST_CASE("help lists the TracingConfig flags", "[cli][config]")
{
    const std::string help = help_text();
    for (const char* flag :
         {"--config", "--format", "--components", "--exclude-components", "--min-duration",
          "--max-trace-size", "--flush-interval", "--stack-traces", "--environment",
          "--thread-info", "--debug", "--verbose-errors", "--sample-interval", "--env-allow"})
        CHECK(help.find(flag) != std::string::npos);
}

TEST_CASE("compare, trend and report --baseline parse their options", "[cli]")
{
    auto c = parse({"compare", "--json", "--fail-on", "20", "--confidence", "0.99", "--min-effect",
                    "10", "--min-spans", "8", "--only", "llm,agent", "base.jsonl", "new.jsonl"});
    REQUIRE(c.subcommand == Subcommand::compare);
    CHECK(c.compare.base == "base.jsonl");
    CHECK(c.compare.current == "new.jsonl");
    CHECK(c.compare.json);
    REQUIRE(c.compare.fail_on_pct);
    CHECK(*c.compare.fail_on_pct == 20);
    CHECK(c.compare.settings.confidence == 0.99);
    CHECK(c.compare.settings.min_effect == Approx(0.10));
    CHECK(c.compare.settings.min_spans == 8);
    CHECK(c.compare.only == std::vector<std::string>{"llm", "agent"});
    auto d = parse({"compare", "a.jsonl", "b.jsonl"});
    CHECK_FALSE(d.compare.fail_on_pct);
    CHECK(d.compare.settings.confidence == 0.95);
    CHECK(d.compare.settings.min_effect == 0.05);
    CHECK(d.compare.settings.min_spans == 5);

    auto t = parse({"trend", "--json", "a.jsonl", "b.jsonl", "c.jsonl"});
    REQUIRE(t.subcommand == Subcommand::trend);
    CHECK(t.trend.paths == std::vector<std::string>{"a.jsonl", "b.jsonl", "c.jsonl"});
    CHECK(t.trend.json);
    CHECK(parse({"trend", "recordings/"}).trend.paths == std::vector<std::string>{"recordings/"});

    auto r = parse({"report", "--baseline", "b1.jsonl", "--baseline", "b2.jsonl", "t.jsonl"});
    CHECK(r.report.baselines == std::vector<std::string>{"b1.jsonl", "b2.jsonl"});
    CHECK(r.report.path == "t.jsonl");
    CHECK(parse({"compare", "--help"}).subcommand == Subcommand::help);
}

TEST_CASE("compare and trend reject bad command lines", "[cli]")
{
    CHECK(code_of({"compare"}) == ExitCode::usage);
    CHECK(code_of({"compare", "a.jsonl"}) == ExitCode::usage);
    CHECK(code_of({"compare", "a", "b", "c"}) == ExitCode::usage);
    CHECK(code_of({"compare", "--fail-on", "-1", "a", "b"}) == ExitCode::usage);
    CHECK(code_of({"compare", "--fail-on", "x", "a", "b"}) == ExitCode::usage);
    CHECK(code_of({"compare", "--confidence", "95", "a", "b"}) == ExitCode::usage);
    CHECK(code_of({"compare", "--confidence", "0.5", "a", "b"}) == ExitCode::usage);
    CHECK(code_of({"compare", "--min-effect", "-5", "a", "b"}) == ExitCode::usage);
    CHECK(code_of({"compare", "--min-spans", "0", "a", "b"}) == ExitCode::usage);
    CHECK(code_of({"compare", "--only", ",", "a", "b"}) == ExitCode::usage);
    CHECK(code_of({"trend"}) == ExitCode::usage);
    CHECK(code_of({"trend", "--fail-on", "5", "a", "b"}) == ExitCode::usage);
    CHECK(code_of({"report", "--baseline", "", "t.jsonl"}) == ExitCode::usage);
}

TEST_CASE("record --otlp takes an optional URL, and no local file without -o", "[cli][otlp]")
{
    CommandLine cl = parse({"record", "--otlp", "--", "/bin/true"});
    CHECK(cl.record.otlp.enabled);
    CHECK(cl.record.otlp.endpoint.empty());
    CHECK(cl.record.output.empty());
    CHECK(cl.record.command == std::vector<std::string>{"/bin/true"});

    cl = parse({"record", "--otlp", "http://collector:4318", "/bin/true"});
    CHECK(cl.record.otlp.endpoint == "http://collector:4318");
    CHECK(cl.record.command == std::vector<std::string>{"/bin/true"});

    cl = parse({"record", "--otlp=https://x/v1/traces", "-o", "t.jsonl", "--otlp-protocol",
                "http/json", "-p", "1"});
    CHECK(cl.record.otlp.endpoint == "https://x/v1/traces");
    CHECK(cl.record.otlp.protocol == "http/json");
    CHECK(cl.record.output == "t.jsonl");

    CHECK(code_of({"record", "--otlp-protocol", "http/json", "-p", "1"}) == ExitCode::usage);
    CHECK(code_of({"record", "--otlp", "--otlp-protocol", "grpc", "-p", "1"}) == ExitCode::usage);
    CHECK(code_of({"record", "--otlp=", "-p", "1"}) == ExitCode::usage);
}

TEST_CASE("export --format otlp: --endpoint or -o, not both", "[cli][otlp]")
{
    CommandLine cl =
        parse({"export", "--format", "otlp", "--endpoint", "http://h:4318", "t.jsonl"});
    CHECK(cl.subcommand == Subcommand::export_trace);
    CHECK(cl.export_trace.otlp.enabled);
    CHECK(cl.export_trace.otlp.endpoint == "http://h:4318");
    CHECK_FALSE(cl.export_trace.output_given);
    cl = parse({"export", "--format", "otlp", "-o", "out.jsonl", "t.jsonl"});
    CHECK(cl.export_trace.output == "out.jsonl");
    CHECK(code_of({"export", "--format", "otlp", "--endpoint", "http://h", "-o", "x", "t.jsonl"}) ==
          ExitCode::usage);
    CHECK(code_of({"export", "--endpoint", "http://h", "t.jsonl"}) == ExitCode::usage);  // chrome
    CHECK(code_of({"export", "--format", "otlp", "-o", "x", "--otlp-protocol", "http/protobuf",
                   "t.jsonl"}) == ExitCode::usage);
    CHECK(code_of({"export", "--format", "zipkin", "t.jsonl"}) == ExitCode::usage);
}
