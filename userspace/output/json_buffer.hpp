// The byte buffer the recorder formats its trace records into.
//
// The recorder formats one record per span, a kilobyte of JSON each, and
// must keep up with every producer core of the machine (docs/performance.md):
// at that rate a capacity check and a call per appended byte or token is
// most of the cost.  So every primitive here reserves its worst case once
// and then writes through a raw pointer; keys are literals whose length the
// compiler knows, numbers are written straight into the buffer, strings
// are escaped eight bytes at a time while they need no escaping.  The buffer
// keeps its storage between records: no allocation per record once it has
// grown to the largest record.
//
// What the bytes are (escaping, UTF-8 repair, number forms) is decided here
// and only here: JsonWriter (json_writer.hpp) and the span formatter both
// write through these functions.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace lstrace {

// Worst-case size of `s` as a JSON string literal (a control character
// takes six bytes, "\u001f").
constexpr std::size_t json_string_bound(std::size_t n)
{
    return 6 * n + 2;
}

// Writes `s` as a JSON string literal (quotes included) at `out`, which
// must have json_string_bound(s.size()) bytes of room; returns the end.
// Bytes that are not valid UTF-8 become U+FFFD.
char* write_json_string(char* out, std::string_view s);

// Writes `v` in the shortest form that reads back as the same double, with
// ".0" added when that form looks like an integer ("100.0"); NaN and the
// infinities are "null".  At most kMaxNumberChars bytes.
char* write_json_double(char* out, double v);

// `ns` / 1e6 as write_json_double writes it (a duration in milliseconds),
// without the general shortest-form search when `ns` has few enough digits
// for the result to be its own digits with the point moved.
char* write_json_ms(char* out, std::uint64_t ns);

inline constexpr std::size_t kMaxNumberChars = 32;

// "2026-01-15T10:30:45.123456Z" for nanoseconds since the Unix epoch (UTC,
// microseconds), at most kMaxTimestampChars bytes; returns the end.
char* write_timestamp(char* out, std::int64_t unix_ns);
inline constexpr std::size_t kMaxTimestampChars = 40;

class JsonBuffer {
public:
    JsonBuffer() = default;
    JsonBuffer(const JsonBuffer&) = delete;
    JsonBuffer& operator=(const JsonBuffer&) = delete;

    void clear() noexcept { end_ = begin_; }
    std::size_t size() const noexcept { return static_cast<std::size_t>(end_ - begin_); }
    bool empty() const noexcept { return end_ == begin_; }
    std::string_view view() const noexcept { return {begin_, size()}; }
    char back() const noexcept { return end_[-1]; }

    // Makes room for `n` more bytes.
    void room(std::size_t n)
    {
        if (static_cast<std::size_t>(limit_ - end_) < n)
            grow(n);
    }

    // A literal: keys with their punctuation, `,"operation":`.
    template <std::size_t N>
    void lit(const char (&s)[N])
    {
        room(N - 1);
        std::memcpy(end_, s, N - 1);
        end_ += N - 1;
    }
    void raw(std::string_view s)
    {
        room(s.size());
        if (!s.empty())  // (memcpy's source must not be null, even for 0 bytes)
            std::memcpy(end_, s.data(), s.size());
        end_ += s.size();
    }
    void put(char c)
    {
        room(1);
        *end_++ = c;
    }

    void string(std::string_view s)
    {
        room(json_string_bound(s.size()));
        end_ = write_json_string(end_, s);
    }
    void u64(std::uint64_t v)
    {
        room(20);
        if (v < 10)  // most counters of most spans are 0
            *end_++ = static_cast<char>('0' + v);
        else
            end_ = std::to_chars(end_, end_ + 20, v).ptr;
    }
    void i64(std::int64_t v)
    {
        room(20);
        if (v >= 0 && v < 10)
            *end_++ = static_cast<char>('0' + v);
        else
            end_ = std::to_chars(end_, end_ + 20, v).ptr;
    }
    // As a JSON string: "12345" (thread and process ids).
    void quoted_u64(std::uint64_t v)
    {
        room(22);
        *end_++ = '"';
        end_ = std::to_chars(end_, end_ + 20, v).ptr;
        *end_++ = '"';
    }
    void f64(double v)
    {
        room(kMaxNumberChars);
        end_ = write_json_double(end_, v);
    }
    void ms(std::uint64_t ns)
    {
        room(kMaxNumberChars);
        end_ = write_json_ms(end_, ns);
    }
    void boolean(bool v)
    {
        if (v)
            lit("true");
        else
            lit("false");
    }
    void null() { lit("null"); }
    // "0123456789abcdef": 16 lower-case hex digits, quoted; 32 for a trace id.
    void quoted_hex(std::uint64_t id);
    void quoted_hex(std::uint64_t hi, std::uint64_t lo);
    // "2026-01-15T10:30:45.123456Z" for nanoseconds since the Unix epoch.
    void quoted_timestamp(std::int64_t unix_ns);

private:
    void grow(std::size_t n);

    std::unique_ptr<char[]> storage_;
    char* begin_ = nullptr;
    char* end_ = nullptr;
    char* limit_ = nullptr;
};

}  // namespace lstrace
