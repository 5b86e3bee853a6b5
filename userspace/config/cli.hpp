// Command-line parsing into one options struct.  Pure: no side effects, so
// the unit tests cover it without root.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/comparison_settings.hpp"
#include "config/tracing_config.hpp"

namespace lstrace {

// OTLP export (userspace/otlp/, docs/otlp.md): what the command line says;
// the OTEL_* environment fills in the rest when the export starts.
struct OtlpOptions {
    bool enabled = false;       // record --otlp, export --format otlp
    std::string endpoint;       // record --otlp URL, export --endpoint URL; "": environment
    std::string endpoint_flag;  // which flag gave it, for messages
    std::string protocol;       // --otlp-protocol http/protobuf|http/json; "": environment
    std::string genai;          // --genai MAP ("component=operation,...", "none"); "": default
};

struct RecordOptions {
    std::vector<int> pids;                 // -p PID[,PID...]
    std::string binary;                    // --binary PATH: every process running it
    bool follow = false;                   // --follow: children too
    std::vector<std::string> command;      // after --
    std::string output = "trace.jsonl";    // -o FILE, "-" for stdout
    std::optional<double> duration_s;      // --duration SECONDS
    std::uint32_t buffer_mib = 16;         // --buffer-size MiB (power of two)
    bool force = false;                    // --force: replace an existing output file
    std::string btf_path;                  // --btf PATH: kernel BTF for CO-RE
    bool redact = true;                    // --no-redact turns secret redaction off
    std::vector<std::string> redact_keys;  // --redact-keys a,b: more secret tag keys
    bool verbose = false;
    std::string config_path;  // --config FILE, empty if none
    OtlpOptions otlp;         // --otlp [URL]: stream spans while recording
    // The tracing standard's settings: defaults < --config FILE < flags
    // (--format, --components, ...).  config.output_file always equals
    // `output`, the effective output (-o beats the file's output_file).
    TracingConfig config;
};

struct ListOptions {
    std::optional<int> pid;
    std::string path;
};

struct AnalyzeOptions {
    std::string path;                      // TRACE.jsonl
    bool json = false;                     // --json
    std::optional<std::string> component;  // --component NAME: that component's report
    std::optional<std::size_t> top;        // --top N: critical paths and self times listed
};

struct ReportOptions {
    std::string path;                    // TRACE.jsonl
    std::string output = "report.html";  // -o FILE
    std::size_t max_spans = 50000;       // --max-spans N: spans drawn (the first N to begin)
    std::vector<std::string> baselines;  // --baseline FILE (repeatable): comparison and trend
};

// --confidence, --min-effect PCT, --min-spans N, --only LIST of compare and trend.
struct ComparisonOptions {
    bool json = false;  // --json
    ComparisonSettings settings;
    std::vector<std::string> only;  // --only component,...: these components only
};

struct CompareOptions : ComparisonOptions {
    std::string base, current;          // BASE.jsonl NEW.jsonl
    std::optional<double> fail_on_pct;  // --fail-on PCT: exit 10 past PCT % slower
};

struct TrendOptions : ComparisonOptions {
    std::vector<std::string> paths;  // trace files, or one folder of them
};

struct ExportOptions {
    std::string path;               // TRACE.jsonl
    std::string format = "chrome";  // --format chrome|otlp
    std::string output = "-";       // -o FILE, "-" for stdout
    bool output_given = false;      // -o was given (otlp: a file rather than --endpoint)
    OtlpOptions otlp;               // with --format otlp
};

struct TopOptions {
    std::vector<int> pids;                // -p PID[,PID...]
    double interval_s = 1.0;              // -i/--interval SECONDS
    std::optional<long long> iterations;  // -n/--iterations N (--once: 1); default until stopped
    std::size_t rows = 15;                // --rows N
    std::uint32_t buffer_mib = 16;        // -b/--buffer-size MiB
    std::string btf_path;                 // --btf PATH
};

enum class Subcommand {
    help,
    version,
    record,
    list,
    summary,
    analyze,
    report,
    export_trace,
    top,
    compare,
    trend
};

struct CommandLine {
    Subcommand subcommand = Subcommand::help;
    RecordOptions record;
    ListOptions list;
    std::string summary_path;  // summary FILE
    AnalyzeOptions analyze;
    ReportOptions report;
    ExportOptions export_trace;
    TopOptions top;
    CompareOptions compare;
    TrendOptions trend;
    bool verbose = false;
};

// Throws FatalError(ExitCode::usage) with a one-line message on bad input.
CommandLine parse_command_line(int argc, char** argv);

// Full help text with usage and examples.
const char* help_text();

// Whole-string number parsing: "12abc", "", " 1" and overflow are errors.
std::optional<long long> parse_integer(const std::string& s);
std::optional<double> parse_number(const std::string& s);

}  // namespace lstrace
