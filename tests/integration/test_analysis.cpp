// Tier 2: the analysis commands on a really recorded demo trace and on the
// synthetic deep trace; the report page in a real headless browser
// (Debian's chromium); `top` against a live process; bad input files.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <string>

#include "checks.hpp"
#include "common/synthetic_trace.hpp"
#include "process_helpers.hpp"

using nlohmann::json;
using namespace lstrace::test;

namespace {

constexpr int kBadInput = 8;

// The bundled demo, recorded once (as tools/demo.sh does) for these tests.
const std::string& demo_trace()
{
    static TempDir tmp;
    static const std::string path = [] {
        const std::string p = tmp.path("demo-trace.jsonl");
        RunResult r = run({LSTRACE_BIN, "record", "-o", p, "--", DEMO_BIN}, 120);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        return p;
    }();
    return path;
}

struct BrowserResult {
    RunResult run;
    std::string dom;
    std::vector<std::string> console;  // console messages the page logged
};

// Loads the page in headless chromium; --dump-dom prints the DOM after the
// page's script ran, --enable-logging=stderr shows console messages as
// "CONSOLE(line)" lines.
BrowserResult open_in_browser(const std::string& page, const std::string& screenshot = "")
{
    std::vector<std::string> argv = {CHROMIUM_BIN,
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--hide-scrollbars",
                                     "--window-size=1400,1100",
                                     "--virtual-time-budget=5000",
                                     "--enable-logging=stderr",
                                     "--v=0"};
    argv.push_back(screenshot.empty() ? "--dump-dom" : "--screenshot=" + screenshot);
    argv.push_back("file://" + page);
    BrowserResult b;
    b.run = run(argv, 90);
    b.dom = b.run.out;
    std::size_t at = 0;
    while ((at = b.run.err.find("CONSOLE", at)) != std::string::npos) {
        const std::size_t end = b.run.err.find('\n', at);
        b.console.push_back(b.run.err.substr(at, end - at));
        at = end;
    }
    return b;
}

std::string attribute(const std::string& dom, const std::string& name)
{
    std::smatch m;
    if (std::regex_search(dom, m, std::regex(name + "=\"([^\"]*)\"")))
        return m[1];
    return "";
}

void check_bad_input(const RunResult& r, const std::string& needle)
{
    CHECK(r.exit_code == kBadInput);
    check_one_line_error(r, needle);
}

}  // namespace

TEST_CASE("analyze a recorded demo trace", "[root][analysis]")
{
    const std::vector<json> records = read_spans(demo_trace());
    RunResult text = run({LSTRACE_BIN, "analyze", demo_trace()});
    INFO(text.err);
    REQUIRE(text.exit_code == 0);
    CHECK(text.out.find("BOTTLENECKS") != std::string::npos);
    CHECK(text.out.find("llm.generate") != std::string::npos);
    CHECK(text.out.find("CRITICAL PATHS") != std::string::npos);
    // the rate-limited model call: the llm span failed, the agent recorded the
    // error event (traces before event records: only the failed span)
    CHECK(std::regex_search(text.out,
                            std::regex("RateLimitError +(agent|llm) +<n> Too Many Requests")));
    CHECK(std::regex_search(text.out, std::regex("recovery retry\\w* +tried 1, succeeded 1")));
    CHECK(text.out.find("llm.generate -> agent.step  RateLimitError") != std::string::npos);
    CHECK(text.out.find("peak RSS") != std::string::npos);

    RunResult js = run({LSTRACE_BIN, "analyze", "--json", demo_trace()});
    REQUIRE(js.exit_code == 0);
    const json j = json::parse(js.out);
    std::uint64_t counted = 0;
    double run_workflow_ms = 0;
    for (const json& row : j["bottlenecks"]) {
        counted += row["count"].get<std::uint64_t>();
        if (row["operation"] == "run_workflow")
            run_workflow_ms = row["total_ms"];
    }
    CHECK(counted == records.size());
    // the workflow's critical path accounts for all of its time
    double on_path = 0;
    for (const json& s : j["critical_paths"][0]["path"])
        on_path += s["ms"].get<double>();
    CHECK(j["critical_paths"][0]["root"] == "orchestrator.run_workflow");
    CHECK(on_path == Approx(run_workflow_ms).margin(0.01));
    CHECK(j["errors"]["groups"][0]["error_type"] == "RateLimitError");

    RunResult agent = run({LSTRACE_BIN, "analyze", "--component", "agent", demo_trace()});
    REQUIRE(agent.exit_code == 0);
    CHECK(agent.out.find("STATE CHANGES (27)") != std::string::npos);  // 3 agents x 9 transitions
    CHECK(agent.out.find("idle -> thinking") != std::string::npos);
}

