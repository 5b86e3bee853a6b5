#include "analysis/trace_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <istream>
#include <vector>

#include "base/terminal_text.hpp"

namespace lstrace {

double json_number(const nlohmann::json& j, const char* key)
{
    if (!j.is_object())
        return 0.0;
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

// Casting a negative or huge double to an integer is undefined: counters
// are taken only when they are non-negative JSON integers.
std::uint64_t json_counter(const nlohmann::json& j, const char* key)
{
    if (!j.is_object())
        return 0;
    auto it = j.find(key);
    return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

std::int64_t json_signed(const nlohmann::json& j, const char* key)
{
    if (!j.is_object())
        return 0;
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

std::string json_string(const nlohmann::json& j, const char* key)
{
    if (!j.is_object())
        return {};
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool json_bool(const nlohmann::json& j, const char* key, bool fallback)
{
    if (!j.is_object())
        return fallback;
    auto it = j.find(key);
    return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

std::string human_bytes(double bytes)
{
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    double v = bytes;
    while (std::fabs(v) >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

std::string clock_time(std::int64_t us, int digits)
{
    if (us == 0)
        return "-";
    const std::time_t secs = static_cast<std::time_t>(us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
    const long long frac = digits >= 6 ? us % 1000000 : us % 1000000 / 1000;
    std::snprintf(buf + n, sizeof(buf) - n, digits >= 6 ? ".%06lld" : ".%03lld", frac);
    return buf;
}

std::string clip(std::string text, std::size_t width)
{
    text = printable(text);  // a traced name is shown on a terminal
    if (text.size() > width)
        text = text.substr(0, width - 1) + "~";
    return text;
}

void extend_range(std::int64_t& first, std::int64_t& last, std::int64_t at)
{
    if (!at)
        return;
    first = first ? std::min(first, at) : at;
    last = std::max(last, at);
}

std::optional<std::int64_t> parse_timestamp_us(const std::string& text)
{
    int y, mo, d, h, mi, s, n = 0;
    char frac[8] = {};
    if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%7[0-9]Z%n", &y, &mo, &d, &h, &mi, &s,
                    frac, &n) != 7 ||
        static_cast<std::size_t>(n) != text.size() || mo < 1 || mo > 12 || d < 1 || d > 31 ||
        h > 23 || mi > 59 || s > 60)
        return std::nullopt;
    std::int64_t micros = 0;
    int digits = 0;
    for (const char* p = frac; *p && digits < 6; ++p, ++digits)
        micros = micros * 10 + (*p - '0');
    for (; digits < 6; ++digits)
        micros *= 10;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    const std::time_t secs = timegm(&tm);
    return static_cast<std::int64_t>(secs) * 1000000 + micros;
}

SpanFacts span_facts(const nlohmann::json& r)
{
    SpanFacts f;
    f.trace_id = json_string(r, "trace_id");
    f.span_id = json_string(r, "span_id");
    f.parent_span_id = json_string(r, "parent_span_id");
    f.component = json_string(r, "component");
    f.operation = json_string(r, "operation");
    f.description = json_string(r, "description");
    f.start_us = parse_timestamp_us(json_string(r, "timestamp")).value_or(0);
    // at most ~30 years, so that begin + duration stays an int64 of microseconds
    f.duration_ms = std::clamp(json_number(r, "duration_ms"), 0.0, 1e12);
    static const nlohmann::json kNone;
    const auto tags_it = r.find("tags");
    const nlohmann::json& tags = tags_it != r.end() ? *tags_it : kNone;
    f.failed = !json_bool(tags, "success", true);
    f.aborted = json_bool(tags, "aborted", false);
    f.error_type = json_string(tags, "error_type");
    f.error_message = json_string(tags, "error_message");
    const auto meta_it = r.find("metadata");
    if (meta_it != r.end()) {
        f.process_id = json_string(*meta_it, "process_id");
        f.thread_id = json_string(*meta_it, "thread_id");
    }
    const auto res_it = r.find("resources");
    if (res_it != r.end() && res_it->is_object()) {
        const nlohmann::json& res = *res_it;
        SpanResources& o = f.resources;
        o.present = true;
        o.cpu_ms = json_number(res, "cpu_time_ms");
        o.offcpu_ms = json_number(res, "offcpu_time_ms");
        if (res.contains("io_wait_ms") && res["io_wait_ms"].is_number())
            o.io_wait_ms = res["io_wait_ms"].get<double>();
        o.read_bytes = json_counter(res, "read_bytes");
        o.write_bytes = json_counter(res, "write_bytes");
        o.storage_read_bytes = json_counter(res, "storage_read_bytes");
        o.storage_write_bytes = json_counter(res, "storage_write_bytes");
        o.minor_faults = json_counter(res, "minor_faults");
        o.major_faults = json_counter(res, "major_faults");
        o.voluntary_switches = json_counter(res, "voluntary_ctx_switches");
        o.involuntary_switches = json_counter(res, "involuntary_ctx_switches");
        o.rss_delta_bytes = json_signed(res, "rss_delta_bytes");
    }
    return f;
}

namespace {

bool is_string_field(const nlohmann::json& j, const char* key)
{
    auto it = j.find(key);
    return it != j.end() && it->is_string();
}

}  // namespace

std::string record_problem(const nlohmann::json& j, RecordKind& kind, std::string& type)
{
    static const std::string kNotRecord =
        "not a trace record (needs component, operation and duration_ms)";
    if (!j.is_object())
        return kNotRecord;
    auto rt = j.find("record_type");
    if (rt == j.end() || rt->is_null() ||
        (rt->is_string() && rt->get_ref<const std::string&>() == "span")) {
        auto d = j.find("duration_ms");
        if (!is_string_field(j, "component") || !is_string_field(j, "operation") || d == j.end() ||
            !d->is_number())
            return kNotRecord;
        kind = RecordKind::span;
        type = "span";
        return {};
    }
    // event records: the type is all they must have (fields are read leniently)
    if (!rt->is_string() || rt->get_ref<const std::string&>().empty())
        return "record_type must be a non-empty string";
    kind = RecordKind::event;
    type = rt->get<std::string>();
    return {};
}

namespace {

// Lines of a stream, each at most `max` bytes: a file without newlines
// (/dev/zero, a binary) is an error, not a memory exhaustion.
class LineReader {
public:
    LineReader(std::istream& in, std::size_t max) : in_(*in.rdbuf()), max_(max), chunk_(1 << 16) {}

    // False at the end of the stream; `too_long` when a line passed `max`.
    bool next(std::string& line, bool& too_long)
    {
        line.clear();
        too_long = false;
        for (;;) {
            if (pos_ == end_) {
                pos_ = 0;
                end_ = static_cast<std::size_t>(std::max<std::streamsize>(
                    0, in_.sgetn(chunk_.data(), static_cast<std::streamsize>(chunk_.size()))));
                if (end_ == 0)
                    return !line.empty();
            }
            const char* start = chunk_.data() + pos_;
            const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
            const std::size_t take = nl ? static_cast<std::size_t>(nl - start) : end_ - pos_;
            if (line.size() + take > max_) {
                too_long = true;
                return true;
            }
            line.append(start, take);
            pos_ += take;
            if (nl) {
                ++pos_;
                return true;
            }
        }
    }

private:
    std::streambuf& in_;
    std::size_t max_;
    std::vector<char> chunk_;
    std::size_t pos_ = 0, end_ = 0;
};

}  // namespace

Result<bool> read_trace_stream(std::istream& in, const TraceVisitor& visit, std::uint64_t* records)
{
    std::string line;
    std::uint64_t count = 0;
    bool array = false;  // `record --format json`: "[", one record per line with ",", "]"
    LineReader lines(in, kMaxTraceLineBytes);
    bool too_long = false;
    for (std::uint64_t n = 1; lines.next(line, too_long); ++n) {
        if (too_long)
            return Error{"line " + std::to_string(n) + " is longer than " +
                         std::to_string(kMaxTraceLineBytes >> 20) + " MiB: not a trace record"};
        const std::size_t first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos)
            continue;
        if (count == 0 && !array && line.compare(first, std::string::npos, "[") == 0) {
            array = true;
            continue;
        }
        if (array) {
            const std::size_t last = line.find_last_not_of(" \t\r");
            if (line[first] == ']' && first == last)
                continue;
            if (line[last] == ',')
                line.erase(last);
        }
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded())
            return Error{"line " + std::to_string(n) + ": invalid JSON"};
        RecordKind kind = RecordKind::span;
        std::string type;
        const std::string why = record_problem(j, kind, type);
        if (!why.empty())
            return Error{"line " + std::to_string(n) + ": " + why};
        ++count;
        visit(TraceLine{j, kind, type, n});
    }
    if (in.bad())
        return Error{"read error"};
    if (records)
        *records = count;
    return true;
}

std::uint64_t read_trace_file(const std::string& path, const TraceVisitor& visit, ExitCode missing)
{
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw FatalError(ExitCode::bad_input, path + " is a directory, not a trace file");
    std::ifstream in(path);
    if (!in)
        throw FatalError(missing, "cannot open " + path + ": " + std::strerror(errno));
    std::uint64_t records = 0;
    auto ok = read_trace_stream(in, visit, &records);
    if (!ok)
        throw FatalError(ExitCode::bad_input, path + ": " + ok.error().message);
    if (records == 0)
        throw FatalError(ExitCode::bad_input, path + ": no trace records (empty file)");
    return records;
}

}  // namespace lstrace
