// OTLP export without a network: configuration from flags and OTEL_*
// variables, the mapping of trace records to OTLP spans, the OTLP/JSON
// form, and the exporter's queue, retries and counts with a scripted
// transport.  (The integration tests send real requests to a receiver that
// decodes them with the OpenTelemetry JavaScript packages.)
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "base/errors.hpp"
#include "otlp/otlp_config.hpp"
#include "otlp/otlp_encoding.hpp"
#include "otlp/otlp_exporter.hpp"
#include "otlp/otlp_mapping.hpp"

using namespace lstrace;
using namespace lstrace::otlp;
using json = nlohmann::json;

namespace {

EnvLookup env_of(std::map<std::string, std::string> vars)
{
    auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
    return [shared](const char* name) -> const char* {
        auto it = shared->find(name);
        return it == shared->end() ? nullptr : it->second.c_str();
    };
}

std::string usage_message(const OtlpOptions& o, std::map<std::string, std::string> vars)
{
    try {
        resolve_config(o, env_of(std::move(vars)));
    } catch (const FatalError& e) {
        if (e.code() == ExitCode::usage)
            return e.what();
        return "wrong exit code";
    }
    return "";
}

const json kSpan = json::parse(
    R"({"timestamp":"2026-11-25T15:32:48.012001Z","trace_id":"69fbb5d1db836ee38046502cf7e43561","span_id":"ee4045c43720c403","parent_span_id":"98c4c9fd206caec7","component":"llm","operation":"generate","description":"Generating a reply","duration_ms":12.512273,"tags":{"model":"claude-3-haiku","prompt_tokens":2257,"completion_tokens":40,"temperature":0.3,"success":false,"error_type":"RateLimitError","error_message":"429 Too Many Requests","list":[1,"a"],"dict":{"k":true}},"metadata":{"thread_id":"8745","process_id":"8745","memory_usage":30449664,"cpu_usage":1.5,"tracer":"langswarm.llm"},"resources":{"cpu_time_ms":0.193909,"offcpu_time_ms":12.318364,"read_bytes":4096,"peak_rss_bytes":null},"record_type":"span"})");

const pb_common::AnyValue* attribute(const pb_trace::Span& s, const std::string& key)
{
    for (const auto& kv : s.attributes())
        if (kv.key() == key)
            return &kv.value();
    return nullptr;
}

}  // namespace

