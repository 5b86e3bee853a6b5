// The trace's bytes do not change when the formatter does: a wide,
// deterministic corpus of records (tests/unit/record_corpus.*) is formatted
// and compared with golden output made by the formatter the files were
// recorded with.  tests/fixtures/golden/records.jsonl holds the first lines
// in full (a difference names its line); records.fnv holds the FNV-1a hash
// and size of all of them (tens of thousands of records).
//
// A deliberate change of the format (a new field) rewrites the goldens:
//     LSTRACE_UPDATE_GOLDEN=1 build/tests/unit_tests '[golden]'
// which fails once, to make sure the rewrite is looked at (git diff).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "output/redactor.hpp"
#include "output/text_format.hpp"
#include "output/trace_format.hpp"
#include "unit/file_text.hpp"
#include "unit/record_corpus.hpp"

using namespace lstrace;
using namespace lstrace::testing;

namespace {

constexpr std::uint64_t kSeed = 12;
constexpr std::size_t kSpans = 30000;
constexpr std::size_t kEvents = 6000;
constexpr std::size_t kKeptInFull = 100;  // records of each kind in records.jsonl

std::uint64_t fnv1a(std::uint64_t h, std::string_view s)
{
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

// Every form of every record of the corpus, in one stream: the JSON line
// (plain, with debug metadata on every third span), the line after
// redaction, and the text format's line.
struct Formatted {
    std::string head;  // the first kKeptInFull records of each kind, in full
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    std::uint64_t bytes = 0;
    std::uint64_t lines = 0;

    void add(const std::string& line, bool keep)
    {
        hash = fnv1a(hash, line);
        bytes += line.size();
        lines += static_cast<std::uint64_t>(std::count(line.begin(), line.end(), '\n'));
        if (keep)
            head += line;
    }
};

// Appends the forms of one record: its JSON line (with debug metadata
// when asked), its text line (every fourth record), its JSON line after
// redaction.
template <typename Record, typename Json, typename Text>
void add_forms(Formatted& out, Record record, std::size_t i, bool keep, const Redactor& redactor,
               Json json, Text text)
{
    const std::int64_t offset = corpus_offset(i);
    std::string line;
    json(line, record, offset, i % 3 == 0);
    out.add(line, keep);
    if (i % 4 == 0) {
        line.clear();
        text(line, record, offset);
        out.add(line, keep);
    }
    record.redactions = redactor.apply(record);
    line.clear();
    json(line, record, offset, false);
    out.add(line, keep);
}

Formatted format_corpus()
{
    Formatted out;
    const Redactor redactor({"custom_secret"});
    for (std::size_t i = 0; i < kSpans; ++i)
        add_forms(
            out, corpus_span(kSeed, i), i, i < kKeptInFull, redactor,
            [](std::string& l, const SpanRecord& r, std::int64_t o, bool debug) {
                append_json_line(l, r, o, debug);
            },
            [](std::string& l, const SpanRecord& r, std::int64_t o) { append_text_line(l, r, o); });
    for (std::size_t i = 0; i < kEvents; ++i)
        add_forms(
            out, corpus_event(kSeed, i), i, i < kKeptInFull / 2, redactor,
            [](std::string& l, const EventRecord& r, std::int64_t o, bool) {
                append_event_json_line(l, r, o);
            },
            [](std::string& l, const EventRecord& r, std::int64_t o) {
                append_event_text_line(l, r, o);
            });
    return out;
}

std::string summary_line(const Formatted& f)
{
    char buf[128];
    std::snprintf(buf, sizeof(buf), "fnv1a64 %016" PRIx64 " bytes %" PRIu64 " lines %" PRIu64 "\n",
                  f.hash, f.bytes, f.lines);
    return buf;
}

}  // namespace

TEST_CASE("the corpus covers every part of the record", "[golden]")
{
    // A corpus that stopped reaching a branch would make the goldens prove
    // less than they seem to: count what it holds.
    std::size_t tag_types[5] = {}, aborted = 0, errors = 0, multi_errors = 0, flags_seen = 0,
                nan_tags = 0, truncated = 0, invalid_utf8 = 0, controls = 0, no_trace = 0,
                scientific = 0;
    for (std::size_t i = 0; i < kSpans; ++i) {
        const SpanRecord s = corpus_span(kSeed, i);
        for (const Tag& t : s.tags) {
            ++tag_types[t.value.index()];
            if (const double* d = std::get_if<double>(&t.value); d && *d != *d)
                ++nan_tags;
        }
        aborted += s.aborted;
        errors += !s.errors.empty();
        multi_errors += s.errors.size() > 1;
        flags_seen |= s.flags;
        truncated += (s.flags & LSTRACE_F_TRUNCATED) != 0;
        no_trace += !s.trace_id_hi && !s.trace_id_lo;
        std::string line;
        append_json_line(line, s, 0);
        invalid_utf8 += line.find("\xef\xbf\xbd") != std::string::npos;
        controls += line.find("\\u00") != std::string::npos;
        scientific += line.find("e-0") != std::string::npos || line.find("e+") != std::string::npos;
    }
    for (std::size_t n : tag_types)
        CHECK(n > 100);
    CHECK(aborted > 100);
    CHECK(errors > 100);
    CHECK(multi_errors > 100);
    CHECK(flags_seen == 0x3ff);
    CHECK(nan_tags > 10);
    CHECK(truncated > 100);
    CHECK(invalid_utf8 > 100);
    CHECK(controls > 100);
    CHECK(no_trace > 100);
    CHECK(scientific > 100);
}

TEST_CASE("span and event lines are byte for byte the golden ones", "[golden]")
{
    const Formatted f = format_corpus();
    const std::string dir = std::string(FIXTURES_DIR) + "/golden";
    if (std::getenv("LSTRACE_UPDATE_GOLDEN")) {
        std::ofstream(dir + "/records.jsonl", std::ios::binary) << f.head;
        std::ofstream(dir + "/records.fnv", std::ios::binary) << summary_line(f);
        FAIL("golden files rewritten in " << dir
                                          << ": review them (git diff), then run again "
                                             "without LSTRACE_UPDATE_GOLDEN");
    }
    const std::string head = read_file(dir + "/records.jsonl");
    REQUIRE_FALSE(head.empty());
    // the first differing line, so a failure says what changed
    std::istringstream want(head), got(f.head);
    std::string w, g;
    std::size_t n = 0;
    while (std::getline(want, w)) {
        ++n;
        REQUIRE(std::getline(got, g));
        INFO("line " << n << " of records.jsonl");
        REQUIRE(g == w);
    }
    CHECK_FALSE(std::getline(got, g));
    CHECK(summary_line(f) == read_file(dir + "/records.fnv"));
}

TEST_CASE("every JSON line of the corpus is valid JSON", "[golden]")
{
    for (std::size_t i = 0; i < 3000; ++i) {
        std::string line;
        append_json_line(line, corpus_span(kSeed, i), corpus_offset(i), i % 2 == 0);
        INFO(line);
        REQUIRE(line.back() == '\n');
        REQUIRE(nlohmann::json::accept(line));
        line.clear();
        append_event_json_line(line, corpus_event(kSeed, i), corpus_offset(i));
        REQUIRE(nlohmann::json::accept(line));
    }
}
