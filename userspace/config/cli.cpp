#include "config/cli.hpp"

#include <getopt.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/errors.hpp"

namespace lstrace {
namespace {

constexpr double kMaxDurationSeconds = 366.0 * 24 * 3600;

[[noreturn]] void usage_error(const std::string& message)
{
    throw FatalError(ExitCode::usage, message + " (see 'lstrace-bpf --help')");
}

std::vector<int> parse_pid_list(const std::string& arg)
{
    std::vector<int> pids;
    std::stringstream ss(arg);
    std::string item;
    while (std::getline(ss, item, ',')) {
        auto v = parse_integer(item);
        if (!v || *v <= 0 || *v > 0x3fffffff)
            usage_error("invalid PID '" + item + "'");
        pids.push_back(static_cast<int>(*v));
    }
    if (pids.empty() || arg.back() == ',')
        usage_error("invalid PID list '" + arg + "'");
    return pids;
}

// -b/--buffer-size of record and top: MiB, a power of two.
std::uint32_t buffer_size_argument(const char* arg)
{
    auto v = parse_integer(arg);
    if (!v || *v < 1 || *v > 1024 || (*v & (*v - 1)) != 0)
        usage_error(std::string("invalid --buffer-size '") + arg +
                    "': expected a power of two from 1 to 1024 (MiB)");
    return static_cast<std::uint32_t>(*v);
}

// A count flag's value: an integer from 1 to `max`.
std::size_t count_argument(const char* flag, const char* arg, long long max)
{
    auto v = parse_integer(arg);
    if (!v || *v < 1 || *v > max)
        usage_error(std::string("invalid ") + flag + " '" + arg + "': expected 1 to " +
                    std::to_string(max));
    return static_cast<std::size_t>(*v);
}

std::string btf_argument(const char* arg)
{
    if (!*arg)
        usage_error("--btf needs a file name");
    return arg;
}

// "a,b,,c" -> {a, b, c}; a list with no name in it is an error.
std::vector<std::string> parse_name_list(const std::string& flag, const std::string& arg)
{
    std::vector<std::string> names;
    std::stringstream ss(arg);
    std::string name;
    while (std::getline(ss, name, ','))
        if (!name.empty())
            names.push_back(name);
    if (names.empty())
        usage_error(flag + " needs a comma-separated list of names");
    return names;
}

// Long-only record options (values past any char getopt could return).
enum RecordFlag : int {
    kConfig = 256,
    kFormat,
    kComponents,
    kExcludeComponents,
    kMinDuration,
    kMaxTraceSize,
    kFlushInterval,
    kStackTraces,
    kEnvironment,
    kThreadInfo,
    kDebug,
    kVerboseErrors,
    kSampleInterval,
    kEnvAllow,
    kOtlp,
    kOtlpProtocol,
    kGenAi,
    kEndpoint,
};

// Long-only options of compare, trend and report --baseline.
enum ComparisonFlag : int {
    kConfidence = 320,
    kMinEffect,
    kMinSpans,
    kOnly,
    kFailOn,
    kBaseline,
};
// The OTLP flags record and export share.
bool otlp_option(int c, const char* arg, OtlpOptions& o)
{
    switch (c) {
    case kOtlpProtocol:
        if (std::string(arg) != "http/protobuf" && std::string(arg) != "http/json")
            usage_error(std::string("invalid --otlp-protocol '") + arg +
                        "': expected http/protobuf or http/json");
        o.protocol = arg;
        return true;
    case kGenAi:
        if (!*arg)
            usage_error("--genai needs component=operation pairs or 'none'");
        o.genai = arg;
        return true;
    default:
        return false;
    }
}

// One TracingConfig flag: which key it sets, and the value it gives it.
struct ConfigOverride {
    std::string flag;
    std::string key;
    nlohmann::json value;
    std::string arg;  // as typed, for messages
};

// The flag's value as the JSON value its config key takes, so that flags and
// the file go through the same checks (set_tracing_config_value).
ConfigOverride config_override(int c, const char* arg)
{
    using json = nlohmann::json;
    const std::string value = arg ? arg : "";
    const auto number = [&](const char* flag, const char* key, bool integer) -> ConfigOverride {
        if (integer) {
            auto v = parse_integer(value);
            if (!v)
                usage_error(std::string("invalid ") + flag + " '" + value + "': expected an integer");
            return {flag, key, json(*v), value};
        }
        auto v = parse_number(value);
        if (!v)
            usage_error(std::string("invalid ") + flag + " '" + value + "': expected milliseconds");
        return {flag, key, json(*v), value};
    };
    switch (c) {
    case kFormat:
        return {"--format", "output_format", json(value), value};
    case kComponents:
        return {"--components", "enabled_components", json(parse_name_list("--components", value)), value};
    case kExcludeComponents:
        return {"--exclude-components", "disabled_components",
                json(parse_name_list("--exclude-components", value)), value};
    case kMinDuration:
        return number("--min-duration", "min_duration_ms", false);
    case kMaxTraceSize:
        return number("--max-trace-size", "max_trace_size", true);
    case kFlushInterval:
        return number("--flush-interval", "flush_interval", true);
    case kSampleInterval:
        return number("--sample-interval", "sample_interval_ms", false);
    case kEnvAllow:
        return {"--env-allow", "environment_allowlist", json(parse_name_list("--env-allow", value)), value};
    case kStackTraces:
        return {"--stack-traces", "include_stack_trace", json(true), ""};
    case kEnvironment:
        return {"--environment", "include_environment", json(true), ""};
    case kThreadInfo:
        return {"--thread-info", "include_thread_info", json(true), ""};
    case kDebug:
        return {"--debug", "debug_mode", json(true), ""};
    case kVerboseErrors:
        return {"--verbose-errors", "verbose_errors", json(true), ""};
    default:
        throw FatalError(ExitCode::internal, "no config key for option " + std::to_string(c));
    }
}

void apply_override(TracingConfig& config, const ConfigOverride& o)
{
    if (auto err = set_tracing_config_value(config, o.key, o.value)) {
        usage_error("invalid " + o.flag + (o.arg.empty() ? "" : " '" + o.arg + "'") + ": " + err->message);
    }
}

// getopt_long keeps global state; reset it so parsing is repeatable.
void reset_getopt()
{
    optind = 0;
    opterr = 0;
}

std::string bad_option_message(int argc, char** argv)
{
    const char* arg = optind - 1 < argc ? argv[optind - 1] : "";
    // getopt sets optopt to a known long option's value when it was given a
    // value it does not take ("--debug=1")
    if (optopt && std::strncmp(arg, "--", 2) == 0)
        return std::string("option '") + arg + "' takes no value";
    if (optopt && optopt != '?')
        return std::string("option requires an argument or is unknown: -") + char(optopt);
    return std::string("unknown option '") + arg + "'";
}

// Options every subcommand takes (-v, -h) and getopt's error codes.
void common_option(int c, char** argv, int argc, bool& verbose, bool& help)
{
    switch (c) {
    case 'v':
        verbose = true;
        return;
    case 'h':
        help = true;
        return;
    case ':':
        usage_error(std::string("option '") + argv[optind - 1] + "' needs a value");
    default:
        usage_error(bad_option_message(argc, argv));
    }
}

RecordOptions parse_record(int argc, char** argv, bool& verbose, bool& help)
{
    static const option long_opts[] = {
        {"pid", required_argument, nullptr, 'p'},
        {"output", required_argument, nullptr, 'o'},
        {"duration", required_argument, nullptr, 'd'},
        {"buffer-size", required_argument, nullptr, 'b'},
        {"force", no_argument, nullptr, 'f'},
        {"btf", required_argument, nullptr, 'B'},
        {"no-redact", no_argument, nullptr, 'N'},
        {"binary", required_argument, nullptr, 'X'},
        {"follow", no_argument, nullptr, 'F'},
        {"redact-keys", required_argument, nullptr, 'K'},
        {"config", required_argument, nullptr, kConfig},
        {"format", required_argument, nullptr, kFormat},
        {"components", required_argument, nullptr, kComponents},
        {"exclude-components", required_argument, nullptr, kExcludeComponents},
        {"min-duration", required_argument, nullptr, kMinDuration},
        {"max-trace-size", required_argument, nullptr, kMaxTraceSize},
        {"flush-interval", required_argument, nullptr, kFlushInterval},
        {"stack-traces", no_argument, nullptr, kStackTraces},
        {"environment", no_argument, nullptr, kEnvironment},
        {"thread-info", no_argument, nullptr, kThreadInfo},
        {"debug", no_argument, nullptr, kDebug},
        {"verbose-errors", no_argument, nullptr, kVerboseErrors},
        {"sample-interval", required_argument, nullptr, kSampleInterval},
        {"env-allow", required_argument, nullptr, kEnvAllow},
        {"otlp", optional_argument, nullptr, kOtlp},
        {"otlp-protocol", required_argument, nullptr, kOtlpProtocol},
        {"genai", required_argument, nullptr, kGenAi},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    RecordOptions o;
    bool output_given = false;
    std::vector<ConfigOverride> overrides;  // applied after the file: flags win
    reset_getopt();
    int c;
    // '+': stop at the first non-option, which starts the command to launch
    while ((c = getopt_long(argc, argv, "+:p:o:d:b:fvh", long_opts, nullptr)) != -1) {
        switch (c) {
        case 'p': {
            auto more = parse_pid_list(optarg);
            o.pids.insert(o.pids.end(), more.begin(), more.end());
            break;
        }
        case 'o':
            if (!*optarg)
                usage_error("-o needs a file name ('-' for standard output)");
            o.output = optarg;
            output_given = true;
            break;
        case 'd': {
            auto v = parse_number(optarg);
            if (!v || *v <= 0 || !std::isfinite(*v) || *v > kMaxDurationSeconds)
                usage_error(std::string("invalid --duration '") + optarg +
                            "': expected seconds > 0 (at most a year)");
            o.duration_s = *v;
            break;
        }
        case 'b':
            o.buffer_mib = buffer_size_argument(optarg);
            break;
        case 'f':
            o.force = true;
            break;
        case 'B':
            o.btf_path = btf_argument(optarg);
            break;
        case 'N':
            o.redact = false;
            break;
        case 'X':
            if (!*optarg)
                usage_error("--binary needs a file name");
            o.binary = optarg;
            break;
        case 'F':
            o.follow = true;
            break;
        case 'K': {
            auto keys = parse_name_list("--redact-keys", optarg);
            o.redact_keys.insert(o.redact_keys.end(), keys.begin(), keys.end());
            break;
        }
        case kConfig:
            if (!*optarg)
                usage_error("--config needs a file name");
            o.config_path = optarg;
            break;
        case kOtlp:
            o.otlp.enabled = true;
            o.otlp.endpoint_flag = "--otlp";
            // --otlp=URL, or --otlp URL: the next word is the URL when it
            // looks like one (a command to launch does not start with http://)
            if (optarg)
                o.otlp.endpoint = optarg;
            else if (optind < argc && (std::strncmp(argv[optind], "http://", 7) == 0 ||
                                       std::strncmp(argv[optind], "https://", 8) == 0))
                o.otlp.endpoint = argv[optind++];
            if (optarg && !*optarg)
                usage_error("--otlp= needs a URL");
            break;
        case kOtlpProtocol:
        case kGenAi:
            otlp_option(c, optarg, o.otlp);
            break;
        case kFormat:
        case kComponents:
        case kExcludeComponents:
        case kMinDuration:
        case kMaxTraceSize:
        case kFlushInterval:
        case kStackTraces:
        case kEnvironment:
        case kThreadInfo:
        case kDebug:
        case kVerboseErrors:
        case kSampleInterval:
        case kEnvAllow: {
            overrides.push_back(config_override(c, optarg));
            TracingConfig scratch;  // bad values are reported now, naming the flag
            apply_override(scratch, overrides.back());
            break;
        }
        default:
            common_option(c, argv, argc, verbose, help);
            if (help)
                return o;
        }
    }
    for (int i = optind; i < argc; ++i)
        o.command.emplace_back(argv[i]);
    // the same PID twice would attach every probe twice
    std::sort(o.pids.begin(), o.pids.end());
    o.pids.erase(std::unique(o.pids.begin(), o.pids.end()), o.pids.end());
    const int target_kinds = !o.pids.empty() + !o.command.empty() + !o.binary.empty();
    if (target_kinds == 0)
        usage_error("record needs -p PID, --binary PATH or a command to launch");
    if (target_kinds > 1)
        usage_error("-p, --binary and a command to launch cannot be combined");
    if (o.follow && !o.binary.empty())
        usage_error("--follow goes with -p or a command, not --binary");
    if (!o.config_path.empty()) {
        // a missing file is "target not found" (4), like a missing trace
        if (::access(o.config_path.c_str(), R_OK) != 0)
            throw FatalError(ExitCode::no_target, "cannot read tracing config " + o.config_path +
                                                      ": " + std::strerror(errno));
        auto loaded = load_tracing_config(o.config_path);
        if (!loaded)
            throw FatalError(ExitCode::usage, "invalid tracing config: " + loaded.error().message);
        o.config = std::move(loaded.value());
    }
    for (const ConfigOverride& ov : overrides)
        apply_override(o.config, ov);
    if ((!o.otlp.protocol.empty() || !o.otlp.genai.empty()) && !o.otlp.enabled)
        usage_error("--otlp-protocol and --genai go with --otlp");
    if (!output_given && !o.config.output_file.empty())
        o.output = o.config.output_file;
    else if (!output_given && o.otlp.enabled)
        o.output.clear();  // --otlp without -o: no local file
    o.config.output_file = o.output;
    o.verbose = verbose;
    return o;
}

ListOptions parse_list(int argc, char** argv, bool& verbose, bool& help)
{
    static const option long_opts[] = {
        {"pid", required_argument, nullptr, 'p'},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    ListOptions o;
    reset_getopt();
    int c;
    while ((c = getopt_long(argc, argv, "+:p:vh", long_opts, nullptr)) != -1) {
        switch (c) {
        case 'p': {
            auto pids = parse_pid_list(optarg);
            if (pids.size() != 1)
                usage_error("list takes one PID");
            o.pid = pids.front();
            break;
        }
        default:
            common_option(c, argv, argc, verbose, help);
            if (help)
                return o;
        }
    }
    if (optind < argc)
        o.path = argv[optind++];
    if (optind < argc)
        usage_error(std::string("unexpected argument '") + argv[optind] + "'");
    if (o.pid.has_value() == !o.path.empty())
        usage_error("list needs either a PATH or -p PID");
    return o;
}

// The one positional argument of analyze, report and export: a trace file.
std::string trace_path_argument(int argc, char** argv, const char* command)
{
    if (optind >= argc)
        usage_error(std::string(command) + " takes one trace file");
    std::string path = argv[optind++];
    if (optind < argc)
        usage_error(std::string("unexpected argument '") + argv[optind] + "'");
    return path;
}

std::string output_argument(const char* arg)
{
    if (!*arg)
        usage_error("-o needs a file name");
    return arg;
}

AnalyzeOptions parse_analyze(int argc, char** argv, bool& verbose, bool& help)
{
    static const option long_opts[] = {
        {"json", no_argument, nullptr, 'j'},
        {"component", required_argument, nullptr, 'c'},
        {"top", required_argument, nullptr, 'T'},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    AnalyzeOptions o;
    reset_getopt();
    int c;
    while ((c = getopt_long(argc, argv, ":c:vh", long_opts, nullptr)) != -1) {
        switch (c) {
        case 'j':
            o.json = true;
            break;
        case 'c':
            if (!*optarg)
                usage_error("--component needs a component name");
            o.component = optarg;
            break;
        case 'T':
            o.top = count_argument("--top", optarg, 1'000'000);
            break;
        default:
            common_option(c, argv, argc, verbose, help);
            if (help)
                return o;
        }
    }
    o.path = trace_path_argument(argc, argv, "analyze");
    return o;
}

ReportOptions parse_report(int argc, char** argv, bool& verbose, bool& help)
{
    static const option long_opts[] = {
        {"output", required_argument, nullptr, 'o'},
        {"max-spans", required_argument, nullptr, 'M'},
        {"baseline", required_argument, nullptr, kBaseline},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    ReportOptions o;
    reset_getopt();
    int c;
    while ((c = getopt_long(argc, argv, ":o:vh", long_opts, nullptr)) != -1) {
        switch (c) {
        case 'o':
            o.output = output_argument(optarg);
            break;
        case 'M':
            o.max_spans = count_argument("--max-spans", optarg, 10'000'000);
            break;
        case kBaseline:
            if (!*optarg)
                usage_error("--baseline needs a trace file");
            o.baselines.emplace_back(optarg);
            break;
        default:
            common_option(c, argv, argc, verbose, help);
            if (help)
                return o;
        }
    }
    o.path = trace_path_argument(argc, argv, "report");
    return o;
}

ExportOptions parse_export(int argc, char** argv, bool& verbose, bool& help)
{
    static const option long_opts[] = {
        {"format", required_argument, nullptr, 'F'},
        {"output", required_argument, nullptr, 'o'},
        {"endpoint", required_argument, nullptr, kEndpoint},
        {"otlp-protocol", required_argument, nullptr, kOtlpProtocol},
        {"genai", required_argument, nullptr, kGenAi},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    ExportOptions o;
    reset_getopt();
    int c;
    while ((c = getopt_long(argc, argv, ":o:vh", long_opts, nullptr)) != -1) {
        switch (c) {
        case 'F':
            if (std::string(optarg) != "chrome" && std::string(optarg) != "otlp")
                usage_error(std::string("unknown --format '") + optarg + "' (known: chrome, otlp)");
            o.format = optarg;
            break;
        case 'o':
            o.output = output_argument(optarg);
            o.output_given = true;
            break;
        case kEndpoint:
            if (!*optarg)
                usage_error("--endpoint needs a URL");
            o.otlp.endpoint = optarg;
            o.otlp.endpoint_flag = "--endpoint";
            break;
        default:
            if (otlp_option(c, optarg, o.otlp))
                break;
            common_option(c, argv, argc, verbose, help);
            if (help)
                return o;
        }
    }
    o.otlp.enabled = o.format == "otlp";
    if (!o.otlp.enabled && (!o.otlp.endpoint.empty() || !o.otlp.protocol.empty() || !o.otlp.genai.empty()))
        usage_error("--endpoint, --otlp-protocol and --genai go with --format otlp");
    if (!o.otlp.endpoint.empty() && o.output_given)
        usage_error("--endpoint and -o cannot be combined (send, or write a file)");
    if (o.output_given && o.otlp.protocol == "http/protobuf")
        usage_error("export --format otlp -o writes OTLP/JSON lines; --otlp-protocol http/protobuf "
                    "goes with --endpoint");
    o.path = trace_path_argument(argc, argv, "export");
    return o;
}

// The options compare and trend share; false when `c` is none of them.
bool comparison_option(int c, const char* arg, ComparisonOptions& o)
{
    switch (c) {
        case 'j':
            o.json = true;
            return true;
        case kConfidence: {
            auto v = parse_number(arg);
            if (!v || !(*v > 0.5 && *v < 1))
                usage_error(std::string("invalid --confidence '") + arg +
                            "': expected a level between 0.5 and 1, e.g. 0.95");
            o.settings.confidence = *v;
            return true;
        }
        case kMinEffect: {
            auto v = parse_number(arg);
            if (!v || !std::isfinite(*v) || *v < 0 || *v > 1000)
                usage_error(std::string("invalid --min-effect '") + arg +
                            "': expected a percentage from 0 to 1000");
            o.settings.min_effect = *v / 100.0;
            return true;
        }
        case kMinSpans:
            o.settings.min_spans = count_argument("--min-spans", arg, 1'000'000);
            return true;
        case kOnly: {
            auto names = parse_name_list("--only", arg);
            o.only.insert(o.only.end(), names.begin(), names.end());
            return true;
        }
        default:
            return false;
    }
}

// The long options of compare and trend: the shared ones, then `more`.
std::vector<option> comparison_long_options(std::initializer_list<option> more)
{
    std::vector<option> all = {
        {"json", no_argument, nullptr, 'j'},
        {"confidence", required_argument, nullptr, kConfidence},
        {"min-effect", required_argument, nullptr, kMinEffect},
        {"min-spans", required_argument, nullptr, kMinSpans},
        {"only", required_argument, nullptr, kOnly},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
    };
    all.insert(all.end(), more.begin(), more.end());
    all.push_back({nullptr, 0, nullptr, 0});
    return all;
}

CompareOptions parse_compare(int argc, char** argv, bool& verbose, bool& help)
{
    static const std::vector<option> long_opts =
        comparison_long_options({{"fail-on", required_argument, nullptr, kFailOn}});
    CompareOptions o;
    reset_getopt();
    int c;
    while ((c = getopt_long(argc, argv, ":vh", long_opts.data(), nullptr)) != -1) {
        if (comparison_option(c, optarg, o))
            continue;
        if (c == kFailOn) {
            auto v = parse_number(optarg);
            if (!v || !std::isfinite(*v) || *v < 0)
                usage_error(std::string("invalid --fail-on '") + optarg +
                            "': expected a percentage >= 0");
            o.fail_on_pct = *v;
            continue;
        }
        common_option(c, argv, argc, verbose, help);
        if (help)
            return o;
    }
    if (argc - optind != 2)
        usage_error("compare takes two trace files: BASE.jsonl NEW.jsonl");
    o.base = argv[optind];
    o.current = argv[optind + 1];
    return o;
}

TrendOptions parse_trend(int argc, char** argv, bool& verbose, bool& help)
{
    static const std::vector<option> long_opts = comparison_long_options({});
    TrendOptions o;
    reset_getopt();
    int c;
    while ((c = getopt_long(argc, argv, ":vh", long_opts.data(), nullptr)) != -1) {
        if (comparison_option(c, optarg, o))
            continue;
        common_option(c, argv, argc, verbose, help);
        if (help)
            return o;
    }
    for (int i = optind; i < argc; ++i) o.paths.emplace_back(argv[i]);
    if (o.paths.empty())
        usage_error("trend takes two or more trace files, or a folder of them");
    return o;
}

TopOptions parse_top(int argc, char** argv, bool& verbose, bool& help)
{
    static const option long_opts[] = {
        {"pid", required_argument, nullptr, 'p'},
        {"interval", required_argument, nullptr, 'i'},
        {"iterations", required_argument, nullptr, 'n'},
        {"once", no_argument, nullptr, '1'},
        {"rows", required_argument, nullptr, 'R'},
        {"buffer-size", required_argument, nullptr, 'b'},
        {"btf", required_argument, nullptr, 'B'},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    TopOptions o;
    reset_getopt();
    int c;
    while ((c = getopt_long(argc, argv, ":p:i:n:b:vh", long_opts, nullptr)) != -1) {
        switch (c) {
        case 'p': {
            auto more = parse_pid_list(optarg);
            o.pids.insert(o.pids.end(), more.begin(), more.end());
            break;
        }
        case 'i': {
            auto v = parse_number(optarg);
            if (!v || !std::isfinite(*v) || *v < 0.1 || *v > 3600)
                usage_error(std::string("invalid --interval '") + optarg +
                            "': expected 0.1 to 3600 seconds");
            o.interval_s = *v;
            break;
        }
        case 'n': {
            auto v = parse_integer(optarg);
            if (!v || *v < 1)
                usage_error(std::string("invalid --iterations '") + optarg +
                            "': expected a positive count");
            o.iterations = *v;
            break;
        }
        case '1':
            o.iterations = 1;
            break;
        case 'R':
            o.rows = count_argument("--rows", optarg, 1000);
            break;
        case 'b':
            o.buffer_mib = buffer_size_argument(optarg);
            break;
        case 'B':
            o.btf_path = btf_argument(optarg);
            break;
        default:
            common_option(c, argv, argc, verbose, help);
            if (help)
                return o;
        }
    }
    if (optind < argc)
        usage_error(std::string("unexpected argument '") + argv[optind] + "'");
    std::sort(o.pids.begin(), o.pids.end());
    o.pids.erase(std::unique(o.pids.begin(), o.pids.end()), o.pids.end());
    if (o.pids.empty())
        usage_error("top needs -p PID");
    return o;
}

// Runs one subcommand's parser on argv after the subcommand; --help turns
// the command line into a help request.
template <typename Options, typename Parser>
Options parse_sub(CommandLine& cl, Subcommand sub, int argc, char** argv, Parser parser)
{
    cl.subcommand = sub;
    bool help = false;
    Options o = parser(argc - 1, argv + 1, cl.verbose, help);
    if (help)
        cl.subcommand = Subcommand::help;
    return o;
}

}  // namespace

std::optional<long long> parse_integer(const std::string& s)
{
    if (s.empty() || std::isspace(static_cast<unsigned char>(s[0])))
        return std::nullopt;
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno != 0 || end != s.c_str() + s.size())
        return std::nullopt;
    return v;
}

std::optional<double> parse_number(const std::string& s)
{
    if (s.empty() || std::isspace(static_cast<unsigned char>(s[0])))
        return std::nullopt;
    errno = 0;
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (errno != 0 || end != s.c_str() + s.size())
        return std::nullopt;
    return v;
}

CommandLine parse_command_line(int argc, char** argv)
{
    CommandLine cl;
    if (argc < 2)
        usage_error("missing command");
    const std::string sub = argv[1];
    if (sub == "-h" || sub == "--help" || sub == "help") {
        cl.subcommand = Subcommand::help;
    } else if (sub == "--version" || sub == "version") {
        cl.subcommand = Subcommand::version;
    } else if (sub == "record") {
        cl.subcommand = Subcommand::record;
        bool help = false;
        cl.record = parse_record(argc - 1, argv + 1, cl.verbose, help);
        if (help)
            cl.subcommand = Subcommand::help;
    } else if (sub == "list") {
        cl.subcommand = Subcommand::list;
        bool help = false;
        cl.list = parse_list(argc - 1, argv + 1, cl.verbose, help);
        if (help)
            cl.subcommand = Subcommand::help;
    } else if (sub == "summary") {
        cl.subcommand = Subcommand::summary;
        if (argc != 3 || argv[2][0] == '-')
            usage_error("summary takes one trace file");
        cl.summary_path = argv[2];
    } else if (sub == "analyze") {
        cl.analyze = parse_sub<AnalyzeOptions>(cl, Subcommand::analyze, argc, argv, parse_analyze);
    } else if (sub == "report") {
        cl.report = parse_sub<ReportOptions>(cl, Subcommand::report, argc, argv, parse_report);
    } else if (sub == "export") {
        cl.export_trace =
            parse_sub<ExportOptions>(cl, Subcommand::export_trace, argc, argv, parse_export);
    } else if (sub == "compare") {
        cl.compare = parse_sub<CompareOptions>(cl, Subcommand::compare, argc, argv, parse_compare);
    } else if (sub == "trend") {
        cl.trend = parse_sub<TrendOptions>(cl, Subcommand::trend, argc, argv, parse_trend);
    } else if (sub == "top") {
        cl.top = parse_sub<TopOptions>(cl, Subcommand::top, argc, argv, parse_top);
    } else {
        usage_error("unknown command '" + sub + "'");
    }
    return cl;
}

const char* help_text()
{
    return R"(lstrace-bpf - system-level tracer for LangSwarm USDT spans (provider "langswarm")

USAGE
  lstrace-bpf record [OPTIONS] -p PID[,PID...]     attach to running processes
  lstrace-bpf record [OPTIONS] [--] COMMAND [ARGS]  launch COMMAND and trace it
  lstrace-bpf record [OPTIONS] --binary PATH        every process running PATH, now and later
  lstrace-bpf list PATH | -p PID                    list the USDT probes of a binary
  lstrace-bpf summary TRACE.jsonl                   per-operation table of a trace
  lstrace-bpf analyze [--json] [--component NAME] TRACE.jsonl
                                                    bottlenecks, critical paths, self
                                                    time, error patterns; or the report
                                                    of one component
  lstrace-bpf report [-o report.html] [--baseline BASE.jsonl] TRACE.jsonl
                                                    one self-contained HTML timeline
                                                    (and the comparison with BASE)
  lstrace-bpf compare [--json] [--fail-on PCT] BASE.jsonl NEW.jsonl
                                                    per operation: slower, faster,
                                                    unchanged, new or gone, and why
  lstrace-bpf trend [--json] T1.jsonl T2.jsonl ... | DIR
                                                    operations across recordings,
                                                    oldest first
  lstrace-bpf export --format chrome [-o FILE] TRACE.jsonl
                                                    Chrome Trace Event JSON (Perfetto UI,
                                                    chrome://tracing)
  lstrace-bpf export --format otlp [--endpoint URL | -o FILE] TRACE.jsonl
                                                    OpenTelemetry: send to a collector, or
                                                    write OTLP/JSON lines
  lstrace-bpf top -p PID [-i SECONDS] [-n N|--once] live busiest operations (root)
  lstrace-bpf --help | --version

RECORD OPTIONS
  -p, --pid PID[,PID...]  processes to attach to (no restart needed)
      --binary PATH       trace every process that runs (or maps) PATH, now and
                          later, until stopped
      --follow            trace the children of traced processes too (fork and
                          exec; an exec'ing child waits, stopped, until its new
                          image is attached)
  -o, --output FILE       JSONL trace file, one record per finished span
                          (default: trace.jsonl; '-' writes to standard output)
  -d, --duration SECONDS  stop after this long (default: until Ctrl-C, SIGTERM,
                          SIGHUP or the traced processes exit)
  -b, --buffer-size MiB   BPF ring buffer size, a power of two (default: 16)
  -f, --force             replace FILE if it exists (otherwise that is an error)
      --btf PATH          kernel BTF for CO-RE relocations (default:
                          /sys/kernel/btf/vmlinux), for kernels without it
      --redact-keys LIST  more tag keys whose values are secrets (comma-separated;
                          api_key, token, secret, password, authorization, ...
                          are redacted by default, also inside strings)
      --no-redact         write secrets as they are
  -v, --verbose           debug logging, including libbpf's
      --otlp[=URL]        also stream spans to an OpenTelemetry collector over
                          OTLP/HTTP (default http://localhost:4318, or the
                          OTEL_EXPORTER_OTLP_* variables); without -o no local
                          file is written. Never slows recording: spans the
                          collector cannot take are counted in the summary
      --otlp-protocol P   http/protobuf (default) or http/json
      --genai MAP         GenAI conventions per component, e.g.
                          llm=chat,agent=invoke_agent,tool=execute_tool,
                          workflow=invoke_workflow (the default), or none

TRACING CONFIG (the LangSwarm TracingConfig; defaults < --config FILE < flags)
      --config FILE       JSON object with the standard's keys: output_file,
                          output_format, enabled_components, disabled_components,
                          min_duration_ms, max_trace_size, flush_interval,
                          include_stack_trace, include_environment,
                          include_thread_info, debug_mode, verbose_errors, and
                          lstrace's sample_interval_ms, environment_allowlist.
                          Unknown keys and bad values are errors (exit code 2)
      --format FMT        output_format: jsonl (default), json or text
      --components LIST   enabled_components: trace only these (default: all)
      --exclude-components LIST
                          disabled_components: never these (wins over the above)
      --min-duration MS   min_duration_ms: skip spans shorter than this, in BPF
                          (failed spans are kept; default 0)
      --max-trace-size N  max_trace_size: open spans held in memory (default
                          10000; past it the oldest are forgotten, counted)
      --flush-interval N  flush_interval: flush every N records (default 100)
      --stack-traces      include_stack_trace: symbolized user stacks at error
                          events (whole only for code with frame pointers)
      --environment       include_environment: command line, allow-listed
                          environment variables, hostname, kernel release
      --env-allow LIST    environment_allowlist, replacing the default
                          (PATH,LANG,LC_ALL,TZ,HOSTNAME); NAME* is a prefix
      --thread-info       include_thread_info: thread name and CPU
      --debug             debug_mode: raw BPF timestamps and flags in
                          metadata.debug
      --verbose-errors    verbose_errors: also print each error and error
                          propagation on stderr as it is recorded
      --sample-interval MS  sample_interval_ms: process-wide CPU, RSS, threads,
                          fds every MS (0 = off, the default; at least 10)
  -o FILE sets output_file and wins over the file's.

Recording needs root (CAP_BPF and CAP_PERFMON). The trace file is created with
mode 0600 (owned by the sudo user under sudo), written to a temporary name and
renamed when complete. A one-line summary goes to stderr.
When a launched COMMAND is still running as recording stops (duration, signal),
it is sent SIGTERM.

ANALYSIS OPTIONS
  analyze --json            machine-readable output
  analyze --component NAME  the component's operations, resource profiles, state
                            changes over time, configuration and errors
  analyze --top N           critical paths of the N longest traces and the N
                            largest self times (default 5 and 10)
  report -o FILE            output file (default report.html); --max-spans N draws
                            the first N spans to begin (default 50000)
  report --baseline FILE    add the comparison with FILE (repeatable: the latest
                            baseline is compared, all are charted over time)
  export -o FILE            output file (default: standard output)

COMPARE AND TREND OPTIONS
  --json                    machine-readable output
  --confidence LEVEL        confidence of the Mann-Whitney U test (default 0.95)
  --min-effect PCT          smallest median shift called a change (default 5)
  --min-spans N             spans per side below which there is no verdict
                            (default 5)
  --only LIST               these components only (comma-separated)
  compare --fail-on PCT     exit with status 10 when an operation's p50 duration
                            or median CPU time is slower by more than PCT percent
  export --format otlp --endpoint URL
                            send over OTLP/HTTP (also without -o when an
                            OTEL_EXPORTER_OTLP_*ENDPOINT variable is set);
                            --otlp-protocol and --genai as for record
  top -i SECONDS            refresh interval (default 1); -n N stops after N
                            intervals, --once after one; --rows N (default 15);
                            -b and --btf as for record

EXAMPLES
  sudo lstrace-bpf record -o trace.jsonl -- ./build/examples/langswarm_demo
  sudo lstrace-bpf record -p 4242 -o trace.jsonl --duration 30
  sudo lstrace-bpf record --config tracing.json --min-duration 5 -p 4242
  sudo lstrace-bpf record --otlp http://collector:4318 -o trace.jsonl -p 4242
  lstrace-bpf export --format otlp --endpoint http://localhost:4318 trace.jsonl
  lstrace-bpf list ./build/examples/langswarm_demo
  lstrace-bpf summary trace.jsonl
  lstrace-bpf compare --fail-on 20 baseline.jsonl trace.jsonl
  lstrace-bpf trend recordings/

EXIT CODES
  0 success   1 internal error   2 usage error   3 not permitted (needs root)
  4 target not found or not executable   5 no langswarm probes in the target
  6 BPF load or attach failed   7 output file cannot be written
  8 malformed or empty input trace (also a missing one, except for summary: 4)
  9 the kernel has no BTF (see --btf)
  10 compare --fail-on: an operation is slower than the threshold
)";
}

}  // namespace lstrace
