#include "otlp/otlp_encoding.hpp"

#include <zlib.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace lstrace::otlp {
namespace {

using json = nlohmann::json;
namespace pb_resource = opentelemetry::proto::resource::v1;

std::string hex(const std::string& bytes)
{
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

json any_value(const pb_common::AnyValue& v);

json key_values(const google::protobuf::RepeatedPtrField<pb_common::KeyValue>& kvs)
{
    json out = json::array();
    for (const auto& kv : kvs)
        out.push_back({{"key", kv.key()}, {"value", any_value(kv.value())}});
    return out;
}

json any_value(const pb_common::AnyValue& v)
{
    switch (v.value_case()) {
    case pb_common::AnyValue::kStringValue:
        return {{"stringValue", v.string_value()}};
    case pb_common::AnyValue::kBoolValue:
        return {{"boolValue", v.bool_value()}};
    case pb_common::AnyValue::kIntValue:
        return {{"intValue", std::to_string(v.int_value())}};  // 64-bit integers as strings
    case pb_common::AnyValue::kDoubleValue: {
        const double d = v.double_value();
        if (std::isnan(d))
            return {{"doubleValue", "NaN"}};
        if (std::isinf(d))
            return {{"doubleValue", d > 0 ? "Infinity" : "-Infinity"}};
        return {{"doubleValue", d}};
    }
    case pb_common::AnyValue::kArrayValue: {
        json values = json::array();
        for (const auto& item : v.array_value().values())
            values.push_back(any_value(item));
        return {{"arrayValue", {{"values", values}}}};
    }
    case pb_common::AnyValue::kKvlistValue:
        return {{"kvlistValue", {{"values", key_values(v.kvlist_value().values())}}}};
    case pb_common::AnyValue::kBytesValue:
        return {{"bytesValue", v.bytes_value()}};  // not produced by the mapping
    case pb_common::AnyValue::VALUE_NOT_SET:
        break;
    }
    return json::object();
}

json span_json(const pb_trace::Span& s)
{
    json j = {{"traceId", hex(s.trace_id())}, {"spanId", hex(s.span_id())}};
    if (!s.parent_span_id().empty())
        j["parentSpanId"] = hex(s.parent_span_id());
    j["name"] = s.name();
    j["kind"] = static_cast<int>(s.kind());
    j["startTimeUnixNano"] = std::to_string(s.start_time_unix_nano());
    j["endTimeUnixNano"] = std::to_string(s.end_time_unix_nano());
    if (s.attributes_size())
        j["attributes"] = key_values(s.attributes());
    if (s.events_size()) {
        json events = json::array();
        for (const auto& e : s.events()) {
            json ev = {{"timeUnixNano", std::to_string(e.time_unix_nano())}, {"name", e.name()}};
            if (e.attributes_size())
                ev["attributes"] = key_values(e.attributes());
            events.push_back(std::move(ev));
        }
        j["events"] = std::move(events);
    }
    if (s.has_status() && s.status().code() != pb_trace::Status::STATUS_CODE_UNSET) {
        json st = {{"code", static_cast<int>(s.status().code())}};
        if (!s.status().message().empty())
            st["message"] = s.status().message();
        j["status"] = std::move(st);
    }
    return j;
}

}  // namespace

std::string to_otlp_json(const pb_collector::ExportTraceServiceRequest& request)
{
    json resource_spans = json::array();
    for (const auto& rs : request.resource_spans()) {
        json scopes = json::array();
        for (const auto& ss : rs.scope_spans()) {
            json spans = json::array();
            for (const auto& s : ss.spans())
                spans.push_back(span_json(s));
            json scope = {{"name", ss.scope().name()}};
            if (!ss.scope().version().empty())
                scope["version"] = ss.scope().version();
            scopes.push_back({{"scope", std::move(scope)}, {"spans", std::move(spans)}});
        }
        resource_spans.push_back(
            {{"resource", {{"attributes", key_values(rs.resource().attributes())}}},
             {"scopeSpans", std::move(scopes)}});
    }
    return json{{"resourceSpans", std::move(resource_spans)}}.dump(-1, ' ', false,
                                                                   json::error_handler_t::replace);
}

std::string encode(const pb_collector::ExportTraceServiceRequest& request, Protocol protocol)
{
    if (protocol == Protocol::json)
        return to_otlp_json(request);
    std::string out;
    if (!request.SerializeToString(&out))
        throw std::runtime_error("protobuf serialization of an OTLP request failed");
    return out;
}

std::string gzip(const std::string& data)
{
    z_stream zs{};
    // windowBits 15 + 16: a gzip header and trailer, not zlib's
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        throw std::runtime_error("deflateInit2 failed");
    std::string out(deflateBound(&zs, data.size()) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END)
        throw std::runtime_error("gzip compression failed");
    return out;
}

ResponseInfo read_success_body(const std::string& body, Protocol protocol)
{
    ResponseInfo info;
    if (body.empty())
        return info;
    if (protocol == Protocol::protobuf) {
        pb_collector::ExportTraceServiceResponse r;
        if (r.ParseFromString(body) && r.has_partial_success()) {
            info.rejected_spans = r.partial_success().rejected_spans();
            info.message = r.partial_success().error_message();
        }
        return info;
    }
    const json j = json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("partialSuccess") && j["partialSuccess"].is_object()) {
        const json& ps = j["partialSuccess"];
        if (auto it = ps.find("rejectedSpans"); it != ps.end()) {
            if (it->is_number_integer())
                info.rejected_spans = it->get<std::int64_t>();
            else if (it->is_string())
                info.rejected_spans = std::atoll(it->get<std::string>().c_str());
        }
        if (auto it = ps.find("errorMessage"); it != ps.end() && it->is_string())
            info.message = it->get<std::string>();
    }
    return info;
}

std::string read_error_body(const std::string& body, Protocol protocol)
{
    if (body.empty())
        return "";
    if (protocol == Protocol::protobuf) {
        pb_collector::RpcStatus st;
        if (st.ParseFromString(body) && !st.message().empty())
            return st.message();
    }
    const json j = json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("message") && j["message"].is_string())
        return j["message"].get<std::string>();
    std::string text = body.substr(0, 200);
    for (char& c : text)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
            c = ' ';
    return text;
}

}  // namespace lstrace::otlp
