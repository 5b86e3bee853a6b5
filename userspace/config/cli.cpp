#include "config/cli.hpp"

#include <getopt.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/errors.hpp"

// Each subcommand is a table of options (names, value, help, what the option
// does) parsed by one getopt_long loop; the help text is generated from the
// same tables.  To add an option, add a row; to add a subcommand, add its
// table, a parse_* function for its positional arguments and a row in
// kSubcommands.

namespace lstrace {
namespace {

using json = nlohmann::json;

constexpr double kMaxDurationSeconds = 366.0 * 24 * 3600;
constexpr std::size_t kHelpColumn = 26;  // where option descriptions start

[[noreturn]] void usage_error(const std::string& message)
{
    throw FatalError(ExitCode::usage, message + " (see 'lstrace-bpf --help')");
}

// ---- option values ----

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

void append_pids(std::vector<int>& pids, const char* arg)
{
    auto more = parse_pid_list(arg);
    pids.insert(pids.end(), more.begin(), more.end());
}

// The same PID twice would attach every probe twice.
void sort_unique(std::vector<int>& pids)
{
    std::sort(pids.begin(), pids.end());
    pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
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

// A value that must not be empty; `what` completes "FLAG needs ...".
std::string nonempty_argument(const char* flag, const char* arg, const char* what)
{
    if (!*arg)
        usage_error(std::string(flag) + " needs " + what);
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

// ---- tables ----

// One option: short letter (0: long only), long name, the value's name in the
// help (nullptr: the option takes no value; "[=NAME]": an optional value,
// given as --name=VALUE, and arg is nullptr without one), help lines, and its
// effect.
template <typename Options>
struct OptionRow {
    char short_name;
    const char* long_name;
    const char* value;
    const char* help;
    std::function<void(Options&, const char* arg)> apply;
};

// A help section: heading, rows, and a note printed after them.
template <typename Options>
struct OptionGroup {
    const char* title;
    std::vector<OptionRow<Options>> rows;
    const char* note = nullptr;
};

template <typename Options>
using OptionTable = std::vector<OptionGroup<Options>>;

// Whether the first positional argument ends the options (record's COMMAND,
// whose own flags are not ours) or options may follow positionals.
enum class Positionals { stop_options, mix_with_options };

// Options every subcommand takes; handled by the loop, not by a table.
struct CommonOption {
    char short_name;
    const char* long_name;
    const char* help;
};
constexpr CommonOption kCommonOptions[] = {
    {'v', "verbose", "debug logging, including libbpf's"},
    {'h', "help", "this text"},
};

template <typename Options>
bool optional_value(const OptionRow<Options>& row)
{
    return row.value && row.value[0] == '[';
}

// getopt_long's value for row i of a table: past any char it could return.
constexpr int kRowValue = 256;

// getopt sets optopt to a known long option's value when it was given a value
// it does not take ("--debug=1").
std::string bad_option_message(int argc, char** argv)
{
    const char* arg = optind - 1 < argc ? argv[optind - 1] : "";
    if (optopt && std::strncmp(arg, "--", 2) == 0)
        return std::string("option '") + arg + "' takes no value";
    if (optopt && optopt != '?')
        return std::string("option requires an argument or is unknown: -") + char(optopt);
    return std::string("unknown option '") + arg + "'";
}

// The one parsing loop.  Applies each option in command-line order and leaves
// optind at the first positional argument; false when --help was given.
template <typename Options>
bool parse_options(const OptionTable<Options>& table, Positionals positionals, int argc,
                   char** argv, Options& out, bool& verbose)
{
    std::vector<const OptionRow<Options>*> rows;
    for (const auto& group : table)
        for (const auto& row : group.rows)
            rows.push_back(&row);
    std::vector<option> longs;
    // ':' first: a missing value is reported as ':', not '?'
    std::string shorts = positionals == Positionals::stop_options ? "+:" : ":";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const int has_value = !rows[i]->value            ? no_argument
                              : optional_value(*rows[i]) ? optional_argument
                                                         : required_argument;
        longs.push_back({rows[i]->long_name, has_value, nullptr, kRowValue + static_cast<int>(i)});
        if (rows[i]->short_name) {
            shorts += rows[i]->short_name;
            if (rows[i]->value)
                shorts += ':';
        }
    }
    for (const CommonOption& common : kCommonOptions) {
        longs.push_back({common.long_name, no_argument, nullptr, common.short_name});
        shorts += common.short_name;
    }
    longs.push_back({nullptr, 0, nullptr, 0});

    optind = 0;  // getopt_long keeps global state: start afresh
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shorts.c_str(), longs.data(), nullptr)) != -1) {
        if (c == 'v') {
            verbose = true;
        } else if (c == 'h') {
            return false;
        } else if (c == ':') {
            usage_error(std::string("option '") + argv[optind - 1] + "' needs a value");
        } else if (c >= kRowValue) {
            rows[c - kRowValue]->apply(out, optarg);
        } else {
            auto row = std::find_if(rows.begin(), rows.end(),
                                    [&](const auto* r) { return r->short_name == c; });
            if (c == '?' || row == rows.end())
                usage_error(bad_option_message(argc, argv));
            (*row)->apply(out, optarg);
        }
    }
    return true;
}

