#include "config/tracing_config.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace lstrace {
namespace {

using json = nlohmann::json;

// Sampling reads several /proc files per sample; faster than this would
// cost the traced machine more than it tells.
constexpr double kMinSampleIntervalMs = 10.0;
constexpr double kMaxSampleIntervalMs = 24.0 * 3600 * 1000;

// "a string", "an array", "null", ... for messages.
std::string described_type(const json& v)
{
    if (v.is_null())
        return "null";
    const std::string name = v.type_name();
    return (name == "array" || name == "object" ? "an " : "a ") + name;
}

Error bad_type(const std::string& key, const char* expected, const json& v)
{
    return Error{"'" + key + "' must be " + expected + ", not " + described_type(v) + " (" +
                 v.dump() + ")"};
}

std::optional<Error> set_bool(bool& field, const std::string& key, const json& v)
{
    if (!v.is_boolean())
        return bad_type(key, "true or false", v);
    field = v.get<bool>();
    return std::nullopt;
}

// An integer 1..INT_MAX: the bounds the recorder sizes buffers and counters by.
std::optional<Error> set_positive_int(int& field, const std::string& key, const json& v)
{
    if (!v.is_number_integer())
        return bad_type(key, "an integer > 0", v);
    // nlohmann stores non-negative literals as unsigned, negative ones as signed
    const bool in_range = v.is_number_unsigned()
                              ? v.get<std::uint64_t>() >= 1 && v.get<std::uint64_t>() <= INT_MAX
                              : v.get<std::int64_t>() >= 1 && v.get<std::int64_t>() <= INT_MAX;
    if (!in_range)
        return Error{"'" + key + "' must be an integer from 1 to " + std::to_string(INT_MAX) +
                     ", not " + v.dump()};
    field = v.get<int>();
    return std::nullopt;
}

// Durations in ms become nanoseconds in 64 bits (BPF's min_duration_ns,
// timers): 1e12 ms (31 years) fits; 2e13 or 1e308 would wrap around and,
// for the filter, silently turn it off.
constexpr double kMaxDurationMs = 1e12;

std::optional<Error> set_non_negative(double& field, const std::string& key, const json& v)
{
    if (!v.is_number())
        return bad_type(key, "a number >= 0", v);
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < 0 || d > kMaxDurationMs)
        return Error{"'" + key + "' must be a number from 0 to 1e12 (ms), not " + v.dump()};
    field = d;
    return std::nullopt;
}

// A list of non-empty names; null means the standard's None (empty list).
std::optional<Error> set_names(std::vector<std::string>& field, const std::string& key,
                               const json& v)
{
    if (v.is_null()) {
        field.clear();
        return std::nullopt;
    }
    if (!v.is_array())
        return bad_type(key, "a list of names", v);
    std::vector<std::string> names;
    for (const json& item : v) {
        if (!item.is_string() || item.get_ref<const std::string&>().empty())
            return Error{"'" + key + "' must be a list of non-empty names; " + item.dump() +
                         " is not one"};
        names.push_back(item.get<std::string>());
    }
    field = std::move(names);
    return std::nullopt;
}

std::optional<Error> check_env_pattern(const std::string& key, const std::string& name)
{
    const auto star = name.find('*');
    if (name.empty() || name.find('=') != std::string::npos || name.find('\0') != std::string::npos)
        return Error{"'" + key + "': '" + name + "' is not an environment variable name"};
    if (name == "*")
        return Error{"'" + key +
                     "': \"*\" would write the whole environment, secrets included; "
                     "list the variables (a prefix such as \"LC_*\" is allowed)"};
    if (star != std::string::npos && star != name.size() - 1)
        return Error{"'" + key + "': '*' is only allowed at the end of a name ('" + name + "')"};
    return std::nullopt;
}

