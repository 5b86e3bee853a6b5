#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "base/hex_id.hpp"
#include "lstrace/probe_abi.h"
#include "output/trace_format.hpp"

using namespace lstrace;
using nlohmann::json;

namespace {

std::string to_json_line(const SpanRecord& s, std::int64_t realtime_offset_ns)
{
    std::string line;
    append_json_line(line, s, realtime_offset_ns);
    return line;
}

SpanRecord sample_span()
{
    SpanRecord s;
    s.tgid = 67890;
    s.tid = 12345;
    s.span_id = 0xdef456;
    s.parent_span_id = 0;
    s.trace_id_hi = 0xabc;
    s.trace_id_lo = 0x123;
    s.begin_ns = 1'000'000'000;
    s.end_ns = 1'012'500'000;  // 12.5 ms
    s.tracer = "langswarm.agent";
    s.component = "agent";
    s.operation = "generate";
    s.description = "Generating a reply";
    s.tags = {{"model", std::string("small")}, {"tokens", std::int64_t{128}}};
    s.resources.oncpu_ns = 2'500'000;  // 2.5 ms
    s.resources.minor_faults = 7;
    s.resources.write_bytes = 4096;
    s.resources.rss_bytes = 2 * 1024 * 1024;
    s.rss_end_bytes = 156789;
    return s;
}

}  // namespace

TEST_CASE("timestamps are ISO 8601 UTC with microseconds", "[format]")
{
    // 2025-01-15T10:30:45.123456Z
    CHECK(format_timestamp(1736937045123456789LL) == "2025-01-15T10:30:45.123456Z");
    CHECK(format_timestamp(0) == "1970-01-01T00:00:00.000000Z");
}

TEST_CASE("execution time categories follow the standard's thresholds", "[format]")
{
    CHECK(std::string(execution_time_category(0.999)) == "very_fast");
    CHECK(std::string(execution_time_category(1.0)) == "fast");
    CHECK(std::string(execution_time_category(9.99)) == "fast");
    CHECK(std::string(execution_time_category(10.0)) == "normal");
    CHECK(std::string(execution_time_category(99.9)) == "normal");
    CHECK(std::string(execution_time_category(100.0)) == "slow");
    CHECK(std::string(execution_time_category(999.9)) == "slow");
    CHECK(std::string(execution_time_category(1000.0)) == "very_slow");
}

TEST_CASE("memory categories follow the standard's thresholds", "[format]")
{
    CHECK(std::string(memory_category(-5000)) == "minimal");
    CHECK(std::string(memory_category(1023)) == "minimal");
    CHECK(std::string(memory_category(1024)) == "small");
    CHECK(std::string(memory_category(1024 * 1024)) == "moderate");
    CHECK(std::string(memory_category(10 * 1024 * 1024)) == "large");
    CHECK(std::string(memory_category(100 * 1024 * 1024)) == "very_large");
}

TEST_CASE("ids are zero-padded lower-case hex of W3C sizes", "[format]")
{
    CHECK(hex_id(0xabc) == "0000000000000abc");
    CHECK(hex_trace_id(0x1, 0xff).size() == 32);
    CHECK(hex_trace_id(0x1, 0xff) == "000000000000000100000000000000ff");
}

TEST_CASE("a JSON tag is written as its JSON value", "[format]")
{
    SpanRecord span = sample_span();
    span.tags.push_back({"stop", JsonText{"[\"a\",{\"b\":null}]"}});
    const json j = json::parse(to_json_line(span, 0));
    CHECK(j["tags"]["stop"] == json::parse("[\"a\",{\"b\":null}]"));
}