TEST_CASE("OTLP endpoint: flag, traces variable as given, base variable plus /v1/traces", "[otlp]")
{
    OtlpOptions o;
    CHECK(resolve_config(o, env_of({})).url == "http://localhost:4318/v1/traces");
    CHECK(resolve_config(o, env_of({{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4318/"}})).url ==
          "https://c:4318/v1/traces");
    CHECK(resolve_config(o, env_of({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/otlp"}})).url ==
          "http://c:4318/otlp/v1/traces");
    CHECK(resolve_config(o, env_of({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a"},
                                    {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b/custom"}}))
              .url == "http://b/custom");
    o.endpoint = "http://flag:1234";
    o.endpoint_flag = "--otlp";
    CHECK(resolve_config(o, env_of({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b/x"}})).url ==
          "http://flag:1234/v1/traces");
    o.endpoint = "http://flag:1234/api/public/otel/v1/traces";
    CHECK(resolve_config(o, env_of({})).url == "http://flag:1234/api/public/otel/v1/traces");
}

TEST_CASE("OTLP settings from OTEL_* variables", "[otlp]")
{
    const Config c = resolve_config(
        {},
        env_of({{"OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Basic%20abc%3D, x-a = 1"},
                {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "X-A=2"},
                {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
                {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
                {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
                {"OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,service.name=fromattrs"},
                {"OTEL_BSP_MAX_QUEUE_SIZE", "100"},
                {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"}}));
    CHECK(c.headers == KeyValues{{"Authorization", "Basic abc="}, {"x-a", "2"}});
    CHECK(c.protocol == Protocol::json);
    CHECK(c.gzip);
    CHECK(c.timeout == std::chrono::milliseconds(2500));
    CHECK(c.service_name == "fromattrs");
    CHECK(c.max_queue_size == 100);
    CHECK(c.max_batch_size == 10);
    CHECK(resolve_config({}, env_of({{"OTEL_SERVICE_NAME", "svc"},
                                     {"OTEL_RESOURCE_ATTRIBUTES", "service.name=x"}}))
              .service_name == "svc");
    OtlpOptions flag;
    flag.protocol = "http/protobuf";
    CHECK(resolve_config(flag, env_of({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}})).protocol ==
          Protocol::protobuf);
}

TEST_CASE("bad OTEL_* values and flags are usage errors naming them", "[otlp]")
{
    const OtlpOptions none;
    CHECK_THAT(usage_message(none, {{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}}),
               Catch::Contains("OTEL_EXPORTER_OTLP_PROTOCOL 'grpc' is not supported"));
    CHECK_THAT(usage_message(none, {{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift"}}),
               Catch::Contains("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL 'thrift'"));
    CHECK_THAT(usage_message(none, {{"OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"}}),
               Catch::Contains("expected gzip or none"));
    CHECK_THAT(usage_message(none, {{"OTEL_EXPORTER_OTLP_TIMEOUT", "10s"}}),
               Catch::Contains("OTEL_EXPORTER_OTLP_TIMEOUT '10s'"));
    CHECK_THAT(usage_message(none, {{"OTEL_EXPORTER_OTLP_HEADERS", "Authorization"}}),
               Catch::Contains("'Authorization' is not key=value"));
    CHECK_THAT(usage_message(none, {{"OTEL_EXPORTER_OTLP_HEADERS", "a=%zz"}}),
               Catch::Contains("bad percent escape"));
    CHECK_THAT(usage_message(none, {{"OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"}}),
               Catch::Contains("not an http:// or https:// URL"));
    CHECK_THAT(
        usage_message(none, {{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://:4318/v1/traces"}}),
        Catch::Contains("has no host"));
    CHECK_THAT(usage_message(none, {{"OTEL_RESOURCE_ATTRIBUTES", "=x"}}),
               Catch::Contains("OTEL_RESOURCE_ATTRIBUTES"));
    CHECK_THAT(usage_message(none, {{"OTEL_BSP_MAX_QUEUE_SIZE", "0"}}),
               Catch::Contains("OTEL_BSP_MAX_QUEUE_SIZE"));
    CHECK_THAT(usage_message(none, {{"OTEL_BSP_MAX_QUEUE_SIZE", "10"},
                                    {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20"}}),
               Catch::Contains("exceeds"));
    OtlpOptions bad_flag;
    bad_flag.endpoint = "ftp://x";
    bad_flag.endpoint_flag = "--otlp";
    CHECK_THAT(usage_message(bad_flag, {}), Catch::Contains("--otlp 'ftp://x'"));
    OtlpOptions genai;
    genai.genai = "llm=generate";
    CHECK_THAT(usage_message(genai, {}), Catch::Contains("unknown GenAI operation 'generate'"));
    CHECK(usage_message(none, {{"OTEL_EXPORTER_OTLP_COMPRESSION", "none"}}).empty());
}

TEST_CASE("a span record maps to an OTLP span: ids, times, status, attributes, GenAI", "[otlp]")
{
    MappingSettings settings;
    settings.genai = default_genai_rules();
    SpanMapper mapper(settings);
    json error_event = {
        {"timestamp", "2026-11-25T15:32:48.020000Z"},
        {"trace_id", kSpan["trace_id"]},
        {"span_id", "ee4045c43720c403"},
        {"component", "llm"},
        {"operation", "error"},
        {"description", "Error occurred"},
        {"tags",
         {{"error_type", "RateLimitError"}, {"error_message", "429"}, {"severity", "warning"}}},
        {"stack_trace", json::array({{{"address", "0x1"},
                                      {"object", "/bin/app"},
                                      {"offset", "0x10"},
                                      {"function", "main"},
                                      {"function_offset", 4}}})},
        {"metadata", {{"thread_id", "8745"}, {"process_id", "8745"}}},
        {"record_type", "error"}};
    CHECK(mapper.add(error_event) == SpanMapper::Kind::event);
    CHECK(mapper.add(kSpan) == SpanMapper::Kind::span);
    const auto req = mapper.take_request();
    REQUIRE(req.resource_spans_size() == 1);
    const auto& rs = req.resource_spans(0);
    REQUIRE(rs.scope_spans_size() == 1);
    CHECK(rs.scope_spans(0).scope().name() == "langswarm.llm");
    const pb_trace::Span& s = rs.scope_spans(0).spans(0);
    CHECK(s.trace_id() == hex_to_bytes("69fbb5d1db836ee38046502cf7e43561", 16));
    CHECK(s.span_id().size() == 8);
    CHECK(static_cast<unsigned char>(s.span_id()[0]) == 0xee);
    CHECK(s.parent_span_id() == hex_to_bytes("98c4c9fd206caec7", 8));
    CHECK(s.name() == "chat claude-3-haiku");
    CHECK(s.kind() == pb_trace::Span::SPAN_KIND_INTERNAL);
    CHECK(s.start_time_unix_nano() == 1795620768012001000ull);
    CHECK(s.end_time_unix_nano() - s.start_time_unix_nano() == 12512273ull);
    CHECK(s.status().code() == pb_trace::Status::STATUS_CODE_ERROR);
    CHECK(s.status().message() == "429 Too Many Requests");
    CHECK(attribute(s, "gen_ai.operation.name")->string_value() == "chat");
    CHECK(attribute(s, "gen_ai.request.model")->string_value() == "claude-3-haiku");
    CHECK(attribute(s, "gen_ai.usage.input_tokens")->int_value() == 2257);
    CHECK(attribute(s, "gen_ai.usage.output_tokens")->int_value() == 40);
    CHECK(attribute(s, "lstrace.cpu_time_ms")->double_value() == 0.193909);
    CHECK(attribute(s, "lstrace.offcpu_time_ms")->double_value() == 12.318364);
    CHECK(attribute(s, "lstrace.io.read_bytes")->int_value() == 4096);
    CHECK(attribute(s, "lstrace.peak_rss_bytes") == nullptr);  // null: left out
    CHECK(attribute(s, "thread.id")->int_value() == 8745);
    CHECK(attribute(s, "lstrace.memory_usage_bytes")->int_value() == 30449664);
    CHECK(attribute(s, "model")->string_value() == "claude-3-haiku");
    CHECK(attribute(s, "list")->array_value().values(1).string_value() == "a");
    CHECK(attribute(s, "dict")->kvlist_value().values(0).value().bool_value());
    REQUIRE(s.events_size() == 1);  // the error event; no second exception event
    CHECK(s.events(0).name() == "exception");
    const auto* st = &s.events(0).attributes();
    bool has_stack = false;
    for (const auto& kv : *st)
        if (kv.key() == "exception.stacktrace")
            has_stack = kv.value().string_value() == "  at main+4 (/bin/app 0x10)\n";
    CHECK(has_stack);
    // resource: the tracer's root as service name, the process id
    std::map<std::string, std::string> res;
    for (const auto& kv : rs.resource().attributes())
        res[kv.key()] = kv.value().has_string_value() ? kv.value().string_value()
                                                      : std::to_string(kv.value().int_value());
    CHECK(res["service.name"] == "langswarm");
    CHECK(res["process.pid"] == "8745");
    CHECK(res["telemetry.sdk.name"] == "lstrace-bpf");
    CHECK(mapper.batched_spans() == 0);
    CHECK(mapper.counts().events_attached == 1);
}

TEST_CASE("GenAI mapping is configurable; aborted spans are errors; other names stay", "[otlp]")
{
    MappingSettings settings;
    settings.genai = {{"memory", GenAiOperation::execute_tool}};
    settings.service_name = "svc";
    SpanMapper mapper(settings);
    json span = kSpan;
    span["component"] = "memory";
    span["operation"] = "store";
    span["tags"] = {{"success", false}, {"aborted", true}, {"abort_reason", "exit status 3"}};
    span["resources"] = nullptr;
    mapper.add(span);
    span["component"] = "llm";
    span["span_id"] = "0000000000000001";
    mapper.add(span);
    const auto req = mapper.take_request();
    const auto& spans = req.resource_spans(0).scope_spans(0).spans();
    REQUIRE(spans.size() == 2);
    CHECK(spans[0].name() == "execute_tool store");
    CHECK(spans[0].status().code() == pb_trace::Status::STATUS_CODE_ERROR);
    CHECK(spans[0].status().message() == "aborted: exit status 3");
    CHECK(attribute(spans[0], "lstrace.aborted")->bool_value());
    CHECK(spans[1].name() == "llm.store");  // llm is not in this map
    CHECK(req.resource_spans(0).resource().attributes(0).value().string_value() == "svc");
}

TEST_CASE("events wait for their span, bounded; events outside spans are counted", "[otlp]")
{
    MappingSettings settings;
    settings.max_waiting_events = 3;
    SpanMapper mapper(settings);
    json ev = {{"timestamp", "2026-11-25T15:32:48.020000Z"},
               {"component", "agent"},
               {"tags", {{"from_state", "a"}}},
               {"record_type", "state_change"}};
    for (int i = 0; i < 5; ++i) {
        ev["span_id"] = "000000000000000" + std::to_string(i);
        mapper.add(ev);
    }
    ev["span_id"] = nullptr;
    mapper.add(ev);
    mapper.finish();
    CHECK(mapper.counts().events_unmatched == 5);  // 2 pushed out, 3 never matched
    CHECK(mapper.counts().events_outside_spans == 1);
}

TEST_CASE("OTLP/JSON: hex ids, integer enums, 64-bit integers as strings", "[otlp]")
{
    SpanMapper mapper(MappingSettings{});
    mapper.add(kSpan);
    const json j = json::parse(to_otlp_json(mapper.take_request()));
    const json& s = j["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    CHECK(s["traceId"] == "69fbb5d1db836ee38046502cf7e43561");
    CHECK(s["spanId"] == "ee4045c43720c403");
    CHECK(s["parentSpanId"] == "98c4c9fd206caec7");
    CHECK(s["kind"] == 1);
    CHECK(s["startTimeUnixNano"] == "1795620768012001000");
    CHECK(s["status"]["code"] == 2);
    bool saw_int = false;
    for (const json& a : s["attributes"])
        if (a["key"] == "lstrace.io.read_bytes")
            saw_int = a["value"] == json{{"intValue", "4096"}};
    CHECK(saw_int);
}

TEST_CASE("gzip output is a gzip stream; Retry-After in seconds or as a date", "[otlp]")
{
    const std::string z = gzip(std::string(1000, 'a'));
    REQUIRE(z.size() > 10);
    CHECK(static_cast<unsigned char>(z[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(z[1]) == 0x8b);
    CHECK(z.size() < 100);
    CHECK(parse_retry_after("3") == std::chrono::seconds(3));
    CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == std::chrono::seconds(0));  // past
    CHECK(parse_retry_after("soon").count() < 0);
}

namespace {

// Answers from a script; "hang" waits until the deadline or the abort.
class ScriptedTransport : public Transport {
public:
    explicit ScriptedTransport(std::vector<SendOutcome> script) : script_(std::move(script)) {}
    SendOutcome send(const pb_collector::ExportTraceServiceRequest& request,
                     Clock::time_point deadline, const std::atomic<bool>& abort) override
    {
        std::size_t spans = 0;
        for (const auto& rs : request.resource_spans())
            for (const auto& ss : rs.scope_spans())
                spans += static_cast<std::size_t>(ss.spans_size());
        std::size_t n;
        {
            std::lock_guard<std::mutex> lk(mu_);
            n = calls_.size();
            calls_.push_back({Clock::now(), spans});
        }
        if (hang_) {
            while (!abort && Clock::now() < deadline)
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            return {SendOutcome::retryable, 0, std::chrono::milliseconds(-1), "no answer"};
        }
        return n < script_.size() ? script_[n] : SendOutcome{};
    }
    std::string describe() const override { return "scripted"; }
    struct Call {
        Clock::time_point at;
        std::size_t spans;
    };
    std::vector<Call> calls() const
    {
        std::lock_guard<std::mutex> lk(mu_);
        return calls_;
    }
    bool hang_ = false;

private:
    std::vector<SendOutcome> script_;
    mutable std::mutex mu_;
    std::vector<Call> calls_;
};

Config small_config()
{
    Config c;
    c.max_queue_size = 64;
    c.max_batch_size = 16;
    c.schedule_delay = std::chrono::milliseconds(50);
    c.timeout = std::chrono::milliseconds(3000);
    return c;
}

void offer_spans(Exporter& e, int n)
{
    for (int i = 0; i < n; ++i) {
        json s = kSpan;
        char id[17];
        std::snprintf(id, sizeof id, "%016x", i + 1);
        s["span_id"] = id;
        e.offer_line(s.dump(), true);
    }
}

}  // namespace

TEST_CASE("exporter: Retry-After is waited for, then everything is sent", "[otlp]")
{
    auto transport = std::make_unique<ScriptedTransport>(std::vector<SendOutcome>{
        {SendOutcome::retryable, 0, std::chrono::milliseconds(400), "HTTP 503"}});
    ScriptedTransport* t = transport.get();
    Exporter e(small_config(), MappingSettings{}, std::move(transport), Exporter::WhenFull::wait);
    e.start();
    offer_spans(e, 40);
    e.finish();
    const ExportCounts c = e.counts();
    CHECK(c.offered == 40);
    CHECK(c.sent == 40);
    CHECK(c.failed + c.dropped == 0);
    const auto calls = t->calls();
    REQUIRE(calls.size() >= 2);
    CHECK(calls[1].at - calls[0].at >= std::chrono::milliseconds(400));
    CHECK(calls[1].spans == calls[0].spans);  // the same batch again
}

TEST_CASE("exporter: a refused request is not retried; its spans count as failed", "[otlp]")
{
    std::vector<SendOutcome> script(
        100, SendOutcome{SendOutcome::rejected, 0, std::chrono::milliseconds(-1), "HTTP 400"});
    auto transport = std::make_unique<ScriptedTransport>(script);
    ScriptedTransport* t = transport.get();
    Exporter e(small_config(), MappingSettings{}, std::move(transport), Exporter::WhenFull::wait);
    e.start();
    offer_spans(e, 32);
    e.finish();
    const ExportCounts c = e.counts();
    CHECK(c.sent == 0);
    CHECK(c.failed == 32);
    CHECK(c.dropped == 0);
    CHECK(t->calls().size() == 2);  // two batches of 16, once each
}

TEST_CASE("exporter: a hanging receiver never blocks offers; counts add up exactly", "[otlp]")
{
    auto transport = std::make_unique<ScriptedTransport>(std::vector<SendOutcome>{});
    transport->hang_ = true;
    Config config = small_config();
    config.timeout = std::chrono::milliseconds(300);
    Exporter e(config, MappingSettings{}, std::move(transport), Exporter::WhenFull::drop);
    e.start();
    const auto before = Clock::now();
    offer_spans(e, 5000);
    CHECK(Clock::now() - before < std::chrono::milliseconds(2000));  // no waiting on the network
    e.finish();
    const ExportCounts c = e.counts();
    CHECK(c.offered == 5000);
    CHECK(c.sent == 0);
    CHECK(c.dropped > 4000);
    CHECK(c.sent + c.failed + c.dropped == 5000);
}
