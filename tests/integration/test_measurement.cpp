// What a recorded span measures, checked against ground truth the test
// programs measure themselves: CPU, off-CPU, I/O, faults and RSS, names,
// nesting, errors, threads and the C API.

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "checks.hpp"
#include "process_helpers.hpp"

using nlohmann::json;
using namespace lstrace::test;

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

bool is_hex(const std::string& s, std::size_t len)
{
    return s.size() == len && std::all_of(s.begin(), s.end(), [](char c) {
               return std::isxdigit(static_cast<unsigned char>(c)) &&
                      !std::isupper(static_cast<unsigned char>(c));
           });
}

}  // namespace

TEST_CASE("records have the structured trace event format", "[root][record]")
{
    const Recording& rec = all_workloads();
    for (const json& r : rec.records) {
        INFO(r.dump());
        CHECK(is_hex(r["trace_id"], 32));
        CHECK(is_hex(r["span_id"], 16));
        CHECK((r["parent_span_id"].is_null() || is_hex(r["parent_span_id"], 16)));
        CHECK(r["timestamp"].get<std::string>().size() == 27);
        CHECK(r["duration_ms"].get<double>() >= 0);
        CHECK(r["tags"]["success"].is_boolean());
        CHECK(r["tags"]["execution_time_category"].is_string());
        CHECK(r["metadata"]["process_id"] == std::to_string(rec.truth["pid"].get<int>()));
        CHECK(r["metadata"]["thread_id"] == std::to_string(rec.truth["tid"].get<int>()));
        CHECK(r["metadata"]["memory_usage"].get<long>() > 0);
        CHECK(r["metadata"]["tracer"] == "tests.workloads");
        CHECK(r["resources"].is_object());
    }
}

TEST_CASE("on-CPU time of a CPU-bound span matches CLOCK_THREAD_CPUTIME_ID", "[root][record]")
{
    const Recording& rec = all_workloads();
    const json& r = find_op(rec.records, "cpu_burn");
    const double truth = rec.truth["cpu"]["cpu_ms"];
    const double cpu = r["resources"]["cpu_time_ms"];
    INFO("truth " << truth << " ms, recorded " << cpu << " ms");
    CHECK(cpu == Approx(truth).epsilon(0.10));
    CHECK(r["duration_ms"].get<double>() >= cpu);
    CHECK(r["metadata"]["cpu_usage"].get<double>() > 50.0);
    CHECK(r["tags"]["execution_time_category"] == "slow");
}

TEST_CASE("a sleeping span is off-CPU", "[root][record]")
{
    const Recording& rec = all_workloads();
    const json& r = find_op(rec.records, "sleep");
    INFO(r.dump());
    CHECK(r["resources"]["cpu_time_ms"].get<double>() < 5.0);
    CHECK(r["resources"]["offcpu_time_ms"].get<double>() >= 190.0);
    CHECK(r["resources"]["voluntary_ctx_switches"].get<long>() >= 1);
    CHECK(r["duration_ms"].get<double>() ==
          Approx(rec.truth["sleep"]["wall_ms"].get<double>()).epsilon(0.02));
}

TEST_CASE("bytes written and read through syscalls are counted per span", "[root][record]")
{
    const Recording& rec = all_workloads();
    const json& w = find_op(rec.records, "file_write");
    const json& rd = find_op(rec.records, "file_read");
    const double written = rec.truth["write"]["bytes"];
    const double read = rec.truth["read"]["bytes"];
    REQUIRE(written == 8 * kMiB);
    INFO(w.dump() << "\n" << rd.dump());
    CHECK(w["resources"]["write_bytes"].get<double>() == Approx(written).epsilon(0.02));
    CHECK(w["resources"]["write_syscalls"].get<long>() >=
          rec.truth["write"]["syscalls"].get<long>());
    CHECK(rd["resources"]["read_bytes"].get<double>() == Approx(read).epsilon(0.02));
    CHECK(rd["resources"]["read_syscalls"].get<long>() >=
          rec.truth["read"]["syscalls"].get<long>());
    // the reading span wrote nothing, the writing span read (almost) nothing
    CHECK(rd["resources"]["write_bytes"].get<double>() < 0.02 * written);
    CHECK(w["resources"]["read_bytes"].get<double>() < 0.02 * written);
}

TEST_CASE("touching fresh memory shows as faults and RSS growth", "[root][record]")
{
    const Recording& rec = all_workloads();
    const json& r = find_op(rec.records, "touch_memory");
    INFO(r.dump() << "\ntruth " << rec.truth["memory"].dump());
    // (16384 faults with 4 KiB pages; a kernel that backs the mapping with
    // transparent huge pages, as Debian's 6.1 does, takes a few hundred)
    CHECK(rec.truth["memory"]["minor_faults"].get<long>() >= 32);
    CHECK(r["resources"]["minor_faults"].get<double>() ==
          Approx(rec.truth["memory"]["minor_faults"].get<double>()).epsilon(0.02));
    CHECK(r["resources"]["rss_delta_bytes"].get<double>() >= 60 * kMiB);
    CHECK(r["tags"]["memory_category"] == "large");
}

TEST_CASE("RSS change is exact even for a few pages", "[root][record]")
{
    // 3 pages stay in the kernel's per-CPU counter parts: reading only the
    // global count (get_mm_counter) would show 0 here.
    const Recording& rec = all_workloads();
    const json& r = find_op(rec.records, "touch_pages");
    INFO(r.dump() << "\ntruth " << rec.truth["small_memory"].dump());
    CHECK(r["resources"]["minor_faults"] == rec.truth["small_memory"]["minor_faults"]);
    CHECK(r["resources"]["rss_delta_bytes"] == rec.truth["small_memory"]["bytes"]);
}

