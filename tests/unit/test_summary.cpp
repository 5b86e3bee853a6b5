#include <catch2/catch.hpp>

#include <sstream>

#include "analysis/trace_summary.hpp"

using namespace lstrace;

TEST_CASE("nearest-rank percentiles", "[summary]")
{
    CHECK(percentile({}, 50) == 0.0);
    CHECK(percentile({5.0}, 95) == 5.0);
    CHECK(percentile({4, 1, 3, 2}, 50) == 2.0);
    CHECK(percentile({4, 1, 3, 2}, 95) == 4.0);
    CHECK(percentile({4, 1, 3, 2}, 0) == 1.0);
}

TEST_CASE("records aggregate per component and operation", "[summary]")
{
    std::istringstream in(
        R"({"component":"llm","operation":"generate","duration_ms":10,"tags":{"success":true},"resources":{"cpu_time_ms":4,"offcpu_time_ms":6,"write_bytes":100,"minor_faults":2}})"
        "\n"
        R"({"component":"llm","operation":"generate","duration_ms":30,"tags":{"success":false},"resources":{"cpu_time_ms":1,"offcpu_time_ms":29,"write_bytes":0,"minor_faults":1}})"
        "\n\n"
        R"({"component":"tool","operation":"read","duration_ms":1,"tags":{"success":true},"resources":null})"
        "\n");
    TraceSummary s;
    REQUIRE(s.add_stream(in).ok());
    CHECK(s.records() == 3);
    const OperationStats& llm = s.operations().at({"llm", "generate"});
    CHECK(llm.spans == 2);
    CHECK(llm.failures == 1);
    CHECK(llm.total_ms == 40.0);
    CHECK(llm.cpu_ms == 5.0);
    CHECK(llm.offcpu_ms == 35.0);
    CHECK(llm.write_bytes == 100);
    CHECK(llm.minor_faults == 3);
    const std::string table = s.table();
    CHECK(table.find("llm.generate") < table.find("tool.read"));  // busiest first
}

TEST_CASE("a malformed trace line is reported with its number", "[summary]")
{
    std::istringstream bad_json(
        "{\"component\":\"a\",\"operation\":\"b\",\"duration_ms\":1}\n{oops\n");
    TraceSummary s;
    auto r = s.add_stream(bad_json);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "line 2: invalid JSON");

    std::istringstream not_record("[1,2,3]\n");
    TraceSummary s2;
    auto r2 = s2.add_stream(not_record);
    REQUIRE_FALSE(r2.ok());
    CHECK(r2.error().message.find("line 1: not a trace record") == 0);
}

TEST_CASE("event records are counted by type, not tabulated", "[summary]")
{
    lstrace::TraceSummary s;
    REQUIRE(
        s.add(nlohmann::json::parse(
                  R"({"record_type":"state_change","component":"a","operation":"state_change"})"))
            .ok());
    REQUIRE(s.add(nlohmann::json::parse(R"({"record_type":"error","component":"a"})")).ok());
    REQUIRE(s.add(nlohmann::json::parse(
                      R"({"record_type":"span","component":"a","operation":"b","duration_ms":2})"))
                .ok());
    CHECK(s.records() == 1);
    CHECK(s.operations().size() == 1);
    CHECK(s.events().at("state_change") == 1);
    CHECK(s.events().at("error") == 1);
    // a span record without a duration is still malformed
    CHECK_FALSE(s.add(nlohmann::json::parse(R"({"record_type":"span","component":"a"})")).ok());
}
