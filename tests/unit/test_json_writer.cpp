#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "output/json_writer.hpp"

using namespace lstrace;

namespace {

std::string json_quoted(std::string_view s)
{
    std::string out;
    append_json_string(out, s);
    return out;
}

}  // namespace

TEST_CASE("strings are escaped as JSON requires", "[json]")
{
    CHECK(json_quoted("plain") == "\"plain\"");
    CHECK(json_quoted("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(json_quoted("\n\r\t\b\f") == "\"\\n\\r\\t\\b\\f\"");
    CHECK(json_quoted(std::string("\x01\x1f", 2)) == "\"\\u0001\\u001f\"");
    CHECK(json_quoted(std::string("nul\0byte", 8)) == "\"nul\\u0000byte\"");
    CHECK(json_quoted("/") == "\"/\"");
}

TEST_CASE("long strings: every special byte is found wherever it sits", "[json]")
{
    // plain runs are scanned 16 bytes at a time: put each kind of special
    // byte at every position of a 40-byte string and compare with the
    // escaping of the byte alone
    const std::string specials[] = {"\"",   "\\",       "\n",   std::string("\0", 1),
                                    "\x1f", "\xC3\xA9", "\xFF", "\x7f"};
    for (const std::string& sp : specials) {
        const std::string escaped = json_quoted(sp);
        const std::string inner = escaped.substr(1, escaped.size() - 2);
        for (std::size_t pos = 0; pos < 40; ++pos) {
            const std::string text = std::string(pos, 'a') + sp + std::string(40 - pos, 'b');
            INFO("special " << inner << " at " << pos);
            CHECK(json_quoted(text) ==
                  "\"" + std::string(pos, 'a') + inner + std::string(40 - pos, 'b') + "\"");
        }
    }
}

TEST_CASE("valid UTF-8 passes through untouched", "[json]")
{
    const std::string text = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80";  // é € 😀
    CHECK(json_quoted(text) == "\"" + text + "\"");
}

TEST_CASE("invalid UTF-8 becomes U+FFFD, byte by byte", "[json]")
{
    const std::string fffd = "\xEF\xBF\xBD";
    CHECK(json_quoted("\xFF") == "\"" + fffd + "\"");
    CHECK(json_quoted("a\xC3") == "\"a" + fffd + "\"");                      // cut sequence
    CHECK(json_quoted("\xC0\xAF") == "\"" + fffd + fffd + "\"");             // overlong
    CHECK(json_quoted("\xED\xA0\x80") == "\"" + fffd + fffd + fffd + "\"");  // surrogate
    CHECK(json_quoted("\xF4\x90\x80\x80").find(fffd) == 1);                  // past U+10FFFF
    for (int b = 0x80; b < 0x100; ++b) {
        const std::string out = json_quoted(std::string(1, static_cast<char>(b)) + "x");
        CHECK_NOTHROW(nlohmann::json::parse(out));
    }
}

TEST_CASE("objects, numbers, booleans and null", "[json]")
{
    std::string out;
    JsonWriter w(out);
    w.begin_object();
    w.key("i");
    w.value(std::int64_t{-42});
    w.key("u");
    w.value(std::numeric_limits<std::uint64_t>::max());
    w.key("d");
    w.value(0.1);
    w.key("whole");
    w.value(100.0);
    w.key("nan");
    w.value(std::nan(""));
    w.key("inf");
    w.value(std::numeric_limits<double>::infinity());
    w.key("b");
    w.value(true);
    w.key("n");
    w.null();
    w.key("nested");
    w.begin_object();
    w.key("s");
    w.value("x");
    w.end_object();
    w.end_object();
    CHECK(out == "{\"i\":-42,\"u\":18446744073709551615,\"d\":0.1,\"whole\":100.0,\"nan\":null,"
                 "\"inf\":null,\"b\":true,\"n\":null,\"nested\":{\"s\":\"x\"}}");
    const auto j = nlohmann::json::parse(out);
    CHECK(j["whole"].is_number_float());
    CHECK(j["d"].get<double>() == 0.1);
}

TEST_CASE("doubles round-trip exactly", "[json]")
{
    for (double v : {12.5, 64.779077, 1e-9, 123456789.123456, 5e300, -0.25}) {
        std::string out;
        JsonWriter(out).value(v);
        CHECK(nlohmann::json::parse(out).get<double>() == v);
    }
}