TEST_CASE("a successful span becomes the standard's structured trace event", "[format]")
{
    const json j = json::parse(to_json_line(sample_span(), 1'700'000'000'000'000'000LL));
    CHECK(j["timestamp"] == format_timestamp(1'700'000'001'000'000'000LL));
    CHECK(j["trace_id"] == "0000000000000abc0000000000000123");
    CHECK(j["span_id"] == "0000000000def456");
    CHECK(j["parent_span_id"].is_null());
    CHECK(j["component"] == "agent");
    CHECK(j["operation"] == "generate");
    CHECK(j["description"] == "Generating a reply");
    CHECK(j["duration_ms"].get<double>() == Approx(12.5));
    CHECK(j["tags"]["model"] == "small");
    CHECK(j["tags"]["tokens"] == 128);
    CHECK(j["tags"]["success"] == true);
    CHECK(j["tags"]["execution_time_category"] == "normal");
    CHECK(j["tags"]["memory_category"] == "moderate");
    CHECK_FALSE(j["tags"].contains("error_type"));
    CHECK(j["metadata"]["thread_id"] == "12345");
    CHECK(j["metadata"]["process_id"] == "67890");
    CHECK(j["metadata"]["memory_usage"] == 156789);
    CHECK(j["metadata"]["cpu_usage"].get<double>() == Approx(20.0));
    CHECK(j["metadata"]["tracer"] == "langswarm.agent");
    CHECK(j["resources"]["cpu_time_ms"].get<double>() == Approx(2.5));
    CHECK(j["resources"]["offcpu_time_ms"].get<double>() == Approx(10.0));
    CHECK(j["resources"]["minor_faults"] == 7);
    CHECK(j["resources"]["write_bytes"] == 4096);
    CHECK(j["resources"]["rss_delta_bytes"] == 2 * 1024 * 1024);
}

TEST_CASE("record fields keep the standard's order in the line", "[format]")
{
    const std::string line = to_json_line(sample_span(), 0);
    CHECK(line.rfind("{\"timestamp\":", 0) == 0);
    CHECK(line.back() == '\n');
    CHECK(line.find("\"trace_id\"") < line.find("\"span_id\""));
    CHECK(line.find("\"tags\"") < line.find("\"metadata\""));
    CHECK(line.find("\"metadata\"") < line.find("\"resources\""));
}

TEST_CASE("a failed span carries success=false, error_type and error_message", "[format]")
{
    SpanRecord s = sample_span();
    s.status = LSTRACE_STATUS_ERROR;
    s.parent_span_id = 0x42;
    s.errors = {{"FirstError", "first"}, {"ConfigurationError", "Invalid configuration format"}};
    const json j = json::parse(to_json_line(s, 0));
    CHECK(j["parent_span_id"] == "0000000000000042");
    CHECK(j["tags"]["success"] == false);
    CHECK(j["tags"]["error_type"] == "ConfigurationError");
    CHECK(j["tags"]["error_message"] == "Invalid configuration format");
    CHECK(j["tags"]["error_count"] == 2);
}

TEST_CASE("a span ended by an exception is a failure", "[format]")
{
    SpanRecord s = sample_span();
    s.status = LSTRACE_STATUS_EXCEPTION;
    const json j = json::parse(to_json_line(s, 0));
    CHECK(j["tags"]["success"] == false);
    CHECK(j["tags"]["exception_unwinding"] == true);
}

TEST_CASE("tags of every type keep their JSON type", "[format]")
{
    SpanRecord s = sample_span();
    s.tags = {{"d", 0.25}, {"b", false}, {"i", std::int64_t{-7}}, {"s", std::string("x")}};
    const json j = json::parse(to_json_line(s, 0));
    CHECK(j["tags"]["d"].is_number_float());
    CHECK(j["tags"]["d"].get<double>() == 0.25);
    CHECK(j["tags"]["b"].is_boolean());
    CHECK(j["tags"]["i"] == -7);
    CHECK(j["tags"]["s"] == "x");
}

TEST_CASE("invalid UTF-8 in strings still gives valid JSON", "[format]")
{
    SpanRecord s = sample_span();
    s.description = std::string("bad \xff\xfe bytes");
    s.tags = {{"k\xc3", std::string("\x80v")}};
    const std::string line = to_json_line(s, 0);
    json j;
    REQUIRE_NOTHROW(j = json::parse(line));
    CHECK(j["description"].get<std::string>().find("bad ") == 0);
}

