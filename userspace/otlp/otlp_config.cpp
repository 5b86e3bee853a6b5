#include "otlp/otlp_config.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "base/errors.hpp"

namespace lstrace::otlp {
namespace {

constexpr const char* kDefaultEndpoint = "http://localhost:4318";
constexpr const char* kTracesPath = "/v1/traces";

[[noreturn]] void bad(const std::string& message)
{
    throw FatalError(ExitCode::usage, message);
}

std::string trim(const std::string& s)
{
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string::npos)
        return "";
    return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string percent_decode(const std::string& s, const std::string& what)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
            bad(what + ": bad percent escape in '" + s + "'");
        out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
    }
    return out;
}

// Scheme http or https and a host; returns the path ("" when none).
std::string check_url(const std::string& url, const std::string& what)
{
    const auto scheme_end = url.find("://");
    const std::string scheme =
        scheme_end == std::string::npos ? "" : lower(url.substr(0, scheme_end));
    if (scheme != "http" && scheme != "https")
        bad(what + " '" + url + "' is not an http:// or https:// URL");
    const auto host_begin = scheme_end + 3;
    const auto path_begin = url.find('/', host_begin);
    const std::string authority = url.substr(host_begin, path_begin - host_begin);
    if (authority.empty() || authority.front() == ':' ||
        authority.find_first_of(" \t?#") != std::string::npos)
        bad(what + " '" + url + "' has no host");
    return path_begin == std::string::npos ? "" : url.substr(path_begin);
}

// A base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT, or a flag's URL without a
// path) gets the signal's path appended, as the specification says.
std::string with_traces_path(std::string base)
{
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    return base + kTracesPath;
}

// The traces variable if set, else the general one.
const char* pick(const EnvLookup& env, const char* traces_name, const char* general_name,
                 std::string& which)
{
    if (const char* v = env(traces_name); v && *v) {
        which = traces_name;
        return v;
    }
    if (const char* v = env(general_name); v && *v) {
        which = general_name;
        return v;
    }
    return nullptr;
}

Protocol parse_protocol(const std::string& value, const std::string& what)
{
    if (value == "http/protobuf")
        return Protocol::protobuf;
    if (value == "http/json")
        return Protocol::json;
    if (value == "grpc")
        bad(what + " 'grpc' is not supported: lstrace-bpf speaks OTLP/HTTP (http/protobuf or "
                   "http/json; a Collector's HTTP port is 4318)");
    bad(what + " '" + value + "': expected http/protobuf or http/json");
}

std::size_t positive(const EnvLookup& env, const char* name, std::size_t fallback, long long max)
{
    const char* v = env(name);
    if (!v || !*v)
        return fallback;
    auto n = parse_integer(trim(v));
    if (!n || *n < 1 || *n > max)
        bad(std::string("invalid ") + name + " '" + v + "': expected an integer from 1 to " +
            std::to_string(max));
    return static_cast<std::size_t>(*n);
}

GenAiOperation parse_operation(const std::string& name, const std::string& what)
{
    for (GenAiOperation op : {GenAiOperation::chat, GenAiOperation::invoke_agent,
                              GenAiOperation::execute_tool, GenAiOperation::invoke_workflow})
        if (name == operation_name(op))
            return op;
    bad(what + ": unknown GenAI operation '" + name +
        "' (known: chat, invoke_agent, execute_tool, invoke_workflow)");
}

std::vector<GenAiRule> parse_genai(const std::string& text)
{
    if (text.empty())
        return default_genai_rules();
    if (text == "none")
        return {};
    std::vector<GenAiRule> rules;
    for (const auto& [component, op] : parse_key_value_list(text, "--genai"))
        rules.push_back({component, parse_operation(op, "--genai")});
    return rules;
}

}  // namespace

const char* process_env(const char* name)
{
    return std::getenv(name);
}

const char* operation_name(GenAiOperation op)
{
    switch (op) {
    case GenAiOperation::chat:
        return "chat";
    case GenAiOperation::invoke_agent:
        return "invoke_agent";
    case GenAiOperation::execute_tool:
        return "execute_tool";
    case GenAiOperation::invoke_workflow:
        return "invoke_workflow";
    }
    return "chat";
}

std::vector<GenAiRule> default_genai_rules()
{
    return {{"llm", GenAiOperation::chat},
            {"chat", GenAiOperation::chat},
            {"model", GenAiOperation::chat},
            {"agent", GenAiOperation::invoke_agent},
            {"tool", GenAiOperation::execute_tool},
            {"workflow", GenAiOperation::invoke_workflow},
            {"orchestrator", GenAiOperation::invoke_workflow}};
}

