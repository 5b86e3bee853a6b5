// analyze / report / export / top on hand-made fixtures whose figures were
// computed by hand (tests/fixtures/*.jsonl; the numbers are in the comments).
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "analysis/error_patterns.hpp"
#include "analysis/quantile_sketch.hpp"
#include "analysis/top_view.hpp"
#include "analysis/trace_analyzer.hpp"
#include "analysis/trace_summary.hpp"
#include "base/errors.hpp"
#include "common/synthetic_trace.hpp"
#include "report/chrome_export.hpp"
#include "report/report_html.hpp"

using namespace lstrace;
using Catch::Detail::Approx;

namespace {

const std::string kFixtures = FIXTURES_DIR;

TraceAnalyzer analyze_file(const std::string& name,
                           std::optional<std::string> component = std::nullopt)
{
    TraceAnalyzer a(std::move(component));
    a.add_file(kFixtures + "/" + name);
    return a;
}

TraceAnalyzer analyze_text(const std::string& text)
{
    TraceAnalyzer a;
    std::istringstream in(text);
    auto ok = read_trace_stream(in, [&](const TraceLine& line) { a.add(line); });
    REQUIRE(ok.ok());
    a.finish();
    return a;
}

const OperationProfile& op(const TraceAnalyzer& a, const std::string& c, const std::string& o)
{
    for (const OperationProfile* p : a.operations())
        if (p->component == c && p->operation == o)
            return *p;
    FAIL("no operation " << c << "." << o);
    throw 0;
}

const ErrorGroup& group(const ErrorPatterns& e, const std::string& type, const std::string& comp)
{
    for (const ErrorGroup* g : e.groups())
        if (g->error_type == type && g->component == comp)
            return *g;
    FAIL("no error group " << type << " in " << comp);
    throw 0;
}

}  // namespace

TEST_CASE("message shapes mask numbers and ids", "[analysis]")
{
    CHECK(mask_message("429 Too Many Requests: rate limit of 60 requests/min exceeded for model "
                       "claude-3-haiku") ==
          "<n> Too Many Requests: rate limit of <n> requests/min exceeded for model "
          "claude-<n>-haiku");
    CHECK(mask_message("request 3fa9c2d1e8b7 failed after 2.5 s") ==
          "request <id> failed after <n> s");
    CHECK(mask_message("trace 550e8400-e29b-41d4-a716-446655440000 lost") == "trace <id> lost");
    CHECK(mask_message("deadbeef") == "deadbeef");  // a word without digits stays
    CHECK(mask_message("file /tmp/x1 not found") == "file /tmp/x<n> not found");
    CHECK(mask_message("") == "");
}

TEST_CASE("quantile sketch: exact when small, within 0.5 % when large", "[analysis]")
{
    QuantileSketch small;
    for (double v : {30.0, 20.0, 15.0})
        small.add(v);
    CHECK(small.exact());
    CHECK(small.quantile(50) == 20.0);
    CHECK(small.quantile(95) == 30.0);
    CHECK(small.max() == 30.0);

    QuantileSketch big;
    std::vector<double> values;
    std::mt19937_64 rng(42);
    std::lognormal_distribution<double> dist(1.0, 1.5);
    for (int i = 0; i < 200000; ++i) {
        const double v = dist(rng);
        values.push_back(v);
        big.add(v);
    }
    CHECK_FALSE(big.exact());
    for (double p : {50.0, 95.0, 99.0}) {
        const double exact = percentile(values, p);
        INFO("p" << p << " exact " << exact << " sketch " << big.quantile(p));
        CHECK(std::fabs(big.quantile(p) - exact) <=
              exact * QuantileSketch::kRelativeAccuracy * 1.01);
    }
    CHECK(big.max() == *std::max_element(values.begin(), values.end()));
    CHECK(big.count() == 200000);
}