TEST_CASE("report of a recorded demo trace renders in chromium", "[root][analysis][report]")
{
    const std::vector<json> records = read_spans(demo_trace());
    std::size_t events = 0;  // event records drawn as markers: those with a thread
    for (const json& r : read_jsonl(demo_trace()))
        events += r.value("record_type", "span") != "span" && r.contains("metadata") &&
                  r["metadata"].is_object() && r["metadata"].contains("thread_id");
    TempDir tmp;
    const std::string page = tmp.path("report.html");
    RunResult r = run({LSTRACE_BIN, "report", demo_trace(), "-o", page});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string html = read_text(page);
    CHECK(html.find("http://") == std::string::npos);  // self-contained
    CHECK(html.find("https://") == std::string::npos);

    const BrowserResult b = open_in_browser(page);
    INFO("chromium stderr: " << b.run.err.substr(0, 4000));
    REQUIRE(b.run.exit_code == 0);
    CHECK(attribute(b.dom, "data-status") == "rendered");
    CHECK(attribute(b.dom, "data-rendered-spans") == std::to_string(records.size()));
    CHECK(b.console.empty());
    // every span is a bar with its id; the failed one is marked
    for (const json& rec : records)
        CHECK(b.dom.find("data-span-id=\"" + rec["span_id"].get<std::string>() + "\"") !=
              std::string::npos);
    CHECK(b.dom.find("class=\"span failed") != std::string::npos);
    const std::regex marker("<div class=\"event( other)?\" data-event=");
    const auto markers = std::distance(std::sregex_iterator(b.dom.begin(), b.dom.end(), marker),
                                       std::sregex_iterator());
    CHECK(std::size_t(markers) == events);
    CHECK(b.dom.find("rendered " + std::to_string(records.size()) + " spans") != std::string::npos);

    // #failed opens the failed span's record: its bars and its JSON
    const BrowserResult opened = open_in_browser(page + "#failed");
    CHECK(opened.dom.find("RateLimitError") != std::string::npos);
    CHECK(opened.dom.find("class=\"bar offcpu\"") != std::string::npos);
    CHECK(opened.console.empty());

    const std::string shot = tmp.path("shot.png");
    open_in_browser(page + "#failed", shot);
    CHECK(std::filesystem::exists(shot));
    CHECK(std::filesystem::file_size(shot) > 10000);
}

TEST_CASE("the browser check sees a broken report page", "[analysis][report]")
{
    // The check above must be able to fail: a page whose data is not JSON
    // throws, and the test reads that from the DOM and the console.
    TempDir tmp;
    const std::string good = tmp.path("good.html"), bad = tmp.path("bad.html");
    write_text(tmp.path("t.jsonl"), synthetic_deep_trace(1, 3, 1));
    REQUIRE(run({LSTRACE_BIN, "report", tmp.path("t.jsonl"), "-o", good}).exit_code == 0);
    std::string html = read_text(good);
    const std::size_t at = html.find("<script id=\"trace-data\" type=\"application/json\">");
    REQUIRE(at != std::string::npos);
    html.insert(at + 49, "{not json");
    write_text(bad, html);
    const BrowserResult b = open_in_browser(bad);
    CHECK(attribute(b.dom, "data-status").rfind("error", 0) == 0);
    CHECK_FALSE(b.console.empty());
}

