// SPDX-License-Identifier: MIT
//
// data_flow.hpp - data-flow tracing (C++ API), the standard's DataFlowTracer.
//
//     lstrace::data_input(request);                  // in the current span
//     lstrace::data_transformation(raw_text, chunks);
//
//     lstrace::DataFlowTracer flow(lstrace::get_tracer("langswarm.flow"));
//     flow.trace_data_output("memory", "store", rows);   // its own span, "store_output"
//
// What is sent for a value (DataInfo): its type name in the standard's
// (Python) vocabulary - str, int, float, bool, list, dict -, its size in
// bytes (UTF-8 bytes of a string; of the canonical JSON text otherwise), its
// length (characters of a string, elements of a list or dict), the keys of
// a dict with fewer than 10 ("N keys" otherwise), a preview (the first 100
// characters of the string or of the JSON text, at most the 255 bytes the
// probe carries) and a 64-bit FNV-1a
// fingerprint of that text (dict keys sorted, so equal data give equal
// fingerprints).  All of it is computed only while a recorder listens.
//
// Supported values: strings, arithmetic types, bool, and sequences and
// string-keyed maps of those (nested).  For anything else pass a DataInfo.
// Included by lstrace.hpp.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "lstrace.h"

namespace lstrace {

struct DataInfo {
    std::string type;
    std::int64_t size_bytes = 0;
    std::int64_t length = -1;  // -1: not a sized value
    std::string keys;
    std::string preview;
    std::uint64_t fingerprint = 0;
};

namespace data_detail {

template <typename T, typename = void>
struct is_map : std::false_type {};
template <typename T>
struct is_map<T, std::void_t<typename T::key_type, typename T::mapped_type>> : std::true_type {};

template <typename T, typename = void>
struct is_sequence : std::false_type {};
template <typename T>
struct is_sequence<T, std::void_t<decltype(std::begin(std::declval<const T&>())),
                                  decltype(std::end(std::declval<const T&>()))>> : std::true_type {
};

template <typename T>
constexpr bool is_string_v = std::is_convertible_v<const T&, std::string_view>;

inline void append_quoted(std::string& out, std::string_view s)
{
    out.push_back('"');
    for (const char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
                out += buf;
            } else {
                out.push_back(c);
            }
        }
    }
    out.push_back('"');
}

// The canonical JSON text of a value (separators ", " and ": ", map keys
// sorted, like Python's json.dumps(sort_keys=True); numbers in shortest
// round-trip form, NaN and infinities as Python writes them).
template <typename T>
void append_json(std::string& out, const T& v)
{
    if constexpr (std::is_same_v<T, bool>) {
        out += v ? "true" : "false";
    } else if constexpr (std::is_arithmetic_v<T>) {
        if constexpr (std::is_floating_point_v<T>) {
            // shortest round-trip text, and Python's names for the rest
            const double d = static_cast<double>(v);
            if (std::isnan(d)) {
                out += "NaN";
            } else if (std::isinf(d)) {
                out += d > 0 ? "Infinity" : "-Infinity";
            } else {
                char buf[32];
                const auto r = std::to_chars(buf, buf + sizeof(buf), d);
                out.append(buf, r.ptr);
            }
        } else {
            out += std::to_string(v);
        }
    } else if constexpr (is_string_v<T>) {
        append_quoted(out, std::string_view(v));
    } else if constexpr (is_map<T>::value) {
        std::vector<std::pair<std::string_view, const typename T::mapped_type*>> items;
        for (const auto& [key, value] : v)
            items.emplace_back(std::string_view(key), &value);
        std::sort(items.begin(), items.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        out.push_back('{');
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (i)
                out += ", ";
            append_quoted(out, items[i].first);
            out += ": ";
            append_json(out, *items[i].second);
        }
        out.push_back('}');
    } else if constexpr (is_sequence<T>::value) {
        out.push_back('[');
        bool first = true;
        for (const auto& item : v) {
            if (!first)
                out += ", ";
            first = false;
            append_json(out, item);
        }
        out.push_back(']');
    } else {
        static_assert(sizeof(T) == 0, "lstrace: describe this type with a DataInfo");
    }
}