KeyValues parse_key_value_list(const std::string& text, const std::string& what)
{
    KeyValues out;
    std::size_t begin = 0;
    while (begin <= text.size()) {
        const auto end = std::min(text.find(',', begin), text.size());
        const std::string item = trim(text.substr(begin, end - begin));
        begin = end + 1;
        if (item.empty())
            continue;
        const auto eq = item.find('=');
        if (eq == std::string::npos || trim(item.substr(0, eq)).empty())
            bad(what + ": '" + item + "' is not key=value");
        out.emplace_back(percent_decode(trim(item.substr(0, eq)), what),
                         percent_decode(trim(item.substr(eq + 1)), what));
    }
    return out;
}

Config resolve_config(const OtlpOptions& options, const EnvLookup& env)
{
    Config c;
    std::string which;
    if (!options.endpoint.empty()) {
        const std::string what = options.endpoint_flag;
        const std::string path = check_url(options.endpoint, what);
        c.url = path.empty() || path == "/" ? with_traces_path(options.endpoint) : options.endpoint;
    } else if (const char* v = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); v && *v) {
        check_url(v, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        c.url = v;  // used as given
    } else if (const char* b = env("OTEL_EXPORTER_OTLP_ENDPOINT"); b && *b) {
        check_url(b, "OTEL_EXPORTER_OTLP_ENDPOINT");
        c.url = with_traces_path(b);
    } else {
        c.url = with_traces_path(kDefaultEndpoint);
    }

    if (!options.protocol.empty())
        c.protocol = parse_protocol(options.protocol, "--otlp-protocol");
    else if (const char* v = pick(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                                  "OTEL_EXPORTER_OTLP_PROTOCOL", which))
        c.protocol = parse_protocol(trim(v), which);

    // The general headers, then the traces ones (which win per key).
    for (const char* name : {"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"}) {
        const char* v = env(name);
        if (!v)
            continue;
        for (auto& [key, value] : parse_key_value_list(v, name)) {
            if (key.find_first_of(" :\r\n") != std::string::npos ||
                value.find_first_of("\r\n") != std::string::npos)
                bad(std::string(name) + ": '" + key + "' is not a valid header");
            auto same = std::find_if(c.headers.begin(), c.headers.end(),
                                     [&](const auto& h) { return lower(h.first) == lower(key); });
            if (same != c.headers.end())
                same->second = value;
            else
                c.headers.emplace_back(key, value);
        }
    }

    if (const char* v = pick(env, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
                             "OTEL_EXPORTER_OTLP_COMPRESSION", which)) {
        const std::string value = lower(trim(v));
        if (value != "gzip" && value != "none")
            bad(which + " '" + v + "': expected gzip or none");
        c.gzip = value == "gzip";
    }
    if (const char* v =
            pick(env, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT", which)) {
        auto ms = parse_integer(trim(v));
        if (!ms || *ms < 1 || *ms > 3600 * 1000)
            bad(which + " '" + v + "': expected milliseconds from 1 to 3600000");
        c.timeout = std::chrono::milliseconds(*ms);
    }
    if (const char* v = pick(env, "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
                             "OTEL_EXPORTER_OTLP_CERTIFICATE", which))
        c.certificate = v;

    if (const char* v = env("OTEL_RESOURCE_ATTRIBUTES"))
        c.resource_attributes = parse_key_value_list(v, "OTEL_RESOURCE_ATTRIBUTES");
    if (const char* v = env("OTEL_SERVICE_NAME"); v && *v)
        c.service_name = v;
    else
        for (const auto& [key, value] : c.resource_attributes)
            if (key == "service.name")
                c.service_name = value;

    c.max_queue_size = positive(env, "OTEL_BSP_MAX_QUEUE_SIZE", c.max_queue_size, 1 << 24);
    c.max_batch_size = positive(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", c.max_batch_size, 1 << 20);
    if (c.max_batch_size > c.max_queue_size)
        bad("OTEL_BSP_MAX_EXPORT_BATCH_SIZE (" + std::to_string(c.max_batch_size) +
            ") exceeds OTEL_BSP_MAX_QUEUE_SIZE (" + std::to_string(c.max_queue_size) + ")");
    c.schedule_delay = std::chrono::milliseconds(
        positive(env, "OTEL_BSP_SCHEDULE_DELAY", static_cast<std::size_t>(c.schedule_delay.count()),
                 3600 * 1000));
    c.genai = parse_genai(options.genai);
    return c;
}

}  // namespace lstrace::otlp