template <typename Options>
void append_help(std::string& out, const OptionTable<Options>& table)
{
    for (const auto& group : table) {
        out += '\n';
        out += group.title;
        out += '\n';
        for (const auto& row : group.rows) {
            std::string left =
                row.short_name ? std::string("  -") + row.short_name + ", " : "      ";
            left += std::string("--") + row.long_name;
            if (row.value)
                left += (optional_value(row) ? "" : " ") + std::string(row.value);
            left += left.size() + 2 <= kHelpColumn ? std::string(kHelpColumn - left.size(), ' ')
                                                   : "\n" + std::string(kHelpColumn, ' ');
            std::string help = row.help;
            for (std::size_t pos = 0; (pos = help.find('\n', pos)) != std::string::npos; pos += 1)
                help.insert(pos + 1, kHelpColumn, ' ');
            out += left + help + '\n';
        }
        if (group.note)
            out += group.note;
    }
}

// ---- OTLP flags of record and export ----

// --otlp-protocol of record and export; `otlp` finds the OtlpOptions.
template <typename Options, typename Get>
OptionRow<Options> otlp_protocol_row(Get otlp, const char* help)
{
    return {0, "otlp-protocol", "P", help, [otlp](Options& o, const char* a) {
                const std::string protocol = a;
                if (protocol != "http/protobuf" && protocol != "http/json")
                    usage_error("invalid --otlp-protocol '" + protocol +
                                "': expected http/protobuf or http/json");
                otlp(o).protocol = protocol;
            }};
}

// --genai of record and export.
template <typename Options, typename Get>
OptionRow<Options> genai_row(Get otlp, const char* help)
{
    return {0, "genai", "MAP", help, [otlp](Options& o, const char* a) {
                otlp(o).genai =
                    nonempty_argument("--genai", a, "component=operation pairs or 'none'");
            }};
}

bool looks_like_url(const char* word)
{
    return std::strncmp(word, "http://", 7) == 0 || std::strncmp(word, "https://", 8) == 0;
}

// ---- record ----

// record's options before checks that need them all (targets, --config).
struct RecordParse {
    RecordOptions options;
    bool output_given = false;
    int argc = 0;  // the command line, for --otlp's URL in the next word
    char** argv = nullptr;
    // one TracingConfig flag each: applied after the file, so that flags win
    struct ConfigOverride {
        std::string flag;
        std::string key;
        json value;
        std::string arg;  // as typed, for messages
    };
    std::vector<ConfigOverride> overrides;
};

void apply_override(TracingConfig& config, const RecordParse::ConfigOverride& o)
{
    if (auto err = set_tracing_config_value(config, o.key, o.value))
        usage_error("invalid " + o.flag + (o.arg.empty() ? "" : " '" + o.arg + "'") + ": " +
                    err->message);
}

