// OTLP export end to end: `record --otlp` and `export --format otlp` send to
// a test receiver on 127.0.0.1 (tests/otlp/receiver.js, run by Debian's
// nodejs) that decodes every request with the OpenTelemetry JavaScript
// packages' protobuf code, never lstrace's; and the faults of the issue:
// a receiver down at start, 503 with Retry-After, 429 storms, a hanging
// receiver, 400, unreachable endpoints and bad OTEL_* values.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "checks.hpp"
#include "process_helpers.hpp"

using namespace lstrace::test;
using nlohmann::json;

namespace {

// The test receiver, started with a behaviour (see receiver.js).
class Receiver {
public:
    Receiver(const TempDir& tmp, const std::string& behaviour, int port = 0)
        : port_file_(tmp.path("port-" + std::to_string(++count_))),
          out_(tmp.path("requests-" + std::to_string(count_) + ".jsonl"))
    {
        pid_ = spawn({NODE_BIN, RECEIVER_JS, "--port", std::to_string(port), "--port-file",
                      port_file_, "--out", out_, "--behaviour", behaviour});
        REQUIRE(wait_for_file(port_file_, 20));
        port_ = std::stoi(read_text(port_file_));
    }
    ~Receiver() { stop(); }
    void stop()
    {
        if (pid_ <= 0)
            return;
        ::kill(pid_, SIGTERM);
        wait_for(pid_, 20);
        pid_ = -1;
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::vector<json> requests() const
    {
        return ::access(out_.c_str(), R_OK) == 0 ? read_jsonl(out_) : std::vector<json>{};
    }

private:
    static inline int count_ = 0;
    std::string port_file_, out_;
    pid_t pid_ = -1;
    int port_ = 0;
};

// A port nothing listens on (for a receiver started later, or never).
int free_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

struct Counts {
    long recorded = -1, sent = -1, failed = -1, dropped = -1;
};

// The summary line's spans recorded and its OTLP part.
Counts summary(const std::string& err)
{
    Counts c;
    std::smatch m;
    if (std::regex_search(err, m, std::regex(R"((\d+) spans recorded to )")))
        c.recorded = std::stol(m[1]);
    if (std::regex_search(err, m,
                          std::regex(R"(OTLP to \S+: (\d+) sent, (\d+) failed, (\d+) dropped)"))) {
        c.sent = std::stol(m[1]);
        c.failed = std::stol(m[2]);
        c.dropped = std::stol(m[3]);
    }
    return c;
}

struct ReceivedSpan {
    json span;
    json resource;  // attributes as key -> value object
    std::string scope;
};

std::map<std::string, json> attribute_map(const json& attributes)
{
    std::map<std::string, json> out;
    for (const json& kv : attributes)
        out[kv["key"].get<std::string>()] = kv["value"].begin().value();
    return out;
}

// Every span of every decoded request, by span id (each must come once).
std::vector<ReceivedSpan> received_spans(const std::vector<json>& requests)
{
    std::vector<ReceivedSpan> out;
    for (const json& r : requests) {
        if (!r.value("valid", false))
            continue;
        for (const json& rs : r["request"].value("resourceSpans", json::array()))
            for (const json& ss : rs.value("scopeSpans", json::array()))
                for (const json& s : ss.value("spans", json::array()))
                    out.push_back({s,
                                   attribute_map(rs["resource"].value("attributes", json::array())),
                                   ss["scope"].value("name", "")});
    }
    return out;
}

double as_number(const json& v)
{
    return v.is_string() ? std::stod(v.get<std::string>()) : v.get<double>();
}

// Every span and event of the trace file arrived once, with its ids,
// parent, and figures equal to the file's.
void check_same_as_file(const std::vector<ReceivedSpan>& got, const std::string& trace)
{
    std::map<std::string, const ReceivedSpan*> by_id;
    for (const ReceivedSpan& s : got) {
        const std::string id = s.span["spanId"];
        INFO("span " << id);
        CHECK(by_id.emplace(id, &s).second);  // once
    }
    long file_events_in_spans = 0, failed_without_error_event = 0;
    std::set<std::string> spans_with_error_event;
    const auto records = read_jsonl(trace);
    for (const json& r : records)
        if (r.value("record_type", "span") != "span" && r["span_id"].is_string()) {
            ++file_events_in_spans;
            if (r["record_type"] == "error")
                spans_with_error_event.insert(r["span_id"].get<std::string>());
        }
    long spans_in_file = 0;
    for (const json& r : records) {
        if (r.value("record_type", "span") != "span")
            continue;
        ++spans_in_file;
        const std::string id = r["span_id"];
        INFO("span " << r.dump());
        REQUIRE(by_id.count(id));
        const json& s = by_id[id]->span;
        CHECK(s["traceId"] == r["trace_id"]);
        if (r["parent_span_id"].is_null())
            CHECK_FALSE(s.contains("parentSpanId"));
        else
            CHECK(s["parentSpanId"] == r["parent_span_id"]);
        CHECK(s["kind"] == 1);
        const long long duration_ns =
            static_cast<long long>(std::stoull(s["endTimeUnixNano"].get<std::string>()) -
                                   std::stoull(s["startTimeUnixNano"].get<std::string>()));
        CHECK(std::llabs(duration_ns - std::llround(r["duration_ms"].get<double>() * 1e6)) <= 1);
        const auto attrs = attribute_map(s.value("attributes", json::array()));
        CHECK(attrs.at("lstrace.component") == r["component"]);
        CHECK(attrs.at("lstrace.operation") == r["operation"]);
        for (const auto& [key, value] : r["resources"].items()) {
            if (value.is_null())
                continue;
            const std::string prefixed =
                attrs.count("lstrace.io." + key) ? "lstrace.io." + key : "lstrace." + key;
            INFO(key);
            REQUIRE(attrs.count(prefixed));
            if (value.is_boolean())  // flags such as rss_changed_by_other_threads
                CHECK(attrs.at(prefixed) == value);
            else
                CHECK(as_number(attrs.at(prefixed)) == value.get<double>());
        }
        const bool failed = !r["tags"].value("success", true);
        CHECK((s.contains("status") && s["status"]["code"] == 2) == failed);
        if (failed && !spans_with_error_event.count(id) && r["tags"].contains("error_type"))
            ++failed_without_error_event;
    }
    CHECK(static_cast<long>(got.size()) == spans_in_file);
    long events = 0;
    for (const ReceivedSpan& s : got)
        events += static_cast<long>(s.span.value("events", json::array()).size());
    // every event inside a span, plus one exception event per failed span
    // that had no error event of its own
    CHECK(events == file_events_in_spans + failed_without_error_event);
}

// `span_workloads rate` (~640 spans a second) recorded to `trace` and
// streamed to `url`; the recorder must succeed.
RunResult record_paced(const TempDir& tmp, const std::string& trace, const std::string& url,
                       const char* seconds, std::vector<std::string> env = {})
{
    std::vector<std::string> argv = {"/usr/bin/env"};
    argv.insert(argv.end(), env.begin(), env.end());
    for (const std::string& a :
         {std::string(LSTRACE_BIN), std::string("record"), std::string("-f"), std::string("-o"),
          trace, std::string("--otlp"), url, std::string("--"), std::string(WORKLOADS_BIN),
          std::string("rate"), tmp.path("truth.json"), std::string(seconds), std::string("100000")})
        argv.push_back(a);
    RunResult r = run(argv, 90);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return r;
}

}  // namespace

TEST_CASE("record --otlp: the demo's spans and events arrive once, decoded by OpenTelemetry's "
          "own protobuf code, figures equal to the trace file's",
          "[root][otlp]")
{
    TempDir tmp;
    Receiver rx(tmp, "ok");
    const std::string trace = tmp.path("demo.jsonl");
    const RunResult r =
        run({LSTRACE_BIN, "record", "-o", trace, "--otlp", rx.url(), "--", DEMO_BIN}, 120);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const Counts c = summary(r.err);
    CHECK(c.recorded == static_cast<long>(read_spans(trace).size()));
    CHECK(c.sent == c.recorded);
    CHECK(c.failed == 0);
    CHECK(c.dropped == 0);
    rx.stop();
    const auto requests = rx.requests();
    REQUIRE_FALSE(requests.empty());
    for (const json& q : requests) {
        CHECK(q["valid"] == true);
        CHECK(q["content_type"] == "application/x-protobuf");
        CHECK(q["path"] == "/v1/traces");
    }
    const auto got = received_spans(requests);
    check_same_as_file(got, trace);

    // Resource, scope and the GenAI conventions
    std::set<std::string> names;
    for (const ReceivedSpan& s : got) {
        names.insert(s.span["name"].get<std::string>());
        CHECK(s.resource.at("service.name") == "langswarm");
        CHECK(s.resource.at("process.executable.name") == "langswarm_demo");
        CHECK(s.resource.at("telemetry.sdk.name") == "lstrace-bpf");
        CHECK(s.resource.count("host.name"));
        CHECK(s.resource.count("process.pid"));
        INFO("scope " << s.scope);
        CHECK((s.scope.rfind("langswarm.", 0) == 0 ||
               s.scope == "lstrace-bpf"));  // (no tracer: method spans)
        const auto attrs = attribute_map(s.span.value("attributes", json::array()));
        if (attrs.at("lstrace.component") == "llm") {
            CHECK(attrs.at("gen_ai.operation.name") == "chat");
            CHECK(s.span["name"] == "chat " + attrs.at("gen_ai.request.model").get<std::string>());
            CHECK(attrs.count("gen_ai.usage.input_tokens"));
        }
        if (attrs.at("lstrace.component") == "tool")
            CHECK(attrs.at("gen_ai.tool.name") == attrs.at("lstrace.operation"));
    }
    CHECK(names.count("invoke_agent researcher"));
    CHECK(names.count("execute_tool file_read"));
    CHECK(names.count("memory.store"));
    // the injected rate limit: an exception event with the error's type
    bool exception = false;
    for (const ReceivedSpan& s : got)
        for (const json& e : s.span.value("events", json::array()))
            if (e["name"] == "exception") {
                const auto a = attribute_map(e.value("attributes", json::array()));
                exception = exception || a.at("exception.type") == "RateLimitError";
            }
    CHECK(exception);
}

TEST_CASE("record --otlp with OTLP/JSON and gzip from OTEL_* variables, and export of the same "
          "trace, over HTTP and to a file, gives the same spans",
          "[root][otlp]")
{
    TempDir tmp;
    Receiver rx(tmp, "ok");
    const std::string trace = tmp.path("demo.jsonl");
    RunResult r = run({"/usr/bin/env", "OTEL_EXPORTER_OTLP_ENDPOINT=" + rx.url(),
                       "OTEL_EXPORTER_OTLP_PROTOCOL=http/json",
                       "OTEL_EXPORTER_OTLP_COMPRESSION=gzip", "OTEL_SERVICE_NAME=research-demo",
                       "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Basic%20dGVzdA==", LSTRACE_BIN,
                       "record", "-o", trace, "--otlp", "--", DEMO_BIN},
                      120);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    Counts c = summary(r.err);
    CHECK(c.sent == c.recorded);
    rx.stop();
    auto requests = rx.requests();
    REQUIRE_FALSE(requests.empty());
    for (const json& q : requests) {
        INFO(q.dump());
        CHECK(q["valid"] == true);  // checked against the schema by the receiver
        CHECK(q["gzip"] == true);
        CHECK(q["content_type"] == "application/json");
    }
    auto got = received_spans(requests);
    check_same_as_file(got, trace);
    for (const ReceivedSpan& s : got)
        CHECK(s.resource.at("service.name") == "research-demo");

    // export over HTTP (protobuf), from the file
    Receiver rx2(tmp, "ok");
    r = run({LSTRACE_BIN, "export", "--format", "otlp", "--endpoint", rx2.url(), trace});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    c = summary(r.err);
    CHECK(c.sent == static_cast<long>(read_spans(trace).size()));
    CHECK(c.failed + c.dropped == 0);
    rx2.stop();
    check_same_as_file(received_spans(rx2.requests()), trace);

    // export to a file of OTLP/JSON lines, decoded by the same code
    const std::string lines = tmp.path("otlp.jsonl");
    r = run({LSTRACE_BIN, "export", "--format", "otlp", "-o", lines, trace});
    CHECK(r.exit_code == 0);
    const std::string decoded = tmp.path("decoded.jsonl");
    const RunResult d =
        run({NODE_BIN, RECEIVER_JS, "--decode-json-lines", lines, "--out", decoded});
    CHECK(d.exit_code == 0);
    check_same_as_file(received_spans(read_jsonl(decoded)), trace);
}

TEST_CASE("OTLP receiver down at start, up 1.5 s later: every span is delivered", "[root][otlp]")
{
    TempDir tmp;
    const int port = free_port();
    const std::string trace = tmp.path("t.jsonl");
    const pid_t rec = spawn({LSTRACE_BIN, "record", "-o", trace, "--otlp",
                             "http://127.0.0.1:" + std::to_string(port), "--", WORKLOADS_BIN,
                             "rate", tmp.path("truth.json"), "4", "150000"});
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    Receiver rx(tmp, "ok", port);
    REQUIRE(wait_for(rec, 60) == 0);
    rx.stop();
    const auto got = received_spans(rx.requests());
    const long spans = static_cast<long>(read_spans(trace).size());
    CHECK(spans > 1000);  // ~430 a second: the queue (2048) holds what waits for the receiver
    CHECK(static_cast<long>(got.size()) == spans);
    check_same_as_file(got, trace);
}

TEST_CASE("OTLP 503 with Retry-After: the request is repeated after the wait, nothing lost",
          "[root][otlp]")
{
    TempDir tmp;
    Receiver rx(tmp, "status:503:2:2");  // the first two requests: 503, Retry-After: 2
    const std::string trace = tmp.path("t.jsonl");
    const RunResult r = record_paced(tmp, trace, rx.url(), "1");
    INFO(r.err);
    const Counts c = summary(r.err);
    CHECK(c.sent == c.recorded);
    CHECK(c.failed + c.dropped == 0);
    CHECK(r.err.find("HTTP 503") != std::string::npos);
    rx.stop();
    const auto q = rx.requests();
    REQUIRE(q.size() >= 3);
    CHECK(q[0]["status"] == 503);
    CHECK(q[1]["status"] == 503);
    CHECK(q[2]["status"] == 200);
    CHECK(q[1]["t_ms"].get<long>() - q[0]["t_ms"].get<long>() >= 1900);
    CHECK(q[2]["t_ms"].get<long>() - q[1]["t_ms"].get<long>() >= 1900);
    check_same_as_file(received_spans(q), trace);
}

TEST_CASE("OTLP 429 storm: backoff until the receiver takes them, nothing lost", "[root][otlp]")
{
    TempDir tmp;
    Receiver rx(tmp, "status:429:4");
    const std::string trace = tmp.path("t.jsonl");
    const RunResult r = record_paced(tmp, trace, rx.url(), "1");
    INFO(r.err);
    const Counts c = summary(r.err);
    CHECK(c.sent == c.recorded);
    CHECK(c.failed + c.dropped == 0);
    rx.stop();
    const auto q = rx.requests();
    REQUIRE(q.size() >= 5);
    // exponential backoff: 0.5, 1, 2, 4 s between the attempts
    for (int i = 1; i < 4; ++i)
        CHECK(q[i + 1]["t_ms"].get<long>() - q[i]["t_ms"].get<long>() >=
              q[i]["t_ms"].get<long>() - q[i - 1]["t_ms"].get<long>() + 300);
    check_same_as_file(received_spans(q), trace);
}

TEST_CASE("OTLP 400: one warning, counted as failed, never retried", "[root][otlp]")
{
    TempDir tmp;
    Receiver rx(tmp, "status:400:all");
    const RunResult r = record_paced(tmp, tmp.path("t.jsonl"), rx.url(), "2");
    INFO(r.err);
    const Counts c = summary(r.err);
    CHECK(c.recorded > 0);
    CHECK(c.sent == 0);
    CHECK(c.failed == c.recorded);
    CHECK(c.dropped == 0);
    // one warning, with the receiver's own message (its google.rpc.Status)
    std::size_t warnings = 0;
    for (std::size_t at = 0; (at = r.err.find("warning", at)) != std::string::npos; ++at)
        ++warnings;
    CHECK(warnings == 1);
    CHECK(r.err.find("HTTP 400: test receiver says 400") != std::string::npos);
    rx.stop();
    // one request per batch: spans by time (1 s) or by 512
    const auto q = rx.requests();
    CHECK(q.size() <= static_cast<std::size_t>(c.recorded / 512 + 5));
}

TEST_CASE("OTLP receiver that hangs: the traced program runs as fast as without OTLP",
          "[root][otlp]")
{
    TempDir tmp;
    Receiver rx(tmp, "hang");
    // The same program, back-to-back spans for 2 s, alternately recorded to a
    // file only and to a file plus a receiver that never answers.
    const auto rate = [&](bool otlp, Counts* counts) {
        std::vector<std::string> argv = {"/usr/bin/env",
                                         "OTEL_EXPORTER_OTLP_TIMEOUT=1000",
                                         LSTRACE_BIN,
                                         "record",
                                         "-f",
                                         "-o",
                                         tmp.path("t.jsonl")};
        if (otlp) {
            argv.push_back("--otlp");
            argv.push_back(rx.url());
        }
        for (const char* a : {"--", WORKLOADS_BIN, "rate"})
            argv.push_back(a);
        argv.push_back(tmp.path("truth.json"));
        argv.push_back("2");
        const RunResult r = run(argv, 60);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        if (counts)
            *counts = summary(r.err);
        return read_json(tmp.path("truth.json"))["rate"].get<double>();
    };
    std::vector<double> ratios;
    for (int i = 0; i < 5; ++i) {  // interleaved, median: other load on the machine varies
        const double plain = rate(false, nullptr);
        Counts c;
        const double hung = rate(true, &c);
        ratios.push_back(hung / plain);
        CHECK(c.sent == 0);
        CHECK(c.dropped > 0);
        CHECK(c.sent + c.failed + c.dropped == c.recorded);
    }
    std::sort(ratios.begin(), ratios.end());
    std::string all;
    for (double r : ratios)
        all += " " + std::to_string(r);
    INFO("rate with a hung receiver / rate without OTLP, sorted:" << all);
    CHECK(ratios[ratios.size() / 2] >= 0.9);  // the median
}

TEST_CASE("OTLP endpoint that does not resolve or refuses: recording goes on, spans counted",
          "[root][otlp]")
{
    TempDir tmp;
    for (const std::string& url : {std::string("http://nonexistent.invalid:4318"),
                                   "http://127.0.0.1:" + std::to_string(free_port())}) {
        INFO(url);
        const auto start = std::chrono::steady_clock::now();
        const RunResult r =
            record_paced(tmp, tmp.path("t.jsonl"), url, "1", {"OTEL_EXPORTER_OTLP_TIMEOUT=1500"});
        INFO(r.err);
        const Counts c = summary(r.err);
        CHECK(c.recorded == static_cast<long>(read_spans(tmp.path("t.jsonl")).size()));
        CHECK(c.sent == 0);
        CHECK(c.failed + c.dropped == c.recorded);
        CHECK(r.err.find("retrying") != std::string::npos);
        // the flush at the end is bounded by the timeout
        CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(15));
    }
}