TEST_CASE("missing figures are null, never invented", "[format]")
{
    SpanRecord s = sample_span();
    s.flags = LSTRACE_F_NO_ONCPU;
    json j = json::parse(to_json_line(s, 0));
    CHECK(j["resources"]["cpu_time_ms"].is_null());
    CHECK(j["metadata"]["cpu_usage"].is_null());
    CHECK(j["resources"]["minor_faults"] == 7);

    s.flags = LSTRACE_F_NO_BEGIN;
    j = json::parse(to_json_line(s, 0));
    CHECK(j["resources"].is_null());
    CHECK_FALSE(j["tags"].contains("memory_category"));
}

TEST_CASE("per-task figures are flagged, per-thread ones are not", "[format]")
{
    SpanRecord s = sample_span();
    s.flags = LSTRACE_F_PER_TASK;
    CHECK(json::parse(to_json_line(s, 0))["resources"]["per_task"] == true);
    s.flags = 0;
    CHECK_FALSE(json::parse(to_json_line(s, 0))["resources"].contains("per_task"));
}

TEST_CASE("truncated strings are flagged", "[format]")
{
    SpanRecord s = sample_span();
    s.flags = LSTRACE_F_TRUNCATED;
    const json j = json::parse(to_json_line(s, 0));
    CHECK(j["metadata"]["truncated"] == true);
}

TEST_CASE("records and docs/trace-record.schema.json name the same fields", "[format]")
{
    std::ifstream in(SCHEMA_FILE);
    REQUIRE(in);
    const json schema = json::parse(in);
    SpanRecord s = sample_span();
    s.status = LSTRACE_STATUS_ERROR;
    s.errors = {{"A", "a"}, {"B", "b"}};
    s.flags = LSTRACE_F_TRUNCATED | LSTRACE_F_PER_TASK | LSTRACE_F_RSS_OTHER_THREADS;
    const json j = json::parse(to_json_line(s, 0));

    // every required field is produced, and nothing the schema does not know
    auto check_object = [](const json& value, const json& sch, const std::string& where) {
        for (const auto& key : sch["required"])
            CHECK(value.contains(key.get<std::string>()));
        if (sch.contains("additionalProperties") && sch["additionalProperties"] == false)
            for (const auto& item : value.items()) {
                INFO(where << "." << item.key());
                CHECK(sch["properties"].contains(item.key()));
            }
    };
    check_object(j, schema, "record");
    check_object(j["metadata"], schema["properties"]["metadata"], "metadata");
    check_object(j["resources"], schema["properties"]["resources"], "resources");
    s.flags = LSTRACE_F_THREAD_CHANGED;
    s.ns_tgid = 1;
    s.ns_tid = 1;
    const json moved = json::parse(to_json_line(s, 0));
    CHECK(moved["metadata"]["ns_process_id"] == "1");
    check_object(moved["metadata"], schema["properties"]["metadata"], "metadata");
    for (const char* tag : {"success", "error_type", "error_message", "error_count",
                            "execution_time_category", "memory_category"}) {
        INFO(tag);
        CHECK(j["tags"].contains(tag));
        CHECK(schema["properties"]["tags"]["properties"].contains(tag));
    }
}

TEST_CASE("the recorder's own tags replace application tags of the same name", "[format]")
{
    SpanRecord s = sample_span();
    s.tags.push_back({"success", true});  // the standard's decorator sets it too
    s.tags.push_back({"execution_time_category", std::string("mine")});
    s.status = LSTRACE_STATUS_ERROR;
    const std::string line = to_json_line(s, 0);
    std::size_t count = 0;
    for (std::size_t p = line.find("\"success\""); p != std::string::npos;
         p = line.find("\"success\"", p + 1))
        ++count;
    CHECK(count == 1);
    const json j = json::parse(line);
    CHECK(j["tags"]["success"] == false);
    CHECK(j["tags"]["execution_time_category"] == "normal");
    CHECK(j["tags"]["model"] == "small");
}

