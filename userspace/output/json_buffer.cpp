#include "output/json_buffer.hpp"

#include <charconv>
#include <climits>
#include <cmath>
#include <ctime>

#include "base/hex_id.hpp"

namespace lstrace {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

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

// Printable ASCII other than '"' and '\\': copied as is.
constexpr bool plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

// True when none of the eight bytes of `x` needs attention: no control
// character, quote, backslash or byte past ASCII.  (The classic "has a byte
// less than n" and "has a zero byte" word tests: a set high bit marks a
// candidate; they never miss one.)
constexpr bool plain8(std::uint64_t x)
{
    constexpr std::uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    const std::uint64_t control = (x - ones * 0x20) & ~x & high;
    const std::uint64_t q = x ^ (ones * '"');
    const std::uint64_t b = x ^ (ones * '\\');
    const std::uint64_t quote = (q - ones) & ~q & high;
    const std::uint64_t backslash = (b - ones) & ~b & high;
    return ((x & high) | control | quote | backslash) == 0;
}

// Digits of `v` (at most 20).
char* write_digits(char* out, std::uint64_t v)
{
    return std::to_chars(out, out + 20, v).ptr;
}

}  // namespace

char* write_json_string(char* out, std::string_view s)
{
    *out++ = '"';
    const char* p = s.data();
    const char* const end = p + s.size();
    while (p < end) {
        // Names, ids and most values are plain ASCII: eight bytes at a
        // time while they are.
        while (end - p >= 8) {
            std::uint64_t x;
            std::memcpy(&x, p, 8);
            if (!plain8(x))
                break;
            std::memcpy(out, p, 8);
            out += 8;
            p += 8;
        }
        while (p < end && plain(static_cast<unsigned char>(*p)))
            *out++ = *p++;
        if (p == end)
            break;
        const unsigned char c = static_cast<unsigned char>(*p);
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence(s, static_cast<std::size_t>(p - s.data()));
            if (n == 0) {
                std::memcpy(out, kReplacement, 3);
                out += 3;
                ++p;
            } else {
                std::memcpy(out, p, n);
                out += n;
                p += n;
            }
            continue;
        }
        *out++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *out++ = static_cast<char>(c);
            break;
        case '\n':
            *out++ = 'n';
            break;
        case '\r':
            *out++ = 'r';
            break;
        case '\t':
            *out++ = 't';
            break;
        case '\b':
            *out++ = 'b';
            break;
        case '\f':
            *out++ = 'f';
            break;
        default:  // the other control characters
            const char esc[] = {'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
            std::memcpy(out, esc, sizeof(esc));
            out += sizeof(esc);
        }
        ++p;
    }
    *out++ = '"';
    return out;
}

char* write_json_double(char* out, double v)
{
    if (!std::isfinite(v)) {
        std::memcpy(out, "null", 4);
        return out + 4;
    }
    char* const start = out;
    out = std::to_chars(out, out + kMaxNumberChars - 2, v).ptr;  // shortest round-trip form
    // keep doubles recognisable as floating point ("100.0", not "100")
    for (const char* p = start; p < out; ++p)
        if (*p == '.' || *p == 'e' || *p == 'E')
            return out;
    std::memcpy(out, ".0", 2);
    return out + 2;
}