// How a TracingConfig flag's value becomes its key's JSON value, so that flags
// and the file go through the same checks (set_tracing_config_value).
enum class ConfigValue { text, names, milliseconds, integer, enable };

OptionRow<RecordParse> config_flag(const char* long_name, const char* value, const char* key,
                                   ConfigValue kind, const char* help)
{
    const std::string flag = std::string("--") + long_name;
    auto apply = [flag, key, kind](RecordParse& p, const char* arg) {
        const std::string text = arg ? arg : "";
        json v;
        switch (kind) {
        case ConfigValue::text:
            v = text;
            break;
        case ConfigValue::names:
            v = parse_name_list(flag, text);
            break;
        case ConfigValue::milliseconds: {
            auto n = parse_number(text);
            if (!n)
                usage_error("invalid " + flag + " '" + text + "': expected milliseconds");
            v = *n;
            break;
        }
        case ConfigValue::integer: {
            auto n = parse_integer(text);
            if (!n)
                usage_error("invalid " + flag + " '" + text + "': expected an integer");
            v = *n;
            break;
        }
        case ConfigValue::enable:
            v = true;
            break;
        }
        p.overrides.push_back({flag, key, std::move(v), text});
        TracingConfig scratch;  // bad values are reported now, naming the flag
        apply_override(scratch, p.overrides.back());
    };
    return {0, long_name, kind == ConfigValue::enable ? nullptr : value, help, apply};
}

OtlpOptions& record_otlp(RecordParse& p)
{
    return p.options.otlp;
}