// tests/fixtures/analysis_spans.jsonl, by hand (ms from 10:00:00):
//   trace 1: orchestrator.run 0-100 > agent.step a1 5-45 > llm.generate c1 10-40 (failed)
//                                  > agent.step a2 50-95 (failed) > llm.generate c2 52-72
//                                                                  > llm.generate c3 75-90 (failed)
//   trace 2: tool.read 200-210 (1 MiB read, 2000 faults, 8 ms on CPU)
//   trace 3: orchestrator.fanout 300-350 > worker.task d1 300-340 and d2 305-345 (concurrent)
TEST_CASE("bottlenecks: counts, quantiles, totals, share, self time", "[analysis]")
{
    const TraceAnalyzer a = analyze_file("analysis_spans.jsonl");
    CHECK(a.spans() == 10);
    CHECK(a.traces() == 3);
    CHECK(a.wall_ms() == Approx(350.0));
    const OperationProfile& llm = op(a, "llm", "generate");
    CHECK(llm.spans == 3);
    CHECK(llm.failures == 2);
    CHECK(llm.durations.quantile(50) == 20.0);  // nearest rank of {15, 20, 30}
    CHECK(llm.durations.quantile(95) == 30.0);
    CHECK(llm.durations.quantile(99) == 30.0);
    CHECK(llm.durations.max() == 30.0);
    CHECK(llm.total_ms == Approx(65.0));
    CHECK(llm.self_ms == Approx(65.0));
    const OperationProfile& step = op(a, "agent", "step");
    CHECK(step.durations.quantile(50) == 40.0);
    CHECK(step.durations.quantile(95) == 45.0);
    CHECK(step.self_ms == Approx(20.0));                            // 40-30 + 45-(20+15)
    CHECK(op(a, "orchestrator", "run").self_ms == Approx(15.0));    // 100 - 85
    CHECK(op(a, "orchestrator", "fanout").self_ms == Approx(0.0));  // children overlap: clamped
    CHECK(op(a, "worker", "task").self_ms == Approx(80.0));
    const nlohmann::json j = a.to_json();
    for (const auto& row : j["bottlenecks"])
        if (row["component"] == "orchestrator" && row["operation"] == "run")
            CHECK(row["wall_share"].get<double>() == Approx(100.0 / 350.0));
    CHECK(a.operations().front()->operation == "run");  // busiest first
    // largest self times: the two concurrent workers, then c1
    const auto top = a.top_self_time();
    REQUIRE(top.size() == 10);
    CHECK(top[0].self_ms == Approx(40.0));
    CHECK(top[1].self_ms == Approx(40.0));
    CHECK(top[2].span_id == "00000000000000c1");
}

TEST_CASE("critical paths: sequential children all count, overlapped ones do not", "[analysis]")
{
    const TraceAnalyzer a = analyze_file("analysis_spans.jsonl");
    const auto paths = a.critical_paths();
    REQUIRE(paths.size() == 3);
    const CriticalPath& t1 = paths[0];  // longest first
    CHECK(t1.trace_id == "11111111111111111111111111111111");
    CHECK(t1.duration_ms == Approx(100.0));
    std::vector<std::pair<std::string, double>> got;
    for (const PathSegment& s : t1.segments)
        got.emplace_back(s.span_id, s.ms);
    const std::vector<std::pair<std::string, double>> want = {
        {"0000000000000001", 15.0}, {"00000000000000a1", 10.0}, {"00000000000000c1", 30.0},
        {"00000000000000a2", 10.0}, {"00000000000000c2", 20.0}, {"00000000000000c3", 15.0}};
    CHECK(got == want);
    // trace 3: d2 ends last (305-345) and hides d1 except 300-305; fanout's own 345-350
    const CriticalPath& t3 = paths[1];
    CHECK(t3.trace_id == "33333333333333333333333333333333");
    REQUIRE(t3.segments.size() == 3);
    CHECK(t3.segments[0].span_id == "00000000000000d1");
    CHECK(t3.segments[0].ms == Approx(5.0));
    CHECK(t3.segments[1].ms == Approx(40.0));
    CHECK(t3.segments[2].span_id == "0000000000000003");
    CHECK(t3.segments[2].ms == Approx(5.0));
    CHECK(op(a, "worker", "task").critical_ms == Approx(45.0));
    CHECK(op(a, "orchestrator", "fanout").critical_ms == Approx(5.0));
    CHECK(op(a, "llm", "generate").critical_ms == Approx(65.0));
}