TEST_CASE("bad OTEL_* values and OTLP flags: one-line usage errors, exit code 2", "[root][otlp]")
{
    TempDir tmp;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_PROTOCOL 'grpc' is not supported"},
        {"OTEL_EXPORTER_OTLP_COMPRESSION=brotli", "OTEL_EXPORTER_OTLP_COMPRESSION 'brotli'"},
        {"OTEL_EXPORTER_OTLP_TIMEOUT=-5", "OTEL_EXPORTER_OTLP_TIMEOUT '-5'"},
        {"OTEL_EXPORTER_OTLP_HEADERS=Authorization", "OTEL_EXPORTER_OTLP_HEADERS"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT=localhost:4318", "not an http:// or https:// URL"},
        {"OTEL_BSP_MAX_QUEUE_SIZE=lots", "OTEL_BSP_MAX_QUEUE_SIZE"},
    };
    for (const auto& [var, needle] : cases) {
        const RunResult r =
            run({"/usr/bin/env", var, LSTRACE_BIN, "record", "-o", tmp.path("t.jsonl"), "--otlp",
                 "--", WORKLOADS_BIN, "rate", tmp.path("truth.json"), "1"});
        CHECK(r.exit_code == 2);
        check_one_line_error(r, needle);
        CHECK(::access(tmp.path("t.jsonl").c_str(), F_OK) != 0);  // nothing recorded
        if (var.rfind("OTEL_EXPORTER_OTLP_ENDPOINT", 0) == 0)
            continue;  // export's --endpoint wins over the variable
        const RunResult e =
            run({"/usr/bin/env", var, LSTRACE_BIN, "export", "--format", "otlp", "--endpoint",
                 "http://127.0.0.1:9", FIXTURES_DIR "/analysis_spans.jsonl"});
        CHECK(e.exit_code == 2);
        check_one_line_error(e, needle);
    }
    const RunResult g =
        run({LSTRACE_BIN, "record", "--otlp", "--genai", "llm=generate", "--", "/bin/true"});
    CHECK(g.exit_code == 2);
    check_one_line_error(g, "unknown GenAI operation 'generate'");
}