const OptionTable<RecordParse>& record_table()
{
    using P = RecordParse;
    using V = ConfigValue;
    static const OptionTable<P> table = {
        {"RECORD OPTIONS",
         {
             {'p', "pid", "PID[,PID...]", "processes to attach to (no restart needed)",
              [](P& p, const char* a) { append_pids(p.options.pids, a); }},
             {0, "binary", "PATH",
              "trace every process that runs (or maps) PATH, now and\nlater, until stopped",
              [](P& p, const char* a) {
                  p.options.binary = nonempty_argument("--binary", a, "a file name");
              }},
             {0, "follow", nullptr,
              "trace the children of traced processes too (fork and\nexec; an exec'ing child "
              "waits, stopped, until its new\nimage is attached)",
              [](P& p, const char*) { p.options.follow = true; }},
             {'o', "output", "FILE",
              "JSONL trace file, one record per finished span\n(default: trace.jsonl; '-' writes "
              "to standard output)",
              [](P& p, const char* a) {
                  p.options.output =
                      nonempty_argument("-o", a, "a file name ('-' for standard output)");
                  p.output_given = true;
              }},
             {'d', "duration", "SECONDS",
              "stop after this long (default: until Ctrl-C, SIGTERM,\nSIGHUP or the traced "
              "processes exit)",
              [](P& p, const char* a) {
                  auto v = parse_number(a);
                  if (!v || *v <= 0 || !std::isfinite(*v) || *v > kMaxDurationSeconds)
                      usage_error(std::string("invalid --duration '") + a +
                                  "': expected seconds > 0 (at most a year)");
                  p.options.duration_s = *v;
              }},
             {'b', "buffer-size", "MiB", "BPF ring buffer size, a power of two (default: 16)",
              [](P& p, const char* a) { p.options.buffer_mib = buffer_size_argument(a); }},
             {'f', "force", nullptr, "replace FILE if it exists (otherwise that is an error)",
              [](P& p, const char*) { p.options.force = true; }},
             {0, "btf", "PATH",
              "kernel BTF for CO-RE relocations (default:\n/sys/kernel/btf/vmlinux), for "
              "kernels without it",
              [](P& p, const char* a) {
                  p.options.btf_path = nonempty_argument("--btf", a, "a file name");
              }},
             {0, "redact-keys", "LIST",
              "more tag keys whose values are secrets (comma-separated;\napi_key, token, secret, "
              "password, authorization, ...\nare redacted by default, also inside strings)",
              [](P& p, const char* a) {
                  auto keys = parse_name_list("--redact-keys", a);
                  p.options.redact_keys.insert(p.options.redact_keys.end(), keys.begin(),
                                               keys.end());
              }},
             {0, "no-redact", nullptr, "write secrets as they are",
              [](P& p, const char*) { p.options.redact = false; }},
             {0, "otlp", "[=URL]",
              "also stream spans to an OpenTelemetry collector over\nOTLP/HTTP (default "
              "http://localhost:4318, or the\nOTEL_EXPORTER_OTLP_* variables); without -o no "
              "local\nfile is written. Never slows recording: spans the\ncollector cannot take "
              "are counted in the summary",
              [](P& p, const char* a) {
                  OtlpOptions& otlp = p.options.otlp;
                  otlp.enabled = true;
                  otlp.endpoint_flag = "--otlp";
                  // --otlp URL too: the next word is the URL when it looks
                  // like one (a command to launch does not start with http://)
                  if (a)
                      otlp.endpoint = nonempty_argument("--otlp=", a, "a URL");
                  else if (optind < p.argc && looks_like_url(p.argv[optind]))
                      otlp.endpoint = p.argv[optind++];
              }},
             otlp_protocol_row<P>(record_otlp, "http/protobuf (default) or http/json"),
             genai_row<P>(record_otlp,
                          "GenAI conventions per component, e.g.\nllm=chat,agent=invoke_agent,"
                          "tool=execute_tool,\nworkflow=invoke_workflow (the default), or none"),
         }},
        {"TRACING CONFIG (the LangSwarm TracingConfig; defaults < --config FILE < flags)",
         {
             {0, "config", "FILE",
              "JSON object with the standard's keys: output_file,\noutput_format, "
              "enabled_components, disabled_components,\nmin_duration_ms, max_trace_size, "
              "flush_interval,\ninclude_stack_trace, include_environment,\ninclude_thread_info, "
              "debug_mode, verbose_errors, and\nlstrace's sample_interval_ms, "
              "environment_allowlist.\nUnknown keys and bad values are errors (exit code 2)",
              [](P& p, const char* a) {
                  p.options.config_path = nonempty_argument("--config", a, "a file name");
              }},
             config_flag("format", "FMT", "output_format", V::text,
                         "output_format: jsonl (default), json or text"),
             config_flag("components", "LIST", "enabled_components", V::names,
                         "enabled_components: trace only these (default: all)"),
             config_flag("exclude-components", "LIST", "disabled_components", V::names,
                         "disabled_components: never these (wins over the above)"),
             config_flag("min-duration", "MS", "min_duration_ms", V::milliseconds,
                         "min_duration_ms: skip spans shorter than this, in BPF\n(failed spans "
                         "are kept; default 0)"),
             config_flag("max-trace-size", "N", "max_trace_size", V::integer,
                         "max_trace_size: open spans held in memory (default\n10000; past it the "
                         "oldest are forgotten, counted)"),
             config_flag("flush-interval", "N", "flush_interval", V::integer,
                         "flush_interval: flush every N records (default 100)"),
             config_flag("stack-traces", nullptr, "include_stack_trace", V::enable,
                         "include_stack_trace: symbolized user stacks at error\nevents (whole "
                         "only for code with frame pointers)"),
             config_flag("environment", nullptr, "include_environment", V::enable,
                         "include_environment: command line, allow-listed\nenvironment variables, "
                         "hostname, kernel release"),
             config_flag("env-allow", "LIST", "environment_allowlist", V::names,
                         "environment_allowlist, replacing the default\n(PATH,LANG,LC_ALL,TZ,"
                         "HOSTNAME); NAME* is a prefix"),
             config_flag("thread-info", nullptr, "include_thread_info", V::enable,
                         "include_thread_info: thread name and CPU"),
             config_flag("debug", nullptr, "debug_mode", V::enable,
                         "debug_mode: raw BPF timestamps and flags in\nmetadata.debug"),
             config_flag("verbose-errors", nullptr, "verbose_errors", V::enable,
                         "verbose_errors: also print each error and error\npropagation on stderr "
                         "as it is recorded"),
             config_flag("sample-interval", "MS", "sample_interval_ms", V::milliseconds,
                         "sample_interval_ms: process-wide CPU, RSS, threads,\nfds every MS (0 = "
                         "off, the default; at least 10)"),
         },
         R"(  -o FILE sets output_file and wins over the file's.

Recording needs root (CAP_BPF and CAP_PERFMON). The trace file is created with
mode 0600 (owned by the sudo user under sudo), written to a temporary name and
renamed when complete. A one-line summary goes to stderr.
When a launched COMMAND is still running as recording stops (duration, signal),
it is sent SIGTERM.
)"},
    };
    return table;
}

