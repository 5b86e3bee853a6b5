#include "output/json_writer.hpp"

#include <charconv>
#include <cmath>

namespace lstrace {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not valid
// (overlong forms, surrogates and code points past U+10FFFF included).
std::size_t utf8_sequence(std::string_view s, std::size_t i)
{
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
    const unsigned char c = b(0);
    if (c >= 0xC2 && c <= 0xDF)
        return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2))
            return 0;
        if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F))
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3))
            return 0;
        if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

}  // namespace

// Printable ASCII other than '"' and '\\': copied as is.
constexpr bool plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

void append_json_string(std::string& out, std::string_view s)
{
    out.push_back('"');
    std::size_t i = 0;
    while (i < s.size()) {
        // Names, ids and most values are plain ASCII: append whole runs at
        // once, which is much cheaper than a character at a time.
        std::size_t j = i;
        while (j < s.size() && plain(static_cast<unsigned char>(s[j])))
            ++j;
        if (j > i) {
            out.append(s.data() + i, j - i);
            i = j;
            continue;
        }
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence(s, i);
            if (n == 0) {
                out.append(kReplacement);
                ++i;
            } else {
                out.append(s.data() + i, n);
                i += n;
            }
            continue;
        }
        switch (c) {
        case '"':
            out.append("\\\"");
            break;
        case '\\':
            out.append("\\\\");
            break;
        case '\n':
            out.append("\\n");
            break;
        case '\r':
            out.append("\\r");
            break;
        case '\t':
            out.append("\\t");
            break;
        case '\b':
            out.append("\\b");
            break;
        case '\f':
            out.append("\\f");
            break;
        default:
            if (c < 0x20) {
                const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
                out.append(esc, sizeof(esc));
            } else {
                out.push_back(static_cast<char>(c));
            }
        }
        ++i;
    }
    out.push_back('"');
}

void JsonWriter::separate()
{
    if (need_comma_)
        out_.push_back(',');
    need_comma_ = true;
}

void JsonWriter::begin_object()
{
    separate();
    out_.push_back('{');
    need_comma_ = false;
}

void JsonWriter::end_object()
{
    out_.push_back('}');
    need_comma_ = true;
}

void JsonWriter::raw(std::string_view json)
{
    separate();
    out_.append(json);
    need_comma_ = true;
}

void JsonWriter::begin_array()
{
    separate();
    out_.push_back('[');
    need_comma_ = false;
}

void JsonWriter::end_array()
{
    out_.push_back(']');
    need_comma_ = true;
}

void JsonWriter::key(std::string_view k)
{
    separate();
    append_json_string(out_, k);
    out_.push_back(':');
    need_comma_ = false;
}

void JsonWriter::value(std::string_view s)
{
    separate();
    append_json_string(out_, s);
}

void JsonWriter::value(std::int64_t v)
{
    separate();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out_.append(buf, r.ptr);
}

void JsonWriter::value(std::uint64_t v)
{
    separate();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out_.append(buf, r.ptr);
}

void JsonWriter::value(double v)
{
    if (!std::isfinite(v)) {
        null();
        return;
    }
    separate();
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);  // shortest round-trip form
    std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
    out_.append(text);
    // keep doubles recognisable as floating point ("100.0", not "100")
    if (text.find_first_of(".eE") == std::string_view::npos)
        out_.append(".0");
}

void JsonWriter::value(bool v)
{
    separate();
    out_.append(v ? "true" : "false");
}

void JsonWriter::null()
{
    separate();
    out_.append("null");
}

}  // namespace lstrace