TEST_CASE("a span ended on another thread reports no per-thread figures", "[format]")
{
    SpanRecord s = sample_span();
    s.flags = LSTRACE_F_THREAD_CHANGED;
    s.resources.minor_faults = static_cast<std::uint64_t>(-1913);  // two threads' counters
    const json j = json::parse(to_json_line(s, 0));
    CHECK(j["metadata"]["ended_on_other_thread"] == true);
    CHECK(j["resources"].is_null());
    CHECK(j["metadata"]["cpu_usage"].is_null());
    CHECK_FALSE(j["tags"].contains("memory_category"));
}

TEST_CASE("an aborted span is a failure with its reason and no end figures", "[format]")
{
    SpanRecord s = sample_span();
    s.aborted = true;
    s.abort_reason = "killed by signal SIGKILL";
    const json j = json::parse(to_json_line(s, 0));
    CHECK(j["tags"]["success"] == false);
    CHECK(j["tags"]["aborted"] == true);
    CHECK(j["tags"]["abort_reason"] == "killed by signal SIGKILL");
    CHECK(j["resources"].is_null());
    CHECK(j["duration_ms"].get<double>() == Approx(12.5));
}

TEST_CASE("event records and docs/event-record.schema.json name the same fields", "[format]")
{
    std::ifstream in(EVENT_SCHEMA_FILE);
    REQUIRE(in);
    const json schema = json::parse(in);
    EventRecord e;
    e.record_type = "error";
    e.tgid = 10;
    e.tid = 11;
    e.ts_ns = 5;
    e.span_id = 0x42;
    e.trace_id_hi = 1;
    e.trace_id_lo = 2;
    e.component = "llm";
    e.description = "Error occurred: E";
    e.tags = {{"error_type", std::string("E")}, {"attempt", std::int64_t{2}}};
    e.flags = LSTRACE_F_TRUNCATED;
    e.redactions = 1;
    e.frames = {Frame{0x1000, "/bin/x", 0x10, "main", 4}, Frame{0x2000, "", 0, "", 0}};
    e.stack_note = "stack may be incomplete";
    std::string line;
    append_event_json_line(line, e, 0);
    REQUIRE(line.back() == '\n');
    const json j = json::parse(line);
    for (const auto& key : schema["required"])
        CHECK(j.contains(key.get<std::string>()));
    for (const auto& item : j.items()) {
        INFO(item.key());
        CHECK(schema["properties"].contains(item.key()));
    }
    for (const auto& item : j["metadata"].items()) {
        INFO("metadata." << item.key());
        CHECK(schema["properties"]["metadata"]["properties"].contains(item.key()));
    }
    const auto& types = schema["properties"]["record_type"]["enum"];
    CHECK(std::find(types.begin(), types.end(), j["record_type"]) != types.end());
    CHECK(j["operation"] == "error");
    CHECK(j["span_id"] == "0000000000000042");
    CHECK(j["tags"]["attempt"] == 2);
    CHECK(j["stack_trace"][0]["address"] == "0x1000");
    CHECK(j["stack_trace"][0]["function"] == "main");
    CHECK(j["stack_trace"][1]["function"].is_null());
    // the standard's fields first, record_type last
    CHECK(line.rfind("{\"timestamp\":", 0) == 0);
    CHECK(line.find("\"record_type\":\"error\"}") != std::string::npos);

    // outside any span, no trace: nulls; details are embedded JSON
    EventRecord p;
    p.record_type = "process_info";
    p.tgid = 3;
    p.details_json = R"({"hostname":"h"})";
    line.clear();
    append_event_json_line(line, p, 0);
    const json k = json::parse(line);
    CHECK(k["span_id"].is_null());
    CHECK(k["trace_id"].is_null());
    CHECK_FALSE(k["metadata"].contains("thread_id"));
    CHECK(k["details"]["hostname"] == "h");
}