bool parse_record(CommandLine& cl, int argc, char** argv)
{
    RecordParse p;
    p.argc = argc;
    p.argv = argv;
    if (!parse_options(record_table(), Positionals::stop_options, argc, argv, p, cl.verbose))
        return false;
    RecordOptions& o = p.options;
    for (int i = optind; i < argc; ++i)
        o.command.emplace_back(argv[i]);
    sort_unique(o.pids);
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
    for (const auto& ov : p.overrides)
        apply_override(o.config, ov);
    if ((!o.otlp.protocol.empty() || !o.otlp.genai.empty()) && !o.otlp.enabled)
        usage_error("--otlp-protocol and --genai go with --otlp");
    if (!p.output_given && !o.config.output_file.empty())
        o.output = o.config.output_file;
    else if (!p.output_given && o.otlp.enabled)
        o.output.clear();  // --otlp without -o: no local file
    o.config.output_file = o.output;
    o.verbose = cl.verbose;
    cl.record = std::move(o);
    return true;
}

// ---- the other subcommands ----

const OptionTable<ListOptions>& list_table()
{
    static const OptionTable<ListOptions> table = {
        {"LIST OPTIONS",
         {
             {'p', "pid", "PID", "the probes of a running process, and whether enabled now",
              [](ListOptions& o, const char* a) {
                  auto pids = parse_pid_list(a);
                  if (pids.size() != 1)
                      usage_error("list takes one PID");
                  o.pid = pids.front();
              }},
         }},
    };
    return table;
}

