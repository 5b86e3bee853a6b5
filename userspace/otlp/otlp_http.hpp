// Where OTLP requests go: an OTLP/HTTP endpoint (libcurl: HTTP/1.1,
// keep-alive, HTTPS with the system CA store) or, for
// `export --format otlp -o FILE`, a file of OTLP/JSON lines.  A Transport
// only sends and classifies the answer; retrying is the exporter's.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "otlp/otlp_config.hpp"
#include "otlp/otlp_mapping.hpp"

namespace lstrace {
class TraceOutput;
}

namespace lstrace::otlp {

using Clock = std::chrono::steady_clock;

struct SendOutcome {
    enum Kind { accepted, retryable, rejected } kind = accepted;
    std::int64_t rejected_spans = 0;            // accepted with partial success
    std::chrono::milliseconds retry_after{-1};  // from Retry-After; -1: none
    std::string message;  // "HTTP 503: overloaded", "Could not resolve host: x", ...
};

class Transport {
public:
    virtual ~Transport() = default;
    // Gives up at `deadline`, or as soon as `abort` turns true.
    virtual SendOutcome send(const pb_collector::ExportTraceServiceRequest& request,
                             Clock::time_point deadline, const std::atomic<bool>& abort) = 0;
    virtual std::string describe() const = 0;  // for the summary: the URL or the file
};

std::unique_ptr<Transport> make_http_transport(const Config& config);

// One OTLP/JSON request per line (the Collector's otlpjsonfile format).
// The output must outlive the transport.
std::unique_ptr<Transport> make_file_transport(TraceOutput& output);

// "120" (seconds) or an HTTP date, as a wait from now; nullopt if neither.
std::chrono::milliseconds parse_retry_after(const std::string& value);

}  // namespace lstrace::otlp