// Characters (code points) of UTF-8 text, like Python's len(str).
inline std::int64_t utf8_length(std::string_view s)
{
    std::int64_t n = 0;
    for (const char c : s)
        n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    return n;
}

// The first `chars` characters, and at most what the probe carries
// (LSTRACE_VALUE_LEN - 1 bytes), never cutting a UTF-8 sequence.
inline std::string utf8_prefix(std::string_view s, std::size_t chars)
{
    constexpr std::size_t max_bytes = LSTRACE_VALUE_LEN - 1;
    std::size_t end = 0, seen = 0;  // end: after the last whole character kept
    for (std::size_t i = 0; i <= s.size(); ++i) {
        const bool boundary = i == s.size() || (static_cast<unsigned char>(s[i]) & 0xc0) != 0x80;
        if (!boundary)
            continue;
        if (i > max_bytes)
            break;
        end = i;
        if (i == s.size() || seen == chars)
            break;
        ++seen;
    }
    return std::string(s.substr(0, end));
}

}  // namespace data_detail

// What the data-flow probe carries for `value`.
template <typename T>
DataInfo describe(const T& value)
{
    using namespace data_detail;
    DataInfo info;
    std::string text;
    if constexpr (is_string_v<T>) {
        std::string_view s;
        if constexpr (std::is_pointer_v<std::decay_t<T>>) {
            if (value)  // a null C string describes as ""
                s = value;
        } else {
            s = value;
        }
        info.type = "str";
        info.size_bytes = static_cast<std::int64_t>(s.size());
        info.length = utf8_length(s);
        info.preview = utf8_prefix(s, 100);
        info.fingerprint = lstrace_fingerprint(s.data(), s.size());
        return info;
    } else {
        append_json(text, value);
        if constexpr (std::is_same_v<T, bool>) {
            info.type = "bool";
        } else if constexpr (std::is_floating_point_v<T>) {
            info.type = "float";
        } else if constexpr (std::is_arithmetic_v<T>) {
            info.type = "int";
        } else if constexpr (is_map<T>::value) {
            info.type = "dict";
            info.length = static_cast<std::int64_t>(value.size());
            if (value.size() < 10) {
                std::vector<std::string_view> keys;
                for (const auto& item : value)
                    keys.emplace_back(item.first);
                std::sort(keys.begin(), keys.end());
                for (std::string_view k : keys)
                    (info.keys += info.keys.empty() ? "" : ",") += k;
                info.keys = utf8_prefix(info.keys, LSTRACE_VALUE_LEN);
            } else {
                info.keys = std::to_string(value.size()) + " keys";
            }
        } else {
            info.type = "list";
            info.length =
                static_cast<std::int64_t>(std::distance(std::begin(value), std::end(value)));
        }
        info.size_bytes = static_cast<std::int64_t>(text.size());
        info.preview = utf8_prefix(text, 100);
        info.fingerprint = lstrace_fingerprint(text.data(), text.size());
        return info;
    }
}

inline DataInfo describe(const DataInfo& info)
{
    return info;
}

inline void send_data_flow(int direction, const DataInfo& d)
{
    lstrace_data_flow(direction, d.type.c_str(), d.size_bytes, d.length, d.keys.c_str(),
                      d.preview.c_str(), d.fingerprint);
}

// Data entering the current span's operation.
template <typename T>
void data_input(const T& value)
{
    if (LSTRACE_EVENT_ENABLED(data_flow))
        send_data_flow(LSTRACE_DATA_INPUT, describe(value));
}

// Data leaving the current span's operation.
template <typename T>
void data_output(const T& value)
{
    if (LSTRACE_EVENT_ENABLED(data_flow))
        send_data_flow(LSTRACE_DATA_OUTPUT, describe(value));
}

// `input` became `output` in the current span (one data_transform record,
// with the size change and ratio).  Both halves are described first and
// sent back to back, so nothing can come between them.
template <typename In, typename Out>
void data_transformation(const In& input, const Out& output)
{
    if (!LSTRACE_EVENT_ENABLED(data_flow))
        return;
    const DataInfo in = describe(input);
    const DataInfo out = describe(output);
    send_data_flow(LSTRACE_DATA_TRANSFORM_INPUT, in);
    send_data_flow(LSTRACE_DATA_TRANSFORM_OUTPUT, out);
}

}  // namespace lstrace