bool parse_list(CommandLine& cl, int argc, char** argv)
{
    ListOptions& o = cl.list;
    if (!parse_options(list_table(), Positionals::stop_options, argc, argv, o, cl.verbose))
        return false;
    if (optind < argc)
        o.path = argv[optind++];
    if (optind < argc)
        usage_error(std::string("unexpected argument '") + argv[optind] + "'");
    if (o.pid.has_value() == !o.path.empty())
        usage_error("list needs either a PATH or -p PID");
    return true;
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

bool parse_summary(CommandLine& cl, int argc, char** argv)
{
    // no options: anything that looks like one is a usage error
    if (argc != 2 || argv[1][0] == '-')
        usage_error("summary takes one trace file");
    cl.summary_path = argv[1];
    return true;
}

const OptionTable<AnalyzeOptions>& analyze_table()
{
    using O = AnalyzeOptions;
    static const OptionTable<O> table = {
        {"ANALYZE OPTIONS",
         {
             {0, "json", nullptr, "machine-readable output",
              [](O& o, const char*) { o.json = true; }},
             {'c', "component", "NAME",
              "the component's operations, resource profiles, state\nchanges over time, "
              "configuration and errors",
              [](O& o, const char* a) {
                  o.component = nonempty_argument("--component", a, "a component name");
              }},
             {0, "top", "N",
              "critical paths of the N longest traces and the N\nlargest self times (default 5 "
              "and 10)",
              [](O& o, const char* a) { o.top = count_argument("--top", a, 1'000'000); }},
         }},
    };
    return table;
}

// analyze, report and export: options, then one trace file.
template <typename Options>
bool parse_trace_command(const OptionTable<Options>& table, const char* command, Options& o,
                         CommandLine& cl, int argc, char** argv)
{
    if (!parse_options(table, Positionals::mix_with_options, argc, argv, o, cl.verbose))
        return false;
    o.path = trace_path_argument(argc, argv, command);
    return true;
}

bool parse_analyze(CommandLine& cl, int argc, char** argv)
{
    return parse_trace_command(analyze_table(), "analyze", cl.analyze, cl, argc, argv);
}

// -o FILE of report and export.
template <typename Options>
OptionRow<Options> output_row(const char* help)
{
    return {'o', "output", "FILE", help, [](Options& o, const char* a) {
                o.output = nonempty_argument("-o", a, "a file name");
            }};
}

const OptionTable<ReportOptions>& report_table()
{
    using O = ReportOptions;
    static const OptionTable<O> table = {
        {"REPORT OPTIONS",
         {
             output_row<O>("output file (default report.html)"),
             {0, "max-spans", "N", "draw the first N spans to begin (default 50000)",
              [](O& o, const char* a) {
                  o.max_spans = count_argument("--max-spans", a, 10'000'000);
              }},
             {0, "baseline", "FILE",
              "add the comparison with FILE (repeatable: the latest\nbaseline is compared, all "
              "are charted over time)",
              [](O& o, const char* a) {
                  o.baselines.emplace_back(nonempty_argument("--baseline", a, "a trace file"));
              }},
         }},
    };
    return table;
}

bool parse_report(CommandLine& cl, int argc, char** argv)
{
    return parse_trace_command(report_table(), "report", cl.report, cl, argc, argv);
}

// export's -o also notes that it was given: with otlp, a file instead of
// sending.
OptionRow<ExportOptions> export_output_row()
{
    OptionRow<ExportOptions> row =
        output_row<ExportOptions>("output file (default: standard output)");
    row.apply = [write = row.apply](ExportOptions& o, const char* a) {
        write(o, a);
        o.output_given = true;
    };
    return row;
}

OtlpOptions& export_otlp(ExportOptions& o)
{
    return o.otlp;
}

const OptionTable<ExportOptions>& export_table()
{
    using O = ExportOptions;
    static const OptionTable<O> table = {
        {"EXPORT OPTIONS",
         {
             {0, "format", "FMT",
              "chrome: Chrome Trace Event JSON (the default);\notlp: OpenTelemetry (OTLP/JSON "
              "lines, or sent\nwith --endpoint)",
              [](O& o, const char* a) {
                  if (std::string(a) != "chrome" && std::string(a) != "otlp")
                      usage_error(std::string("unknown --format '") + a +
                                  "' (known: chrome, otlp)");
                  o.format = a;
              }},
             export_output_row(),
             {0, "endpoint", "URL",
              "otlp: send over OTLP/HTTP (also without -o when an\nOTEL_EXPORTER_OTLP_*ENDPOINT "
              "variable is set)",
              [](O& o, const char* a) {
                  o.otlp.endpoint = nonempty_argument("--endpoint", a, "a URL");
                  o.otlp.endpoint_flag = "--endpoint";
              }},
             otlp_protocol_row<O>(export_otlp, "otlp: as for record"),
             genai_row<O>(export_otlp, "otlp: as for record"),
         }},
    };
    return table;
}

bool parse_export(CommandLine& cl, int argc, char** argv)
{
    ExportOptions& o = cl.export_trace;
    if (!parse_trace_command(export_table(), "export", o, cl, argc, argv))
        return false;
    o.otlp.enabled = o.format == "otlp";
    if (!o.otlp.enabled &&
        (!o.otlp.endpoint.empty() || !o.otlp.protocol.empty() || !o.otlp.genai.empty()))
        usage_error("--endpoint, --otlp-protocol and --genai go with --format otlp");
    if (!o.otlp.endpoint.empty() && o.output_given)
        usage_error("--endpoint and -o cannot be combined (send, or write a file)");
    if (o.output_given && o.otlp.protocol == "http/protobuf")
        usage_error("export --format otlp -o writes OTLP/JSON lines; --otlp-protocol "
                    "http/protobuf goes with --endpoint");
    return true;
}

// ---- compare and trend ----

// The options compare and trend share (ComparisonOptions).
template <typename O>
OptionGroup<O> comparison_group()
{
    return {"COMPARE AND TREND OPTIONS",
            {
                {0, "json", nullptr, "machine-readable output",
                 [](O& o, const char*) { o.json = true; }},
                {0, "confidence", "LEVEL", "confidence of the Mann-Whitney U test (default 0.95)",
                 [](O& o, const char* a) {
                     auto v = parse_number(a);
                     if (!v || !(*v > 0.5 && *v < 1))
                         usage_error(std::string("invalid --confidence '") + a +
                                     "': expected a level between 0.5 and 1, e.g. 0.95");
                     o.settings.confidence = *v;
                 }},
                {0, "min-effect", "PCT", "smallest median shift called a change (default 5)",
                 [](O& o, const char* a) {
                     auto v = parse_number(a);
                     if (!v || !std::isfinite(*v) || *v < 0 || *v > 1000)
                         usage_error(std::string("invalid --min-effect '") + a +
                                     "': expected a percentage from 0 to 1000");
                     o.settings.min_effect = *v / 100.0;
                 }},
                {0, "min-spans", "N", "spans per side below which there is no verdict\n(default 5)",
                 [](O& o, const char* a) {
                     o.settings.min_spans = count_argument("--min-spans", a, 1'000'000);
                 }},
                {0, "only", "LIST", "these components only (comma-separated)",
                 [](O& o, const char* a) {
                     auto names = parse_name_list("--only", a);
                     o.only.insert(o.only.end(), names.begin(), names.end());
                 }},
            }};
}

const OptionTable<CompareOptions>& compare_table()
{
    using O = CompareOptions;
    static const OptionTable<O> table = {
        comparison_group<O>(),
        {"COMPARE OPTIONS",
         {
             {0, "fail-on", "PCT",
              "exit with status 10 when an operation's p50 duration\nor median CPU time is "
              "slower by more than PCT percent",
              [](O& o, const char* a) {
                  auto v = parse_number(a);
                  if (!v || !std::isfinite(*v) || *v < 0)
                      usage_error(std::string("invalid --fail-on '") + a +
                                  "': expected a percentage >= 0");
                  o.fail_on_pct = *v;
              }},
         }},
    };
    return table;
}

bool parse_compare(CommandLine& cl, int argc, char** argv)
{
    CompareOptions& o = cl.compare;
    if (!parse_options(compare_table(), Positionals::mix_with_options, argc, argv, o, cl.verbose))
        return false;
    if (argc - optind != 2)
        usage_error("compare takes two trace files: BASE.jsonl NEW.jsonl");
    o.base = argv[optind];
    o.current = argv[optind + 1];
    return true;
}

// trend has the shared group only (printed once, with compare's help).
const OptionTable<TrendOptions>& trend_table()
{
    static const OptionTable<TrendOptions> table = {comparison_group<TrendOptions>()};
    return table;
}

bool parse_trend(CommandLine& cl, int argc, char** argv)
{
    TrendOptions& o = cl.trend;
    if (!parse_options(trend_table(), Positionals::mix_with_options, argc, argv, o, cl.verbose))
        return false;
    for (int i = optind; i < argc; ++i)
        o.paths.emplace_back(argv[i]);
    if (o.paths.empty())
        usage_error("trend takes two or more trace files, or a folder of them");
    return true;
}

const OptionTable<TopOptions>& top_table()
{
    using O = TopOptions;
    static const OptionTable<O> table = {
        {"TOP OPTIONS",
         {
             {'p', "pid", "PID[,PID...]", "processes to watch",
              [](O& o, const char* a) { append_pids(o.pids, a); }},
             {'i', "interval", "SECONDS", "refresh interval (default 1)",
              [](O& o, const char* a) {
                  auto v = parse_number(a);
                  if (!v || !std::isfinite(*v) || *v < 0.1 || *v > 3600)
                      usage_error(std::string("invalid --interval '") + a +
                                  "': expected 0.1 to 3600 seconds");
                  o.interval_s = *v;
              }},
             {'n', "iterations", "N", "stop after N intervals (default: until stopped)",
              [](O& o, const char* a) {
                  auto v = parse_integer(a);
                  if (!v || *v < 1)
                      usage_error(std::string("invalid --iterations '") + a +
                                  "': expected a positive count");
                  o.iterations = *v;
              }},
             {0, "once", nullptr, "stop after one interval",
              [](O& o, const char*) { o.iterations = 1; }},
             {0, "rows", "N", "operations shown (default 15)",
              [](O& o, const char* a) { o.rows = count_argument("--rows", a, 1000); }},
             {'b', "buffer-size", "MiB", "as for record",
              [](O& o, const char* a) { o.buffer_mib = buffer_size_argument(a); }},
             {0, "btf", "PATH", "as for record",
              [](O& o, const char* a) {
                  o.btf_path = nonempty_argument("--btf", a, "a file name");
              }},
         }},
    };
    return table;
}

bool parse_top(CommandLine& cl, int argc, char** argv)
{
    TopOptions& o = cl.top;
    if (!parse_options(top_table(), Positionals::mix_with_options, argc, argv, o, cl.verbose))
        return false;
    if (optind < argc)
        usage_error(std::string("unexpected argument '") + argv[optind] + "'");
    sort_unique(o.pids);
    if (o.pids.empty())
        usage_error("top needs -p PID");
    return true;
}

// argv after the subcommand's name (argv[0] is the name); false: --help.
struct SubcommandRow {
    const char* name;
    Subcommand subcommand;
    bool (*parse)(CommandLine& cl, int argc, char** argv);
};
constexpr SubcommandRow kSubcommands[] = {
    {"record", Subcommand::record, parse_record},
    {"list", Subcommand::list, parse_list},
    {"summary", Subcommand::summary, parse_summary},
    {"analyze", Subcommand::analyze, parse_analyze},
    {"report", Subcommand::report, parse_report},
    {"export", Subcommand::export_trace, parse_export},
    {"compare", Subcommand::compare, parse_compare},
    {"trend", Subcommand::trend, parse_trend},
    {"top", Subcommand::top, parse_top},
};

constexpr const char* kUsage =
    R"(lstrace-bpf - system-level tracer for LangSwarm USDT spans (provider "langswarm")

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
)";

