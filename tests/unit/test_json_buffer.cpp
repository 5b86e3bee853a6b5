#include <catch2/catch.hpp>

#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "output/json_buffer.hpp"
#include "unit/record_corpus.hpp"

using namespace lstrace;

namespace {

std::string ms_text(std::uint64_t ns)
{
    char buf[kMaxNumberChars];
    return std::string(buf, write_json_ms(buf, ns));
}

std::string double_text(double v)
{
    char buf[kMaxNumberChars];
    return std::string(buf, write_json_double(buf, v));
}

std::string escaped(std::string_view s)
{
    std::string out(json_string_bound(s.size()), '\0');
    out.resize(static_cast<std::size_t>(write_json_string(out.data(), s) - out.data()));
    return out;
}

// The escaping rule for one byte that stands alone (a byte past ASCII
// alone is never valid UTF-8).
std::string escaped_byte(unsigned char c)
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    default:
        break;
    }
    if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        return buf;
    }
    if (c >= 0x80)
        return "\xEF\xBF\xBD";
    return std::string(1, static_cast<char>(c));
}

}  // namespace

TEST_CASE("durations in ms are written as the general double form would", "[json_buffer]")
{
    // every form: 0.0, 1e-06, 0.001, 12.5, 1000.0, 1e+06, 10000.0, and the
    // general search past 15 digits
    CHECK(ms_text(0) == "0.0");
    CHECK(ms_text(1) == "1e-06");
    CHECK(ms_text(1000) == "0.001");
    CHECK(ms_text(10000) == "0.01");
    CHECK(ms_text(100) == "1e-04");  // shorter than 0.0001
    CHECK(ms_text(12'500'000) == "12.5");
    CHECK(ms_text(1'000'000'000) == "1000.0");
    CHECK(ms_text(1'000'000'000'000) == "1e+06");
    CHECK(ms_text(10'000'000'000) == "10000.0");
    for (std::uint64_t ns = 0; ns < 300000; ++ns)
        REQUIRE(ms_text(ns) == double_text(static_cast<double>(ns) / 1e6));
    lstrace::testing::CorpusRandom rnd(7);
    for (int i = 0; i < 2000000; ++i) {
        // every magnitude, and round figures (trailing zeros)
        std::uint64_t ns = rnd.next() >> rnd.below(64);
        if (rnd.chance(30))
            ns -=
                ns % static_cast<std::uint64_t>(std::pow(10.0, static_cast<double>(rnd.below(13))));
        INFO(ns);
        REQUIRE(ms_text(ns) == double_text(static_cast<double>(ns) / 1e6));
    }
}

TEST_CASE("doubles are written in the shortest form that reads back", "[json_buffer]")
{
    CHECK(double_text(100.0) == "100.0");
    CHECK(double_text(0.1) == "0.1");
    CHECK(double_text(-0.0) == "-0.0");
    CHECK(double_text(1e300) == "1e+300");
    CHECK(double_text(std::nan("")) == "null");
    CHECK(double_text(-INFINITY) == "null");
    lstrace::testing::CorpusRandom rnd(8);
    for (int i = 0; i < 200000; ++i) {
        double d;
        const std::uint64_t bits = rnd.next();
        std::memcpy(&d, &bits, sizeof(d));
        if (!std::isfinite(d))
            continue;
        const std::string text = double_text(d);
        double back = 0;
        std::from_chars(text.data(), text.data() + text.size(), back);
        REQUIRE(back == d);
        REQUIRE(text.find_first_of(".e") != std::string::npos);
    }
}

TEST_CASE("every byte is escaped the same wherever it stands", "[json_buffer]")
{
    // the eight-bytes-at-a-time path and the byte path must agree: each byte
    // value at each position of plain strings of several lengths
    for (std::size_t len : {1, 7, 8, 9, 15, 16, 17, 24, 33}) {
        for (std::size_t pos = 0; pos < len; ++pos) {
            for (int c = 1; c < 256; ++c) {
                std::string s(len, 'a');
                s[pos] = static_cast<char>(c);
                const std::string want = "\"" + std::string(pos, 'a') +
                                         escaped_byte(static_cast<unsigned char>(c)) +
                                         std::string(len - pos - 1, 'a') + "\"";
                INFO("len " << len << " pos " << pos << " byte " << c);
                REQUIRE(escaped(s) == want);
            }
        }
    }
    CHECK(escaped(std::string_view("a\0b", 3)) == "\"a\\u0000b\"");
    CHECK(escaped("") == "\"\"");
}

TEST_CASE("valid UTF-8 passes through, invalid bytes become U+FFFD", "[json_buffer]")
{
    CHECK(escaped("caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80 long enough to be in words") ==
          "\"caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80 long enough to be in words\"");
    CHECK(escaped("\xed\xa0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // a surrogate
    CHECK(escaped("\xc0\xaf") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");                  // overlong
    CHECK(escaped("abcdefgh\xe2\x86") == "\"abcdefgh\xEF\xBF\xBD\xEF\xBF\xBD\"");  // cut
    // whatever the bytes, the result is valid JSON holding valid UTF-8
    lstrace::testing::CorpusRandom rnd(9);
    for (int i = 0; i < 20000; ++i) {
        std::string s(rnd.below(64), '\0');
        for (char& c : s)
            c = static_cast<char>(rnd.below(256));
        REQUIRE(nlohmann::json::accept(escaped(s)));
    }
}

TEST_CASE("the buffer grows as needed and keeps what it holds", "[json_buffer]")
{
    JsonBuffer b;
    CHECK(b.empty());
    std::string want;
    for (int i = 0; i < 20000; ++i) {
        const std::string s = "value " + std::to_string(i) + (i % 7 ? "" : "\n");
        b.string(s);
        b.put(',');
        b.u64(static_cast<std::uint64_t>(i) * 1000003);
        b.lit(",\"k\":");
        b.i64(-i);
        want += escaped(s) + "," + std::to_string(static_cast<std::uint64_t>(i) * 1000003) +
                ",\"k\":" + std::to_string(-i);
    }
    // a string far larger than any record so far
    const std::string big(1 << 20, '\x01');
    b.string(big);
    want += escaped(big);
    CHECK(b.view() == want);
    b.clear();
    CHECK(b.size() == 0);
    b.quoted_hex(0xabc);
    b.quoted_hex(1, 2);
    b.quoted_u64(4294967295u);
    b.quoted_timestamp(1736937045123456789LL);
    CHECK(b.view() == "\"0000000000000abc\"\"00000000000000010000000000000002\"\"4294967295\""
                      "\"2025-01-15T10:30:45.123456Z\"");
}
