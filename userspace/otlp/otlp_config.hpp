// Where and how OTLP export sends: the command line's choices
// (`record --otlp [URL]`, `export --endpoint URL`, `--otlp-protocol`,
// `--genai MAP`) resolved against the OpenTelemetry environment variables
// (OTEL_EXPORTER_OTLP_*, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_BSP_*), flags first.  Bad values are usage errors (exit code 2)
// reported before anything is loaded.  docs/otlp.md lists every variable.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "config/cli.hpp"

namespace lstrace::otlp {

enum class Protocol { protobuf, json };

// The GenAI semantic conventions' operations lstrace maps spans to.
enum class GenAiOperation { chat, invoke_agent, execute_tool, invoke_workflow };

struct GenAiRule {
    std::string component;  // matched exactly against the span's component
    GenAiOperation operation;
};

using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct Config {
    std::string url;  // the traces endpoint, e.g. http://localhost:4318/v1/traces
    Protocol protocol = Protocol::protobuf;
    KeyValues headers;  // extra HTTP headers (OTEL_EXPORTER_OTLP_HEADERS)
    bool gzip = false;
    std::chrono::milliseconds timeout{10000};        // per request, and the flush at the end
    std::string certificate;                         // CA file; empty: the system store
    std::string service_name;                        // empty: derived per process
    KeyValues resource_attributes;                   // OTEL_RESOURCE_ATTRIBUTES, in order
    std::size_t max_queue_size = 2048;               // spans waiting to be sent
    std::size_t max_batch_size = 512;                // spans per request
    std::chrono::milliseconds schedule_delay{1000};  // longest a span waits for its batch
    std::vector<GenAiRule> genai;
};

// Reads one environment variable; nullptr when unset.
using EnvLookup = std::function<const char*(const char*)>;
const char* process_env(const char* name);

// Throws FatalError(ExitCode::usage) naming the bad flag or variable.
Config resolve_config(const OtlpOptions& options, const EnvLookup& env = process_env);

// The default GenAI rules (llm/chat/model -> chat, agent -> invoke_agent,
// tool -> execute_tool, workflow/orchestrator -> invoke_workflow).
std::vector<GenAiRule> default_genai_rules();

const char* operation_name(GenAiOperation op);

// "a=1,b=x%20y" (W3C baggage-like, as the OTEL_* lists are written);
// throws FatalError(usage) naming `what` on a malformed entry.
KeyValues parse_key_value_list(const std::string& text, const std::string& what);

}  // namespace lstrace::otlp