constexpr const char* kEpilogue = R"(
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

std::string make_help_text()
{
    std::string out = kUsage;
    append_help(out, record_table());
    append_help(out, list_table());
    append_help(out, analyze_table());
    append_help(out, report_table());
    append_help(out, export_table());
    append_help(out, compare_table());  // its first group is trend's whole table
    append_help(out, top_table());
    out += "\nOPTIONS OF EVERY COMMAND\n";
    for (const CommonOption& common : kCommonOptions) {
        std::string left = std::string("  -") + common.short_name + ", --" + common.long_name;
        out += left + std::string(kHelpColumn - left.size(), ' ') + common.help + '\n';
    }
    return out + kEpilogue;
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
    const std::string name = argv[1];
    if (name == "-h" || name == "--help" || name == "help") {
        cl.subcommand = Subcommand::help;
        return cl;
    }
    if (name == "--version" || name == "version") {
        cl.subcommand = Subcommand::version;
        return cl;
    }
    for (const SubcommandRow& row : kSubcommands) {
        if (name == row.name) {
            cl.subcommand = row.parse(cl, argc - 1, argv + 1) ? row.subcommand : Subcommand::help;
            return cl;
        }
    }
    usage_error("unknown command '" + name + "'");
}

const char* help_text()
{
    static const std::string text = make_help_text();
    return text.c_str();
}

}  // namespace lstrace
