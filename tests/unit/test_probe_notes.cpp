// The probe header's ELF notes, checked without root (as readelf -n would).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "usdt/probe_notes.hpp"

using namespace lstrace;

namespace {

// Number of arguments in a USDT argument string ("8@%rax -4@$1" -> 2).
int arg_count(const std::string& args)
{
    int n = 0;
    bool in_word = false;
    for (char c : args) {
        if (c != ' ' && !in_word)
            ++n;
        in_word = c != ' ';
    }
    return n;
}

void check_langswarm_notes(const char* binary)
{
    auto notes = usdt::read_probe_notes(binary);
    REQUIRE(notes.ok());
    const std::map<std::string, int> expected = {
        {"recording", 0},  {"span_begin", 8},     {"span_end", 4},       {"span_tag", 5},
        {"span_error", 3}, {"component_init", 6}, {"state_change", 7},   {"config_change", 7},
        {"error", 10},     {"error_handled", 5},  {"error_recovery", 7}, {"error_resolution", 6},
        {"data_flow", 10}};
    std::map<std::string, int> seen;
    for (const auto& n : notes.value()) {
        if (n.provider != "langswarm")
            continue;
        INFO(n.name << " " << n.arguments);
        REQUIRE(expected.count(n.name) == 1);
        CHECK(arg_count(n.arguments) == expected.at(n.name));
        CHECK(n.semaphore != 0);  // every probe has an is-enabled semaphore
        // arguments are registers or constants, never memory operands
        CHECK(n.arguments.find('(') == std::string::npos);
        ++seen[n.name];
    }
    for (const auto& [name, args] : expected)
        CHECK(seen[name] >= 1);
}

}  // namespace

TEST_CASE("the C++ API emits every langswarm probe, each with a semaphore", "[usdt]")
{
    check_langswarm_notes(WORKLOADS_BIN);
}

TEST_CASE("the C API emits the same probes", "[usdt]")
{
    check_langswarm_notes(C_SPANS_BIN);
}

namespace {

// The bytes at each langswarm probe site of `binary`, read from the file.
std::vector<std::vector<unsigned char>> site_bytes(const char* binary, std::size_t n)
{
    auto notes = usdt::read_probe_notes(binary);
    REQUIRE(notes.ok());
    const int fd = ::open(binary, O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    std::vector<std::vector<unsigned char>> sites;
    for (const auto& note : notes.value()) {
        if (note.provider != "langswarm")
            continue;
        INFO(note.name);
        REQUIRE(note.pc_file_offset != 0);
        std::vector<unsigned char> bytes(n);
        CHECK(::pread(fd, bytes.data(), n, static_cast<off_t>(note.pc_file_offset)) ==
              static_cast<ssize_t>(n));
        sites.push_back(bytes);
    }
    ::close(fd);
    return sites;
}

}  // namespace

// docs/probes.md, "The probe instruction": the 5-byte form is opt-in.
TEST_CASE("by default every probe site is a 1-byte nop", "[usdt]")
{
    for (const char* binary : {WORKLOADS_BIN, C_SPANS_BIN}) {
        INFO(binary);
        const auto sites = site_bytes(binary, 1);
        CHECK(sites.size() >= 13);
        for (const auto& b : sites)
            CHECK(b[0] == 0x90);
    }
}

TEST_CASE("LSTRACE_USDT_NOP5 makes every probe site a 5-byte nop", "[usdt]")
{
    const auto sites = site_bytes(C_SPANS_NOP5_BIN, 5);
    CHECK(sites.size() >= 13);
    const std::vector<unsigned char> nop5 = {0x0f, 0x1f, 0x44, 0x00, 0x00};
    for (const auto& b : sites)
        CHECK(b == nop5);
}

TEST_CASE("a binary without probes has no langswarm notes", "[usdt]")
{
    auto notes = usdt::read_probe_notes(NO_PROBES_BIN);
    REQUIRE(notes.ok());
    CHECK(usdt::probe_names(notes.value(), "langswarm").empty());
}

TEST_CASE("unreadable and non-ELF files are errors, not crashes", "[usdt]")
{
    auto missing = usdt::read_probe_notes("/nonexistent/binary");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message.find("cannot open") != std::string::npos);
    auto text = usdt::read_probe_notes("/etc/passwd");
    REQUIRE_FALSE(text.ok());
    CHECK(text.error().message.find("not an ELF") != std::string::npos);
}