TEST_CASE("a top N limit keeps the longest paths and largest self times", "[analysis]")
{
    TraceAnalyzer a(std::nullopt, TraceAnalyzer::Limits{2, 3});
    a.add_file(kFixtures + "/analysis_spans.jsonl");
    const auto paths = a.critical_paths();
    REQUIRE(paths.size() == 2);
    CHECK(paths[0].duration_ms == Approx(100.0));
    CHECK(paths[1].duration_ms == Approx(50.0));  // the 10 ms trace is dropped
    CHECK(a.top_self_time().size() == 3);
    // critical-path time per operation still covers every trace
    CHECK(op(a, "tool", "read").critical_ms == Approx(10.0));
}

TEST_CASE("dominant resources", "[analysis]")
{
    const TraceAnalyzer a = analyze_file("analysis_spans.jsonl");
    CHECK(dominant_resource(op(a, "llm", "generate")) == "off-CPU waiting");  // 4 of 65 ms on CPU
    CHECK(dominant_resource(op(a, "worker", "task")) == "on-CPU");
    CHECK(dominant_resource(op(a, "tool", "read")) == "page faults");  // 2000 faults in 8 CPU ms
    OperationProfile io;
    io.with_resources = 1;
    io.cpu_ms = 1;
    io.offcpu_ms = 9;
    io.has_io_wait = true;
    io.io_wait_ms = 6;
    CHECK(dominant_resource(io) == "I/O wait");
    io.io_wait_ms = 1;
    CHECK(dominant_resource(io) == "off-CPU waiting");
    OperationProfile writes;
    writes.with_resources = 1;
    writes.cpu_ms = 2;
    writes.io_bytes = 5 << 20;
    CHECK(dominant_resource(writes) == "I/O bytes");
    CHECK(dominant_resource(OperationProfile{}) == "unknown");
}

TEST_CASE("error patterns from failed spans: groups, shapes, propagation", "[analysis]")
{
    const TraceAnalyzer a = analyze_file("analysis_spans.jsonl");
    const ErrorPatterns& e = a.errors();
    CHECK(e.total() == 3);
    const ErrorGroup& llm = group(e, "RateLimitError", "llm");
    CHECK(llm.count == 2);  // two messages, one shape
    CHECK(llm.message_shape == "<n> Too Many Requests: retry after <n> ms (request <id>)");
    CHECK(llm.first_us % 1000000 == 10000);  // 10:00:00.010
    CHECK(llm.last_us % 1000000 == 75000);
    CHECK(group(e, "RateLimitError", "agent").count == 1);
    CHECK_FALSE(e.propagation_from_events());
    const auto edges = e.edges();
    REQUIRE(edges.size() == 2);
    CHECK(edges[0]->from_component == "llm");
    CHECK(edges[0]->to_component == "agent");
    CHECK(edges[0]->count == 2);
    CHECK(edges[0]->receiver_failed == 1);  // a2 failed, a1 did not
    CHECK(edges[1]->from_component == "agent");
    CHECK(edges[1]->to_operation == "run");
    const nlohmann::json j = a.to_json();
    CHECK(j["errors"]["groups"][0]["rate_per_minute"].get<double>() == Approx(2 / (350.0 / 60000)));
}

// tests/fixtures/analysis_events.jsonl: event records (issue 3's format)
TEST_CASE("error patterns from events: dedup, recoveries, resolutions", "[analysis]")
{
    const TraceAnalyzer a = analyze_file("analysis_events.jsonl");
    CHECK(a.events() == 19);
    CHECK(a.spans() == 1);
    CHECK(a.wall_ms() == Approx(60000.0));
    const ErrorPatterns& e = a.errors();
    CHECK(e.total() == 3);  // the failed span with its own error event counts once
    const ErrorGroup& tool = group(e, "ToolError", "tool");
    CHECK(tool.count == 2);
    CHECK(tool.from_events == 2);
    CHECK(tool.from_spans == 0);
    CHECK(tool.message_shape == "file /tmp/x<n> not found after <n> tries");
    CHECK(tool.first_us % 1000000 == 6000);  // the event's time, not the deduplicated span's
    CHECK(tool.recoveries.at("retry").tried == 2);
    CHECK(tool.recoveries.at("retry").succeeded == 1);
    CHECK(tool.recoveries.at("fallback").succeeded == 1);
    CHECK(tool.resolutions.at("resolved") == 1);
    CHECK(tool.resolutions.at("escalated") == 1);
    CHECK(group(e, "LLMError", "llm").severities.at("critical") == 1);
    REQUIRE(e.propagation_from_events());
    REQUIRE(e.edges().size() == 1);
    CHECK(e.edges()[0]->count == 2);
    const nlohmann::json j = a.to_json();
    const auto& g0 = j["errors"]["groups"][0];
    CHECK(g0["rate_per_minute"].get<double>() == Approx(2.0));  // 2 in the 1-minute trace
    CHECK(g0["recoveries"]["retry"]["success_rate"].get<double>() == Approx(0.5));
}

