// Traced strings on a terminal: escape sequences and forged lines from a
// traced program must come out visible and inert.
#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "analysis/trace_reader.hpp"
#include "analysis/trace_summary.hpp"
#include "base/terminal_text.hpp"
#include "correlate/span_record.hpp"
#include "output/text_format.hpp"

using namespace lstrace;

namespace {

// A window title, a clear screen, a C1 CSI (U+009B), and a forged line.
const std::string kHostile = "agent\x1b]0;owned\x07\x1b[2J\xc2\x9b"
                             "31m\nlstrace-bpf: forged";

bool inert(const std::string& text)
{
    const bool no_controls = std::none_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && u != '\n') || u == 0x7f;
    });
    return no_controls && text.find("\xc2\x9b") == std::string::npos &&
           text.find("\nlstrace-bpf: forged") == std::string::npos;
}

}  // namespace

TEST_CASE("control characters are made visible", "[terminal]")
{
    CHECK(printable("a\nb\tc\rd\x1b[2Je\x07\x7f") == "a\\nb\\tc\\rd\\e[2Je\\x07\\x7f");
    CHECK(printable("csi \xc2\x9b"
                    "1m") == "csi \\u009b1m");
    CHECK(printable("caf\xc3\xa9 \xe2\x9c\x93") == "caf\xc3\xa9 \xe2\x9c\x93");  // text stays
    CHECK(terminal_text("row 1\nrow\x1b[2J 2\n") == "row 1\nrow\\e[2J 2\n");
    CHECK(inert(printable(kHostile)));
    CHECK(clip(kHostile, 200).find('\x1b') == std::string::npos);
}

TEST_CASE("text-format and verbose-errors lines escape traced strings", "[terminal]")
{
    SpanRecord s;
    s.component = kHostile;
    s.operation = kHostile;
    s.status = 1;
    s.errors = {{kHostile, kHostile}};
    s.tags = {{kHostile, kHostile}};
    std::string line;
    append_text_line(line, s, 0);
    CHECK(inert(line));
    CHECK(std::count(line.begin(), line.end(), '\n') == 1);

    EventRecord e;
    e.record_type = "error";
    e.component = kHostile;
    e.description = kHostile;
    e.frames = {{0x1000, kHostile, 0, kHostile, 0}};
    std::string event;
    append_event_text_line(event, e, 0);
    CHECK(inert(event));
    CHECK(std::count(event.begin(), event.end(), '\n') == 2);  // the line and one frame
}

TEST_CASE("summary tables escape traced names", "[terminal]")
{
    TraceSummary summary;
    nlohmann::json rec = {{"component", kHostile},
                          {"operation", kHostile},
                          {"duration_ms", 1.0},
                          {"timestamp", "2026-01-01T00:00:00.000000Z"},
                          {"tags", {{"success", true}}}};
    REQUIRE(summary.add(rec).ok());
    const std::string table = summary.table();
    CHECK(inert(table));
    CHECK(std::count(table.begin(), table.end(), '\n') == 2);  // header and one row
}
