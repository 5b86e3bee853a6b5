// OTLP request bodies: binary protobuf (libprotobuf), and the OTLP/JSON
// form (the protobuf JSON mapping with OTLP's exceptions: trace and span ids
// as hex strings, enums as integers, lowerCamelCase names), plus gzip and
// reading the receiver's response.
#pragma once

#include <cstdint>
#include <string>

#include "otlp/otlp_config.hpp"
#include "otlp/otlp_mapping.hpp"

namespace lstrace::otlp {

std::string encode(const pb_collector::ExportTraceServiceRequest& request, Protocol protocol);
std::string to_otlp_json(const pb_collector::ExportTraceServiceRequest& request);

// RFC 1952 gzip of `data`.
std::string gzip(const std::string& data);

// A 2xx response body: the spans it says it rejected (partial success), and
// its message.  Unreadable bodies count as full success.
struct ResponseInfo {
    std::int64_t rejected_spans = 0;
    std::string message;
};
ResponseInfo read_success_body(const std::string& body, Protocol protocol);

// An error response's message (google.rpc.Status, or its JSON form); the
// body itself, cut, when it is neither.
std::string read_error_body(const std::string& body, Protocol protocol);

}  // namespace lstrace::otlp
