#include "output/json_writer.hpp"

#include <charconv>

#include "output/json_buffer.hpp"

namespace lstrace {

void append_json_string(std::string& out, std::string_view s)
{
    const std::size_t old = out.size();
    out.resize(old + json_string_bound(s.size()));
    char* const end = write_json_string(out.data() + old, s);
    out.resize(static_cast<std::size_t>(end - out.data()));
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
    separate();
    char buf[kMaxNumberChars];
    out_.append(buf, write_json_double(buf, v));  // null for NaN and the infinities
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
