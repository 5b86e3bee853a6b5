// A small streaming JSON writer: appends to a std::string without building
// a document, so formatting a record costs a few hundred nanoseconds
// instead of a DOM's allocations.  Strings are escaped and repaired: bytes
// that are not valid UTF-8 become U+FFFD, so the output is always valid JSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lstrace {

class JsonWriter {
public:
    explicit JsonWriter(std::string& out) : out_(out) {}

    void begin_object();
    void end_object();
    void begin_array();
    void end_array();
    // The key of the next member of the current object.
    void key(std::string_view k);

    void value(std::string_view s);
    void value(const char* s) { value(std::string_view(s)); }
    void value(std::int64_t v);
    void value(std::uint64_t v);
    void value(double v);  // NaN and infinities are written as null
    void value(bool v);
    void null();
    // A value that is already serialized JSON (trusted: not checked).
    void raw(std::string_view json);

private:
    void separate();

    std::string& out_;
    bool need_comma_ = false;
};

// Appends `s` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

}  // namespace lstrace