char* write_json_ms(char* out, std::uint64_t ns)
{
    // ns / 1e6 is the double nearest to the decimal ns * 10^-6, and a
    // decimal of at most 15 significant digits is the shortest form of the
    // double nearest to it (DBL_DIG): so its digits are those of ns, and
    // only the choice between fixed and exponent form (std::to_chars takes
    // the shorter, fixed on a tie) is left to make.  Past 15 digits (11.6
    // days) the general search decides.
    if (ns >= 1000000000000000ULL)
        return write_json_double(out, static_cast<double>(ns) / 1e6);
    if (ns == 0) {
        std::memcpy(out, "0.0", 3);
        return out + 3;
    }
    char d[20];
    const int k = static_cast<int>(write_digits(d, ns) - d);
    int sig = k;
    while (d[sig - 1] == '0')
        --sig;
    const int p = (k - sig) - 6;       // value = digits[0, sig) * 10^p
    const int exponent = p + sig - 1;  // in d.ddde+XX form
    const int abs_exp = exponent < 0 ? -exponent : exponent;
    const int exp_len = sig + (sig > 1 ? 1 : 0) + 2 + (abs_exp >= 100 ? 3 : 2);
    const int fixed_len = p >= 0 ? sig + p : (sig + p > 0 ? sig + 1 : 2 - p);
    if (fixed_len <= exp_len) {
        if (p >= 0) {  // an integer: its digits, the zeros, ".0"
            std::memcpy(out, d, static_cast<std::size_t>(sig));
            out += sig;
            std::memset(out, '0', static_cast<std::size_t>(p));
            out += p;
            std::memcpy(out, ".0", 2);
            return out + 2;
        }
        const int int_digits = sig + p;
        if (int_digits > 0) {
            std::memcpy(out, d, static_cast<std::size_t>(int_digits));
            out += int_digits;
            *out++ = '.';
            std::memcpy(out, d + int_digits, static_cast<std::size_t>(sig - int_digits));
            return out + (sig - int_digits);
        }
        *out++ = '0';
        *out++ = '.';
        std::memset(out, '0', static_cast<std::size_t>(-int_digits));
        out += -int_digits;
        std::memcpy(out, d, static_cast<std::size_t>(sig));
        return out + sig;
    }
    *out++ = d[0];
    if (sig > 1) {
        *out++ = '.';
        std::memcpy(out, d + 1, static_cast<std::size_t>(sig - 1));
        out += sig - 1;
    }
    *out++ = 'e';
    *out++ = exponent < 0 ? '-' : '+';
    if (abs_exp < 10)
        *out++ = '0';
    return write_digits(out, static_cast<std::uint64_t>(abs_exp));
}

void JsonBuffer::grow(std::size_t n)
{
    const std::size_t used = size();
    std::size_t capacity = static_cast<std::size_t>(limit_ - begin_);
    capacity = capacity ? capacity : 4096;
    while (capacity - used < n)
        capacity *= 2;
    auto bigger = std::make_unique<char[]>(capacity);
    if (used)
        std::memcpy(bigger.get(), begin_, used);
    storage_ = std::move(bigger);
    begin_ = storage_.get();
    end_ = begin_ + used;
    limit_ = begin_ + capacity;
}

void JsonBuffer::quoted_hex(std::uint64_t id)
{
    room(18);
    *end_++ = '"';
    end_ = write_hex_id(end_, id);
    *end_++ = '"';
}

void JsonBuffer::quoted_hex(std::uint64_t hi, std::uint64_t lo)
{
    room(34);
    *end_++ = '"';
    end_ = write_hex_id(write_hex_id(end_, hi), lo);
    *end_++ = '"';
}

char* write_timestamp(char* out, std::int64_t unix_ns)
{
    std::int64_t secs = unix_ns / 1000000000;
    std::int64_t rem = unix_ns % 1000000000;
    if (rem < 0) {
        rem += 1000000000;
        secs -= 1;
    }
    // Consecutive records fall in the same second: the date and time part
    // is formatted once per second, not per record (strftime is costly).
    // One cache per thread.
    thread_local std::int64_t cached_secs = INT64_MIN;
    thread_local char cached[32];
    thread_local std::size_t cached_len = 0;
    if (secs != cached_secs) {
        const std::time_t t = static_cast<std::time_t>(secs);
        std::tm tm{};
        gmtime_r(&t, &tm);
        cached_len = std::strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
        cached_secs = secs;
    }
    std::memcpy(out, cached, cached_len);
    out += cached_len;
    char frac[8] = {'.', 0, 0, 0, 0, 0, 0, 'Z'};
    std::int64_t us = rem / 1000;
    for (int i = 6; i >= 1; --i, us /= 10)
        frac[i] = static_cast<char>('0' + us % 10);
    std::memcpy(out, frac, sizeof(frac));
    return out + sizeof(frac);
}

void JsonBuffer::quoted_timestamp(std::int64_t unix_ns)
{
    room(kMaxTimestampChars + 2);
    *end_++ = '"';
    end_ = write_timestamp(end_, unix_ns);
    *end_++ = '"';
}

}  // namespace lstrace