TEST_CASE("a report of hostile strings in every field renders them as text", "[analysis][report]")
{
    // "<!--" in the embedded JSON once put the page's own script into HTML's
    // escaped script state, blanking the whole report
    const std::vector<std::string> hostile = {
        "<!--<script>", "</script><script>document.title='owned'</script>",
        "<!--",         "-->",
        "<script>",     "]]><img src=x onerror=\"document.title='owned'\">",
        "a&b\"c'd\\e",  "</SCRIPT >",
        "<!-- --!>"};
    TempDir tmp;
    std::string trace;
    int n = 0;
    for (const std::string& h : hostile) {
        json rec = json::parse(synthetic_deep_trace(1, 1, 1));
        rec["span_id"] = "00000000000000" + std::to_string(10 + n++);
        rec["component"] = h;
        rec["operation"] = h;
        rec["description"] = h;
        rec["tags"]["error_type"] = h;
        rec["tags"]["error_message"] = h;
        rec["tags"][h] = h;
        rec["metadata"]["thread_id"] = h;
        trace += rec.dump() + "\n";
    }
    write_text(tmp.path("hostile.jsonl"), trace);
    const std::string page = tmp.path("hostile.html");
    RunResult r = run({LSTRACE_BIN, "report", tmp.path("hostile.jsonl"), "-o", page});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string html = read_text(page);
    CHECK(html.find("<!--<script>") == std::string::npos);
    CHECK(html.find("<img") == std::string::npos);
    const BrowserResult b = open_in_browser(page);
    INFO("chromium stderr: " << b.run.err.substr(0, 4000));
    REQUIRE(b.run.exit_code == 0);
    CHECK(attribute(b.dom, "data-status") == "rendered");
    CHECK(attribute(b.dom, "data-rendered-spans") == std::to_string(hostile.size()));
    CHECK(b.console.empty());
    CHECK(b.dom.find("<title>owned") == std::string::npos);
    CHECK(b.dom.find("<img src=\"x\"") == std::string::npos);
    CHECK(b.dom.find("&lt;!--&lt;script&gt;") != std::string::npos);  // shown, as text
}

TEST_CASE("report, export and analyze of a synthetic deep trace with errors", "[analysis][report]")
{
    TempDir tmp;
    const std::string trace = tmp.path("deep.jsonl");
    const int traces = 3, depth = 60, failing = 4;
    write_text(trace, synthetic_deep_trace(traces, depth, failing));

    RunResult a = run({LSTRACE_BIN, "analyze", "--json", trace});
    REQUIRE(a.exit_code == 0);
    const json j = json::parse(a.out);
    CHECK(j["errors"]["total"] == traces * failing);
    CHECK(j["critical_paths"][0]["path"].size() == std::size_t(depth));

    const std::string page = tmp.path("deep.html");
    REQUIRE(run({LSTRACE_BIN, "report", trace, "-o", page}).exit_code == 0);
    const BrowserResult b = open_in_browser(page);
    INFO("chromium stderr: " << b.run.err.substr(0, 4000));
    CHECK(attribute(b.dom, "data-status") == "rendered");
    CHECK(attribute(b.dom, "data-rendered-spans") == std::to_string(traces * depth));
    CHECK(b.console.empty());

    const std::string chrome = tmp.path("deep.chrome.json");
    RunResult e = run({LSTRACE_BIN, "export", "--format", "chrome", "-o", chrome, trace});
    REQUIRE(e.exit_code == 0);
    const json c = read_json(chrome);
    int complete = 0, failed = 0;
    for (const json& ev : c["traceEvents"]) {
        complete += ev["ph"] == "X";
        failed += ev.contains("cname");
    }
    CHECK(complete == traces * depth);
    CHECK(failed == traces * failing);
}

TEST_CASE("top shows the busiest operations of a live process", "[root][analysis][top]")
{
    TempDir tmp;
    const pid_t pid = spawn({WORKLOADS_BIN, "loop", tmp.path("truth.json")});
    REQUIRE(wait_for_file(tmp.path("truth.json.ready"), 10));
    RunResult r = run({LSTRACE_BIN, "top", "-p", std::to_string(pid), "-n", "3", "-i", "0.5"}, 60);
    kill(pid, SIGTERM);
    wait_for(pid, 10);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    std::size_t frames = 0, at = 0;
    while ((at = r.out.find("lstrace-bpf top ", at)) != std::string::npos) {
        ++frames;
        ++at;
    }
    CHECK(frames == 3);
    CHECK(r.out.find("recording pid " + std::to_string(pid)) != std::string::npos);
    CHECK(r.out.find("loop.tick") != std::string::npos);
    CHECK(r.out.find("busiest by CPU: loop.tick") != std::string::npos);
    CHECK(r.err.find("recorded to the live view (no file)") != std::string::npos);
}

