// The LangSwarm tracing standard's TracingConfig as a recorder config file
// (`lstrace-bpf record --config FILE`), plus lstrace's own settings.
//
// The file is one JSON object whose keys are the standard's field names
// (tracing-standards.md, "Tracing Configuration"), spelled exactly the same,
// so one config can serve the Python tracer and this recorder:
//
//   {"output_file": "trace.jsonl", "output_format": "jsonl",
//    "enabled_components": ["agent", "llm"], "min_duration_ms": 1.5,
//    "include_stack_trace": true}
//
// Every key is optional; a missing key keeps its default (the standard's).
// `null` is accepted where the standard's default is None (output_file,
// enabled_components, disabled_components).  Unknown keys, wrong types and
// out-of-range values are errors, never ignored: a typo in a config file
// would otherwise silently trace something else than intended.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/result.hpp"

namespace lstrace {

enum class OutputFormat { jsonl, json, text };

// "jsonl", "json", "text".
const char* to_string(OutputFormat f);
std::optional<OutputFormat> parse_output_format(const std::string& s);

// Variables whose values say how a process runs without being secrets.
// The environment is never written whole: it is where credentials live.
std::vector<std::string> default_environment_allowlist();

struct TracingConfig {
    // --- the standard's keys ---
    std::string output_file;  // empty: not set (the CLI default applies)
    OutputFormat output_format = OutputFormat::jsonl;
    std::vector<std::string> enabled_components;   // empty: all components
    std::vector<std::string> disabled_components;  // wins over enabled_components
    double min_duration_ms = 0.0;                  // spans shorter than this are not written
    int max_trace_size = 10000;  // spans/records the recorder holds in memory at most
    int flush_interval = 100;    // flush the output every N records
    bool include_stack_trace = false;
    bool include_environment = false;
    bool include_thread_info = false;
    bool debug_mode = false;
    bool verbose_errors = false;

    // --- lstrace's own ---
    double sample_interval_ms = 0.0;  // process-wide resource samples; 0 = off
    // Environment variables written with include_environment.  A trailing
    // '*' matches a prefix ("LC_*"); a bare "*" is refused.
    std::vector<std::string> environment_allowlist = default_environment_allowlist();

    // Whether spans of `component` are written (disabled wins, then an
    // empty enabled list means all).
    bool component_enabled(const std::string& component) const;
};

// All keys a config file may contain, in documentation order.
const std::vector<std::string>& tracing_config_keys();

// Sets one key from a JSON value, with the same checks as a config file.
// The error message names the key and what it expects.  The CLI's
// overriding flags go through here too, so both share one set of rules.
std::optional<Error> set_tracing_config_value(TracingConfig& config, const std::string& key,
                                              const nlohmann::json& value);

// Parses config text on top of `base`.  `source` names the text in error
// messages (the file name): "cfg.json:3:14: syntax error ...".
Result<TracingConfig> parse_tracing_config(const std::string& text, const std::string& source,
                                           TracingConfig base = TracingConfig());

// A tracing config is a few hundred bytes; past this it is not one.
inline constexpr std::size_t kMaxTracingConfigBytes = 1 << 20;

// Reads and parses the file at `path` on top of the defaults.
Result<TracingConfig> load_tracing_config(const std::string& path);

// The config as a JSON object with every key (for debug output and tests).
nlohmann::json to_json(const TracingConfig& config);

}  // namespace lstrace