TEST_CASE("names that fill the probe buffer exactly are not flagged; longer ones are cut",
          "[root][record]")
{
    const Recording& rec = all_workloads();
    const json& fits = find_op(rec.records, "fits");
    const json& cut = find_op(rec.records, "cut");
    CHECK(fits["component"] == rec.truth["names"]["fits"]);
    CHECK_FALSE(fits["metadata"].contains("truncated"));
    CHECK(cut["component"] == rec.truth["names"]["cut_prefix"]);
    CHECK(cut["metadata"]["truncated"] == true);
}

TEST_CASE("nested spans share the trace and point at their parents", "[root][record]")
{
    const Recording& rec = all_workloads();
    const json& outer = find_op(rec.records, "run");
    const json& first = find_op(rec.records, "step", "first child");
    const json& second = find_op(rec.records, "step", "second child");
    const json& grandchild = find_op(rec.records, "generate");
    const json& thrower = find_op(rec.records, "throwing");
    CHECK(outer["parent_span_id"].is_null());
    for (const json* child : {&first, &second, &thrower}) {
        CHECK((*child)["parent_span_id"] == outer["span_id"]);
        CHECK((*child)["trace_id"] == outer["trace_id"]);
    }
    CHECK(grandchild["parent_span_id"] == first["span_id"]);
    CHECK(grandchild["trace_id"] == outer["trace_id"]);
    // separate root spans get separate traces
    CHECK(find_op(rec.records, "cpu_burn")["trace_id"] != outer["trace_id"]);

    CHECK(first["tags"]["model"] == "small");
    CHECK(first["tags"]["tokens"] == 128);
    CHECK(first["tags"]["temperature"] == 0.25);
    CHECK(first["tags"]["streaming"] == true);
    CHECK(first["tags"]["success"] == true);
    CHECK(outer["tags"]["steps"] == 2);
}

TEST_CASE("failed spans carry success=false and the error", "[root][record]")
{
    const Recording& rec = all_workloads();
    const json& second = find_op(rec.records, "step", "second child");
    CHECK(second["tags"]["success"] == false);
    CHECK(second["tags"]["error_type"] == "ConfigurationError");
    CHECK(second["tags"]["error_message"] == "Invalid configuration format");
    const json& thrower = find_op(rec.records, "throwing");
    CHECK(thrower["tags"]["success"] == false);
    CHECK(thrower["tags"]["exception_unwinding"] == true);
}

TEST_CASE("4 threads x 1000 spans: all 4000 recorded, none lost", "[root][record]")
{
    TempDir tmp;
    Recording rec = record_command(tmp, {WORKLOADS_BIN, "threads", tmp.path("truth.json")});
    INFO(rec.result.err);
    REQUIRE(rec.result.exit_code == 0);
    const json truth = read_json(tmp.path("truth.json"));
    CHECK(truth["recorded_by_app"] == 4000);
    REQUIRE(rec.records.size() == 4000);
    CHECK(rec.result.err.find("4000 spans recorded") != std::string::npos);
    CHECK(rec.result.err.find(" 0 spans lost") != std::string::npos);
    std::map<int, std::set<long>> seqs_by_thread;
    std::set<std::string> tids;
    for (const json& r : rec.records) {
        seqs_by_thread[r["tags"]["thread"].get<int>()].insert(r["tags"]["seq"].get<long>());
        tids.insert(r["metadata"]["thread_id"].get<std::string>());
    }
    CHECK(tids.size() == 4);
    REQUIRE(seqs_by_thread.size() == 4);
    for (const auto& entry : seqs_by_thread)
        CHECK(entry.second.size() == 1000);
}

TEST_CASE("the C API records spans, tags of every type and errors", "[root][record]")
{
    TempDir tmp;
    Recording rec = record_command(tmp, {C_SPANS_BIN, tmp.path("truth.json"), "overflow"});
    INFO(rec.result.err);
    REQUIRE(rec.result.exit_code == 0);
    REQUIRE(rec.records.size() == 4);
    const json& child = find_op(rec.records, "child");
    const json& parent = find_op(rec.records, "parent");
    CHECK(child["parent_span_id"] == parent["span_id"]);
    CHECK(child["tags"]["success"] == false);
    CHECK(child["tags"]["error_type"] == "CError");
    CHECK(parent["tags"]["lang"] == "c");
    CHECK(parent["tags"]["answer"] == 42);
    CHECK(parent["tags"]["ratio"] == 0.5);
    CHECK(parent["tags"]["flag"] == true);
    CHECK(parent["tags"]["success"] == true);
    CHECK_FALSE(parent["metadata"].value("truncated", false));
    CHECK(parent["metadata"]["process_id"] ==
          std::to_string(read_json(tmp.path("truth.json"))["pid"].get<int>()));

    // Past the buffer, tags come through span_tag: none lost, the last
    // setting of a key wins, and a long value is cut and flagged as before.
    const json& many = find_op(rec.records, "many_tags");
    CHECK(many["tags"]["k0"] == "set again");
    for (int i = 1; i < 40; ++i)
        CHECK(many["tags"]["k" + std::to_string(i)] == i * 1000);
    CHECK(many["tags"]["long"] == std::string(255, 'v'));
    CHECK(many["metadata"]["truncated"] == true);
    // A value too long for the buffer: the tags before and after it too.
    const json& cut = find_op(rec.records, "long_value");
    CHECK(cut["tags"]["before"] == "buffered");
    CHECK(cut["tags"]["long"] == std::string(255, 'w'));
    CHECK(cut["tags"]["after"] == -2.25);
    CHECK(cut["metadata"]["truncated"] == true);
    CHECK(rec.result.err.find(" 0 tags/errors lost") != std::string::npos);
}