std::size_t edit_distance(const std::string& a, const std::string& b)
{
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                              std::tolower(static_cast<unsigned char>(b[j - 1]));
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

std::string unknown_key_message(const std::string& key)
{
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(2, key.size() / 4) + 1;
    for (const std::string& known : tracing_config_keys()) {
        // a shortened key ("debug", "min_duration") is as good a hint as a typo
        const bool prefix = key.size() >= 4 && known.compare(0, key.size(), key) == 0;
        const std::size_t d = prefix ? 1 : edit_distance(key, known);
        if (d < best_distance) {
            best_distance = d;
            best = known;
        }
    }
    std::string msg = "unknown key '" + key + "'";
    if (!best.empty())
        msg += " (did you mean '" + best + "'?)";
    return msg;
}

// 1-based line and column of a 0-based byte position in `text`.
std::pair<std::size_t, std::size_t> line_and_column(const std::string& text, std::size_t pos)
{
    pos = std::min(pos, text.size());
    const std::size_t line =
        1 + static_cast<std::size_t>(
                std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
    const std::size_t nl = pos == 0 ? std::string::npos : text.rfind('\n', pos - 1);
    const std::size_t column = nl == std::string::npos ? pos + 1 : pos - nl;
    return {line, column};
}

// nlohmann's message without its "[json.exception...] parse error at line
// L, column C: " prefix: we say where ourselves, in the file's terms.
std::string parse_error_reason(const std::string& what)
{
    const auto col = what.find("column ");
    const auto colon = col == std::string::npos ? std::string::npos : what.find(": ", col);
    return colon == std::string::npos ? what : what.substr(colon + 2);
}

}  // namespace

const char* to_string(OutputFormat f)
{
    switch (f) {
    case OutputFormat::json:
        return "json";
    case OutputFormat::text:
        return "text";
    case OutputFormat::jsonl:
        break;
    }
    return "jsonl";
}

std::optional<OutputFormat> parse_output_format(const std::string& s)
{
    for (OutputFormat f : {OutputFormat::jsonl, OutputFormat::json, OutputFormat::text})
        if (s == to_string(f))
            return f;
    return std::nullopt;
}

std::vector<std::string> default_environment_allowlist()
{
    // Locale, time zone and search path explain most "works on my machine"
    // differences; none of them is a credential.  (Not PWD: the redactor
    // reads "pwd" as a password and would write it as [REDACTED].)
    return {"PATH", "LANG", "LC_ALL", "TZ", "HOSTNAME"};
}

bool TracingConfig::component_enabled(const std::string& component) const
{
    const auto has = [&](const std::vector<std::string>& v) {
        return std::find(v.begin(), v.end(), component) != v.end();
    };
    if (has(disabled_components))
        return false;
    return enabled_components.empty() || has(enabled_components);
}

const std::vector<std::string>& tracing_config_keys()
{
    static const std::vector<std::string> keys = {
        "output_file",         "output_format",        "enabled_components", "disabled_components",
        "min_duration_ms",     "max_trace_size",       "flush_interval",     "include_stack_trace",
        "include_environment", "include_thread_info",  "debug_mode",         "verbose_errors",
        "sample_interval_ms",  "environment_allowlist"};
    return keys;
}

std::optional<Error> set_tracing_config_value(TracingConfig& c, const std::string& key,
                                              const json& v)
{
    if (key == "output_file") {
        if (v.is_null()) {
            c.output_file.clear();
            return std::nullopt;
        }
        if (!v.is_string() || v.get_ref<const std::string&>().empty())
            return Error{"'output_file' must be a file name (or null), not " + v.dump()};
        c.output_file = v.get<std::string>();
        return std::nullopt;
    }
    if (key == "output_format") {
        const auto f = v.is_string() ? parse_output_format(v.get<std::string>()) : std::nullopt;
        if (!f)
            return Error{"'output_format' must be \"jsonl\", \"json\" or \"text\", not " +
                         v.dump()};
        c.output_format = *f;
        return std::nullopt;
    }
    if (key == "enabled_components")
        return set_names(c.enabled_components, key, v);
    if (key == "disabled_components")
        return set_names(c.disabled_components, key, v);
    if (key == "min_duration_ms")
        return set_non_negative(c.min_duration_ms, key, v);
    if (key == "max_trace_size")
        return set_positive_int(c.max_trace_size, key, v);
    if (key == "flush_interval")
        return set_positive_int(c.flush_interval, key, v);
    if (key == "include_stack_trace")
        return set_bool(c.include_stack_trace, key, v);
    if (key == "include_environment")
        return set_bool(c.include_environment, key, v);
    if (key == "include_thread_info")
        return set_bool(c.include_thread_info, key, v);
    if (key == "debug_mode")
        return set_bool(c.debug_mode, key, v);
    if (key == "verbose_errors")
        return set_bool(c.verbose_errors, key, v);
    if (key == "sample_interval_ms") {
        double ms = 0;
        if (auto err = set_non_negative(ms, key, v))
            return err;
        if (ms != 0 && (ms < kMinSampleIntervalMs || ms > kMaxSampleIntervalMs)) {
            std::ostringstream msg;
            msg << "'sample_interval_ms' must be 0 (off) or from " << kMinSampleIntervalMs << " to "
                << kMaxSampleIntervalMs << " ms, not " << v.dump();
            return Error{msg.str()};
        }
        c.sample_interval_ms = ms;
        return std::nullopt;
    }
    if (key == "environment_allowlist") {
        if (!v.is_array())
            return bad_type(key, "a list of variable names", v);
        std::vector<std::string> names;
        for (const json& item : v) {
            if (!item.is_string())
                return Error{"'environment_allowlist' must be a list of variable names; " +
                             item.dump() + " is not one"};
            if (auto err = check_env_pattern(key, item.get<std::string>()))
                return err;
            names.push_back(item.get<std::string>());
        }
        c.environment_allowlist = std::move(names);
        return std::nullopt;
    }
    return Error{unknown_key_message(key)};
}

Result<TracingConfig> parse_tracing_config(const std::string& text, const std::string& source,
                                           TracingConfig base)
{
    // nlohmann keeps the last of duplicate keys; a config that says two
    // things about one key is a mistake worth reporting.
    std::set<std::string> seen;
    std::string duplicate;
    const json::parser_callback_t check_duplicates = [&](int depth, json::parse_event_t event,
                                                         json& parsed) {
        if (depth == 1 && event == json::parse_event_t::key &&
            !seen.insert(parsed.get<std::string>()).second && duplicate.empty())
            duplicate = parsed.get<std::string>();
        return true;
    };
    json doc;
    try {
        doc = json::parse(text, check_duplicates);
    } catch (const json::parse_error& e) {
        // e.byte counts the characters read, the offending one included
        const auto [line, column] = line_and_column(text, e.byte == 0 ? 0 : e.byte - 1);
        return Error{source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                     parse_error_reason(e.what())};
    }
    if (!doc.is_object())
        return Error{source +
                     ": a tracing config must be a JSON object ({\"key\": value, ...}), not " +
                     described_type(doc)};
    if (!duplicate.empty())
        return Error{source + ": key '" + duplicate + "' appears more than once"};
    for (const auto& [key, value] : doc.items())
        if (auto err = set_tracing_config_value(base, key, value))
            return Error{source + ": " + err->message};
    return base;
}

Result<TracingConfig> load_tracing_config(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return Error{"cannot read tracing config " + path};
    // Read at most one byte past the limit: /dev/zero or a huge file is an
    // error, not a memory exhaustion.
    std::string text(kMaxTracingConfigBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad())
        return Error{"cannot read tracing config " + path};
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxTracingConfigBytes)
        return Error{path + " is larger than " + std::to_string(kMaxTracingConfigBytes >> 10) +
                     " KiB: not a tracing config"};
    return parse_tracing_config(text, path);
}

json to_json(const TracingConfig& c)
{
    return json{{"output_file", c.output_file.empty() ? json(nullptr) : json(c.output_file)},
                {"output_format", to_string(c.output_format)},
                {"enabled_components", c.enabled_components},
                {"disabled_components", c.disabled_components},
                {"min_duration_ms", c.min_duration_ms},
                {"max_trace_size", c.max_trace_size},
                {"flush_interval", c.flush_interval},
                {"include_stack_trace", c.include_stack_trace},
                {"include_environment", c.include_environment},
                {"include_thread_info", c.include_thread_info},
                {"debug_mode", c.debug_mode},
                {"verbose_errors", c.verbose_errors},
                {"sample_interval_ms", c.sample_interval_ms},
                {"environment_allowlist", c.environment_allowlist}};
}

}  // namespace lstrace