TEST_CASE("retries seen in spans count as recoveries when there are no recovery events",
          "[analysis]")
{
    // under parent p: generate fails, backoff, generate fails, generate succeeds
    const auto line = [](const char* id, const char* op, int start, bool ok, const char* parent) {
        return std::string(R"({"timestamp":"2026-01-15T10:00:00.)") +
               std::to_string(100000 + start).substr(1) + R"(Z","trace_id":"t","span_id":")" + id +
               R"(","parent_span_id":)" +
               (parent ? std::string("\"") + parent + "\"" : std::string("null")) +
               R"(,"component":")" + (parent ? "llm" : "agent") + R"(","operation":")" + op +
               R"(","description":"","duration_ms":1,"tags":{"success":)" +
               (ok ? "true" : "false") +
               R"(,"error_type":"RateLimitError","error_message":"429"},"metadata":{},"resources":null})" +
               "\n";
    };
    const TraceAnalyzer a =
        analyze_text(line("01", "generate", 1, false, "00") + line("02", "backoff", 2, true, "00") +
                     line("03", "generate", 3, false, "00") +
                     line("04", "generate", 4, true, "00") + line("00", "step", 0, true, nullptr));
    const ErrorGroup& g = group(a.errors(), "RateLimitError", "llm");
    CHECK(g.count == 2);
    REQUIRE(g.recoveries.count("retry") == 1);
    CHECK(g.recoveries.at("retry").tried == 2);
    CHECK(g.recoveries.at("retry").succeeded == 1);
    CHECK_FALSE(a.errors().recoveries_from_events());
    // with error_recovery events in the trace, only those count
    CHECK(analyze_file("analysis_events.jsonl").errors().recoveries_from_events());
}

TEST_CASE("component report: state changes over time, configuration, data flow", "[analysis]")
{
    const TraceAnalyzer a = analyze_file("analysis_events.jsonl", "agent");
    REQUIRE(a.state_changes().size() == 4);
    CHECK(a.state_changes()[1].from == "thinking");
    CHECK(a.state_changes()[1].to == "acting");
    CHECK(a.state_changes()[1].reason == "plan ready");
    const nlohmann::json j = a.to_json();
    const auto& r = j["component_report"];
    CHECK(r["state_changes"]["transitions"]["idle -> thinking"] == 2);
    CHECK(r["configuration"]["total"] == 2);
    CHECK(r["data_flow"]["input_bytes"] == 100);
    CHECK(r["data_flow"]["output_bytes"] == 250);
    CHECK(j["errors"]["propagation"].size() == 1);  // tool -> agent touches agent
    CHECK(j["errors"]["groups"].empty());           // the errors are the tool's
    // state changes recorded as spans (the demo's agent.state_change) count too
    const TraceAnalyzer b = [] {
        TraceAnalyzer t("agent");
        std::istringstream in(
            R"({"timestamp":"2026-01-15T10:00:00.000000Z","trace_id":"1","span_id":"2","parent_span_id":null,"component":"agent","operation":"state_change","description":"x","duration_ms":0.01,"tags":{"success":true,"agent":"critic","from_state":"idle","to_state":"thinking"},"metadata":{},"resources":null})"
            "\n");
        REQUIRE(read_trace_stream(in, [&](const TraceLine& l) { t.add(l); }).ok());
        t.finish();
        return t;
    }();
    REQUIRE(b.state_changes().size() == 1);
    CHECK(b.state_changes()[0].subject == "critic");
}