TEST_CASE("analysis commands on bad input files: exit 8, one line", "[analysis][bad-input]")
{
    TempDir tmp;
    write_text(tmp.path("malformed.jsonl"),
               "{\"component\":\"a\",\"operation\":\"b\",\"duration_ms\":1}\nnot json\n");
    write_text(tmp.path("empty.jsonl"), "");
    write_text(tmp.path("not-trace.jsonl"), "{\"hello\":\"world\"}\n");
    write_text(tmp.path("binary.jsonl"), std::string("\x7f"
                                                     "ELF\x02\x01\x01\0\0\0",
                                                     10));
    for (const std::vector<std::string>& cmd :
         {std::vector<std::string>{"analyze"},
          {"analyze", "--json"},
          {"report", "-o", tmp.path("r.html")},
          {"export", "--format", "chrome", "-o", tmp.path("c.json")}}) {
        const auto with = [&](const std::string& file) {
            std::vector<std::string> argv = {LSTRACE_BIN};
            argv.insert(argv.end(), cmd.begin(), cmd.end());
            argv.push_back(tmp.path(file));
            return run(argv);
        };
        INFO(cmd[0]);
        check_bad_input(with("malformed.jsonl"), "line 2: invalid JSON");
        check_bad_input(with("empty.jsonl"), "no trace records (empty file)");
        check_bad_input(with("not-trace.jsonl"), "line 1: not a trace record");
        check_bad_input(with("binary.jsonl"), "line 1: invalid JSON");
        check_bad_input(with("missing.jsonl"), "cannot open");
        check_bad_input(with(""), "is a directory, not a trace file");
    }
    CHECK_FALSE(std::filesystem::exists(tmp.path("r.html")));  // nothing half-written
    CHECK_FALSE(std::filesystem::exists(tmp.path("c.json")));
    RunResult comp = run({LSTRACE_BIN, "analyze", "--component", "nope",
                          std::string(FIXTURES_DIR) + "/analysis_spans.jsonl"});
    check_bad_input(comp, "no records of component 'nope'");
}

namespace {

// `span_workloads mix` recorded; `heavy`: its mix.compute burns 50% more
// CPU.  The program raises its priority (nice -20), so that what other
// processes of a busy machine do barely shows in its spans' wall time.
std::string record_mix(const TempDir& tmp, const std::string& name, bool heavy)
{
    const std::string trace = tmp.path(name + ".jsonl");
    std::vector<std::string> argv = {
        LSTRACE_BIN, "record",      "-o",  trace,
        "--",        WORKLOADS_BIN, "mix", tmp.path(name + ".truth.json")};
    if (heavy)
        argv.push_back("heavy");
    RunResult r = run(argv, 120);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return trace;
}

}  // namespace

TEST_CASE("compare two recordings: only the heavier operation is slower, by CPU",
          "[root][analysis][compare]")
{
    TempDir tmp;
    // The recordings must measure the program, not the machine's load: when
    // half of a recording's spans or more were preempted (then the medians
    // are the load's), both are recorded again (at most 3 times).
    const auto preempted_share = [](const std::string& trace) {
        const std::vector<json> spans = read_spans(trace);
        std::size_t preempted = 0;
        for (const json& s : spans)
            preempted += s["resources"]["involuntary_ctx_switches"].get<int>() > 0;
        return double(preempted) / double(spans.size());
    };
    std::string base, heavy;
    for (int attempt = 1; attempt <= 3; ++attempt) {
        base = record_mix(tmp, "base" + std::to_string(attempt), false);
        heavy = record_mix(tmp, "heavy" + std::to_string(attempt), true);
        const double worst = std::max(preempted_share(base), preempted_share(heavy));
        if (worst < 0.5)
            break;
        WARN("attempt " << attempt << ": " << worst * 100 << "% of a recording's spans preempted");
    }
    const json truth = read_json(heavy.substr(0, heavy.size() - 6) + ".truth.json");
    CHECK(truth["compute_cpu_ms_mean"].get<double>() >= 1.5);

    RunResult r = run({LSTRACE_BIN, "compare", "--json", base, heavy});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const json j = json::parse(r.out);
    CHECK(j["common_operations"] == 3);
    CHECK(j["base"]["span_records"] == 180);
    std::map<std::string, json> ops;
    for (const json& op : j["operations"])
        ops[op["operation"]] = op;
    REQUIRE(ops.size() == 3);
    CHECK(ops["mix.compute"]["verdict"] == "slower");
    CHECK(ops["mix.compute"]["explained_by"] == "CPU");
    CHECK(ops["mix.compute"]["metrics"]["cpu_ms"]["change"].get<double>() ==
          Approx(0.5).margin(0.1));
    CHECK(ops["mix.parse"]["verdict"] == "unchanged");
    CHECK(ops["mix.format"]["verdict"] == "unchanged");
    CHECK(j["operations"][0]["operation"] == "mix.compute");  // the largest impact first

    RunResult text = run({LSTRACE_BIN, "compare", base, heavy});
    CHECK(text.exit_code == 0);
    CHECK(std::regex_search(text.out, std::regex("mix\\.compute +slower ")));
    CHECK(text.out.find("slower, explained by CPU: +") != std::string::npos);

    RunResult gate = run({LSTRACE_BIN, "compare", "--fail-on", "20", base, heavy});
    INFO(gate.err);
    CHECK(gate.exit_code == 10);
    CHECK(gate.err.find("--fail-on 20: 1 operation slower by more than 20%: mix.compute") !=
          std::string::npos);
    RunResult lenient = run({LSTRACE_BIN, "compare", "--fail-on", "80", base, heavy});
    INFO(lenient.out << lenient.err);
    CHECK(lenient.exit_code == 0);

    // a recording compared with itself: nothing changed
    RunResult self = run({LSTRACE_BIN, "compare", "--json", "--fail-on", "0", base, base});
    CHECK(self.exit_code == 0);
    for (const json& op : json::parse(self.out)["operations"])
        CHECK(op["verdict"] == "unchanged");

    RunResult trend = run({LSTRACE_BIN, "trend", "--json", heavy, base});
    REQUIRE(trend.exit_code == 0);
    const json t = json::parse(trend.out);
    CHECK(t["recordings"][0]["file"] == base);  // ordered by start time
    for (const json& op : t["operations"])
        CHECK(op["points"][1]["verdict"] ==
              (op["operation"] == "mix.compute" ? "slower" : "unchanged"));

    // the report's comparison section and charts, in chromium
    const std::string page = tmp.path("report.html");
    REQUIRE(run({LSTRACE_BIN, "report", "--baseline", base, heavy, "-o", page}).exit_code == 0);
    const BrowserResult b = open_in_browser(page);
    INFO("chromium stderr: " << b.run.err.substr(0, 4000));
    CHECK(attribute(b.dom, "data-status") == "rendered");
    CHECK(attribute(b.dom, "data-compared-operations") == "3");
    CHECK(attribute(b.dom, "data-trend-charts") == "3");
    CHECK(b.dom.find("data-operation=\"mix.compute\" data-verdict=\"slower\"") !=
          std::string::npos);
    CHECK(b.dom.find("<polyline class=\"p50\"") != std::string::npos);
    CHECK(b.console.empty());
}

