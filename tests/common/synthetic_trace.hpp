// A synthetic trace with deep nesting and errors, written as the recorder
// would (children end before their parents), for the unit and integration
// tests.  Trace t (0 <= t < traces) is a chain of `depth` spans on thread
// 1000 + t: span k begins at t*10 s + k ms and ends at t*10 s + (2*depth - k)
// ms, so every span's self time and its time on the critical path is 2 ms
// and the root lasts 2*depth ms.  Components cycle c0, c1, c2 by depth; the
// deepest `failing` spans fail with DeepError and a message carrying the
// depth and a hex id, so their errors cross a component boundary at every
// level: `failing` propagation edges, of which failing-1 reach a failed
// parent.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

namespace lstrace::test {

inline std::string synthetic_timestamp(std::int64_t us)
{
    const std::time_t secs =
        static_cast<std::time_t>(1768471200 + us / 1000000);  // 2026-01-15T10:00Z
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[48];
    const std::size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof(buf) - n, ".%06lldZ", static_cast<long long>(us % 1000000));
    return buf;
}

inline std::string synthetic_deep_trace(int traces, int depth, int failing)
{
    std::string out;
    char line[1024];
    for (int t = 0; t < traces; ++t) {
        const std::int64_t base_us = std::int64_t(t) * 10'000'000;
        for (int k = depth - 1; k >= 0; --k) {
            const bool failed = k >= depth - failing;
            const double duration = 2.0 * (depth - k);
            char parent[32] = "null";
            if (k > 0)
                std::snprintf(parent, sizeof(parent), "\"%016d\"", 100000 + t * 1000 + k - 1);
            std::string tags = failed ? "\"success\":false,\"error_type\":\"DeepError\","
                                        "\"error_message\":\"failure at depth " +
                                            std::to_string(k) + " (request 9f8e7d6c5b4a" +
                                            std::to_string(1000 + k) + ")\""
                                      : std::string("\"success\":true");
            std::snprintf(
                line, sizeof(line),
                "{\"record_type\":\"span\",\"timestamp\":\"%s\",\"trace_id\":\"%032d\",\"span_id\":"
                "\"%016d\",\"parent_span_id\":%s,\"component\":\"c%d\",\"operation\":\"level\","
                "\"description\":\"depth %d\",\"duration_ms\":%.3f,\"tags\":{%s},\"metadata\":{"
                "\"thread_id\":\"%d\",\"process_id\":\"1000\",\"memory_usage\":1000000,"
                "\"cpu_usage\":50.0},\"resources\":{\"cpu_time_ms\":%.3f,\"offcpu_time_ms\":%.3f,"
                "\"voluntary_ctx_switches\":1,\"involuntary_ctx_switches\":0,\"minor_faults\":1,"
                "\"major_faults\":0,\"rss_delta_bytes\":4096,\"read_bytes\":0,\"write_bytes\":0,"
                "\"read_syscalls\":0,\"write_syscalls\":0,\"storage_read_bytes\":0,"
                "\"storage_write_bytes\":0}}\n",
                synthetic_timestamp(base_us + std::int64_t(k) * 1000).c_str(), t + 1,
                100000 + t * 1000 + k, parent, k % 3, k, duration, tags.c_str(), 1000 + t,
                duration / 2, duration / 2);
            out += line;
        }
    }
    return out;
}

// An operation with lognormal durations (the shape of real latencies):
// median_ms * exp(sigma * z), z standard normal; cpu_share of each span on
// CPU, the rest off-CPU.  The first `outliers` spans last outlier_factor
// times as long (all of it off-CPU).
struct SyntheticOperation {
    std::string component, operation;
    int spans = 0;
    double median_ms = 1.0, sigma = 0.3, cpu_share = 1.0;
    int failures = 0;  // the last `failures` spans fail
    int outliers = 0;
    double outlier_factor = 100.0;
    int voluntary_switches = 0, involuntary_switches = 0;  // per span
};

// Span records of `ops` drawn from a generator seeded with `seed`, the
// operations' spans interleaved, one root span each, beginning at
// start_s seconds after the synthetic epoch, 1 ms apart.
inline std::string synthetic_operations_trace(std::uint64_t seed,
                                              const std::vector<SyntheticOperation>& ops,
                                              std::int64_t start_s = 0)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    std::string out;
    char line[1024];
    std::int64_t at_us = start_s * 1'000'000, id = 0;
    int most = 0;
    for (const SyntheticOperation& op : ops)
        most = op.spans > most ? op.spans : most;
    for (int i = 0; i < most; ++i) {
        for (const SyntheticOperation& op : ops) {
            if (i >= op.spans)
                continue;
            double duration = op.median_ms * std::exp(op.sigma * normal(rng));
            double cpu = duration * op.cpu_share;
            if (i < op.outliers)
                duration *= op.outlier_factor;
            const bool failed = i >= op.spans - op.failures;
            ++id;
            std::snprintf(
                line, sizeof(line),
                "{\"record_type\":\"span\",\"timestamp\":\"%s\",\"trace_id\":\"%032lld\","
                "\"span_id\":\"%016lld\",\"parent_span_id\":null,\"component\":\"%s\","
                "\"operation\":\"%s\",\"description\":\"synthetic\",\"duration_ms\":%.6f,"
                "\"tags\":{\"success\":%s},\"metadata\":{\"thread_id\":\"7\",\"process_id\":"
                "\"7\"},\"resources\":{\"cpu_time_ms\":%.6f,\"offcpu_time_ms\":%.6f,"
                "\"voluntary_ctx_switches\":%d,\"involuntary_ctx_switches\":%d,"
                "\"minor_faults\":0,\"major_faults\":0,\"rss_delta_bytes\":0,\"read_bytes\":0,"
                "\"write_bytes\":0}}\n",
                synthetic_timestamp(at_us).c_str(), static_cast<long long>(id),
                static_cast<long long>(id), op.component.c_str(), op.operation.c_str(), duration,
                failed ? "false" : "true", cpu, duration - cpu, op.voluntary_switches,
                op.involuntary_switches);
            out += line;
            at_us += 1000 + static_cast<std::int64_t>(duration * 1000);
        }
    }
    return out;
}

}  // namespace lstrace::test