TEST_CASE("synthetic trace with deep nesting and errors", "[analysis]")
{
    const int traces = 7, depth = 200, failing = 6;
    const TraceAnalyzer a =
        analyze_text(lstrace::test::synthetic_deep_trace(traces, depth, failing));
    CHECK(a.spans() == std::uint64_t(traces * depth));
    CHECK(a.traces() == std::uint64_t(traces));
    double self = 0, critical = 0;
    for (const OperationProfile* p : a.operations()) {
        self += p->self_ms;
        critical += p->critical_ms;
    }
    CHECK(self == Approx(2.0 * depth * traces));
    CHECK(critical == Approx(2.0 * depth * traces));
    REQUIRE(a.critical_paths().size() == TraceAnalyzer::Limits{}.top_traces);
    const std::vector<CriticalPath> paths = a.critical_paths();
    const CriticalPath& p = paths[0];
    CHECK(p.duration_ms == Approx(2.0 * depth));
    REQUIRE(p.segments.size() == std::size_t(depth));
    for (const PathSegment& s : p.segments)
        CHECK(s.ms == Approx(2.0));
    CHECK(p.segments.front().span_id == "0000000000100000");  // the root of the first trace
    CHECK(a.errors().total() == std::uint64_t(traces * failing));
    CHECK(a.errors().groups().size() == 3);  // one shape per component c0, c1, c2
    CHECK(a.errors().groups()[0]->message_shape == "failure at depth <n> (request <id>)");
    std::uint64_t edges = 0, receiver_failed = 0;
    for (const PropagationEdge* e : a.errors().edges()) {
        edges += e->count;
        receiver_failed += e->receiver_failed;
    }
    CHECK(edges == std::uint64_t(traces * failing));
    CHECK(receiver_failed == std::uint64_t(traces * (failing - 1)));
}

