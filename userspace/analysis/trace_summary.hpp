// `lstrace-bpf summary TRACE.jsonl`: a per-operation table of a recorded
// trace (count, failures, duration percentiles and where the time went).
// The trace is read line by line; per operation only the durations are
// kept, for exact percentiles.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace lstrace {

struct OperationStats {
    std::uint64_t spans = 0;
    std::uint64_t failures = 0;
    std::vector<double> durations_ms;  // for percentiles
    double total_ms = 0, cpu_ms = 0, offcpu_ms = 0;
    std::uint64_t read_bytes = 0, write_bytes = 0, minor_faults = 0, major_faults = 0;
    std::int64_t rss_delta_bytes = 0;
};

class TraceSummary {
public:
    // Adds one record (event records are counted, not tabulated); an Error
    // names what is wrong with it.
    Result<bool> add(const nlohmann::json& record);

    // Reads a JSONL stream; an Error names the first bad line.
    Result<bool> add_stream(std::istream& in);

    // The table, busiest operations (total duration) first.
    std::string table() const;

    std::uint64_t records() const noexcept { return records_; }  // span records
    const std::map<std::pair<std::string, std::string>, OperationStats>& operations() const
    {
        return ops_;
    }

    // Event records by record_type.
    const std::map<std::string, std::uint64_t>& events() const { return events_; }

private:
    std::map<std::pair<std::string, std::string>, OperationStats> ops_;
    std::map<std::string, std::uint64_t> events_;
    std::uint64_t records_ = 0;
};

// Nearest-rank percentile (p in 0..100) of unsorted values; 0 when empty.
double percentile(std::vector<double> values, double p);

}  // namespace lstrace