TEST_CASE("compare and trend on bad input files: exit 8, one line", "[analysis][bad-input]")
{
    TempDir tmp;
    const std::string good = tmp.path("good.jsonl");
    write_text(good, synthetic_deep_trace(2, 3, 0));
    write_text(tmp.path("malformed.jsonl"),
               "{\"component\":\"a\",\"operation\":\"b\",\"duration_ms\":1}\nnot json\n");
    write_text(tmp.path("empty.jsonl"), "");
    write_text(tmp.path("events.jsonl"), "{\"record_type\":\"state_change\"}\n");
    for (const std::string bad : {"malformed.jsonl", "empty.jsonl"}) {
        INFO(bad);
        check_bad_input(run({LSTRACE_BIN, "compare", good, tmp.path(bad)}),
                        bad == "empty.jsonl" ? "no trace records" : "line 2: invalid JSON");
        check_bad_input(run({LSTRACE_BIN, "compare", tmp.path(bad), good}),
                        bad == "empty.jsonl" ? "no trace records" : "line 2: invalid JSON");
        check_bad_input(run({LSTRACE_BIN, "trend", good, tmp.path(bad)}),
                        bad == "empty.jsonl" ? "no trace records" : "line 2: invalid JSON");
        check_bad_input(run({LSTRACE_BIN, "report", "--baseline", tmp.path(bad), good, "-o",
                             tmp.path("r.html")}),
                        bad == "empty.jsonl" ? "no trace records" : "line 2: invalid JSON");
    }
    CHECK_FALSE(std::filesystem::exists(tmp.path("r.html")));
    check_bad_input(run({LSTRACE_BIN, "compare", good, tmp.path("events.jsonl")}),
                    "no span records to compare");
    check_bad_input(run({LSTRACE_BIN, "compare", good, tmp.path("missing.jsonl")}), "cannot open");
    check_bad_input(run({LSTRACE_BIN, "trend", good}), "trend needs two or more trace files");

    // nothing in common: every operation new or gone, and a warning
    write_text(tmp.path("other.jsonl"),
               "{\"component\":\"x\",\"operation\":\"y\",\"duration_ms\":1}\n");
    RunResult r = run({LSTRACE_BIN, "compare", "--json", good, tmp.path("other.jsonl")});
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("no operation in common") != std::string::npos);
    for (const json& op : json::parse(r.out)["operations"])
        CHECK((op["verdict"] == "new" || op["verdict"] == "gone"));
}