TEST_CASE("summary and analysis accept event records, bad input is one clear error", "[analysis]")
{
    std::ifstream in(kFixtures + "/analysis_events.jsonl");
    TraceSummary s;
    REQUIRE(s.add_stream(in).ok());
    CHECK(s.records() == 1);
    CHECK(s.events().at("state_change") == 4);
    CHECK(s.events().at("error") == 3);

    const std::string dir = kFixtures;
    const auto code_of = [](const std::string& path) {
        try {
            TraceAnalyzer a;
            a.add_file(path);
        } catch (const FatalError& e) {
            return std::make_pair(e.code(), std::string(e.what()));
        }
        return std::make_pair(ExitCode::ok, std::string());
    };
    CHECK(code_of(dir + "/does-not-exist.jsonl").first == ExitCode::bad_input);
    CHECK(code_of(dir + "/does-not-exist.jsonl").second.find("cannot open") != std::string::npos);
    std::istringstream bad_type(
        R"({"record_type":5,"component":"a","operation":"b","timestamp":"x"})");
    auto r = read_trace_stream(bad_type, [](const TraceLine&) {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "line 1: record_type must be a non-empty string");
    std::istringstream sparse(R"({"record_type":"error","tags":null,"span_id":null})");
    TraceAnalyzer sparse_analyzer;
    REQUIRE(read_trace_stream(sparse, [&](const TraceLine& l) { sparse_analyzer.add(l); }).ok());
    sparse_analyzer.finish();
    CHECK(sparse_analyzer.errors().total() == 1);  // an error of unknown type, no crash
}

TEST_CASE("the JSON array of record --format json reads like JSONL", "[analysis]")
{
    std::istringstream in("[\n"
                          R"({"component":"a","operation":"b","duration_ms":1},)"
                          "\n"
                          R"({"record_type":"error","component":"a","tags":{"error_type":"E"}})"
                          "\n"
                          "]\n");
    int spans = 0, events = 0;
    REQUIRE(read_trace_stream(in, [&](const TraceLine& l) {
                (l.kind == RecordKind::span ? spans : events)++;
            }).ok());
    CHECK(spans == 1);
    CHECK(events == 1);
    std::istringstream empty_array("[\n]\n");
    std::uint64_t records = 1;
    REQUIRE(read_trace_stream(
                empty_array, [](const TraceLine&) {}, &records)
                .ok());
    CHECK(records == 0);
}

TEST_CASE("timestamps parse back to microseconds", "[analysis]")
{
    CHECK(parse_timestamp_us("2026-01-15T10:00:00.000000Z") == 1768471200LL * 1000000);
    CHECK(parse_timestamp_us("2026-01-15T10:00:00.123456Z") == 1768471200LL * 1000000 + 123456);
    CHECK_FALSE(parse_timestamp_us("2026-01-15 10:00:00"));
    CHECK_FALSE(parse_timestamp_us("2026-01-15T10:00:00.1Zjunk"));
    CHECK_FALSE(parse_timestamp_us(""));
}

TEST_CASE("chrome export: complete events, counters, instants, track names", "[analysis]")
{
    ChromeExporter x;
    std::vector<nlohmann::json> out;
    std::ifstream in(kFixtures + "/analysis_events.jsonl");
    REQUIRE(read_trace_stream(in, [&](const TraceLine& l) { x.add(l, out); }).ok());
    int complete = 0, instants = 0, counters = 0, names = 0, errors = 0;
    for (const nlohmann::json& e : out) {
        const std::string ph = e["ph"];
        complete += ph == "X";
        instants += ph == "i";
        counters += ph == "C";
        names += ph == "M";
        errors += ph == "i" && e["cat"] == "error";
        if (ph == "X") {
            CHECK(e["name"] == "tool.file_read");
            CHECK(e["dur"].get<double>() == Approx(3000.0));  // microseconds
            CHECK(e["ts"].get<double>() == Approx(1768471200005000.0));
            CHECK(e["args"]["resources"]["cpu_time_ms"] == 1);
            CHECK(e["cname"] == "terrible");
        }
        if (ph == "C" && e["name"] == "process rss_bytes")
            CHECK(e["args"]["rss_bytes"] == 5000000);
    }
    CHECK(complete == 1);
    CHECK(instants == 18);  // the 19 event records but the process sample
    CHECK(errors == 10);    // 3 error, 2 error_propagation, 3 error_recovery, 2 error_resolution
    CHECK(counters == 7);   // the span's memory_usage and resources, 5 figures of the sample
    CHECK(names == 4);      // process 200 and its thread 200; process 100 and its thread 200
}

TEST_CASE("report page: template filled, script-safe data", "[analysis]")
{
    const std::string page =
        render_report({{"spans", {{{"description", "</script><b>x"}, {"tag", "<!--<script>"}}}}});
    CHECK(page.find("/*LSTRACE_TRACE_DATA*/") == std::string::npos);
    CHECK(page.find("</script><b>x") == std::string::npos);
    CHECK(page.find("<!--<script>") == std::string::npos);
    CHECK(page.find("\\u003c/script\\u003e\\u003cb\\u003ex") != std::string::npos);
    CHECK(page.find("\\u003c!--\\u003cscript\\u003e") != std::string::npos);
    CHECK(page.find("<html") != std::string::npos);
    CHECK(page.find("http://") == std::string::npos);  // nothing to fetch
    CHECK(page.find("https://") == std::string::npos);
}

TEST_CASE("top: per-interval busiest operations", "[analysis]")
{
    TopView v;
    const auto span = [](const char* c, const char* o, double cpu, double off, std::uint64_t io,
                         bool failed) {
        SpanFacts s;
        s.component = c;
        s.operation = o;
        s.duration_ms = cpu + off;
        s.failed = failed;
        s.resources.present = true;
        s.resources.cpu_ms = cpu;
        s.resources.offcpu_ms = off;
        s.resources.read_bytes = io;
        return s;
    };
    v.add(span("llm", "generate", 1, 50, 0, true));
    v.add(span("tool", "read", 3, 0, 4096, false));
    v.add(span("tool", "read", 2, 0, 4096, false));
    const std::string frame = v.frame("pid 42", 3.0, 1.0, 10);
    INFO(frame);
    CHECK(frame.find("recording pid 42 for 3.0 s: 3 spans (3/s in the last 1.0 s), 1 failed") !=
          std::string::npos);
    CHECK(frame.find("busiest by CPU: tool.read   off-CPU: llm.generate   I/O: tool.read") !=
          std::string::npos);
    CHECK(frame.find("llm.generate") < frame.find("tool.read                "));  // 51 ms > 5 ms
    // the next interval starts empty
    const std::string next = v.frame("pid 42", 4.0, 1.0, 10);
    CHECK(next.find("(no span ended in this interval)") != std::string::npos);
    CHECK(next.find("3 spans (0/s") != std::string::npos);
}
