#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <vector>

#include "cli.hpp"
#include "errors.hpp"

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
    CHECK(code_of({"record"}) == ExitCode::usage);                        // no target
    CHECK(code_of({"record", "--bogus", "-p", "1"}) == ExitCode::usage);  // unknown flag
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
    CHECK(code_of({"report", "a.jsonl", "-o", ""}) == ExitCode::usage);
    CHECK(code_of({"report", "a.jsonl", "--max-spans", "0"}) == ExitCode::usage);
    CHECK(code_of({"export", "--format", "perfetto-proto", "a.jsonl"}) == ExitCode::usage);
    CHECK(code_of({"top"}) == ExitCode::usage);
    CHECK(code_of({"top", "-p", "x"}) == ExitCode::usage);
    CHECK(code_of({"top", "-p", "1", "-i", "0"}) == ExitCode::usage);
    CHECK(code_of({"top", "-p", "1", "-n", "0"}) == ExitCode::usage);
    CHECK(code_of({"top", "-p", "1", "extra"}) == ExitCode::usage);
}
