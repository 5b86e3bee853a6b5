// `lstrace-bpf export --format chrome`: the Chrome Trace Event format
// (JSON object form) that Perfetto UI and chrome://tracing open.
//
//   span record          -> "X" complete event on its process/thread track,
//                           args: ids, description, tags, metadata, resources
//   span end             -> "C" counters of its process: memory_usage, and
//                           the span's cpu_ms/offcpu_ms/io_bytes/faults
//   process_sample event -> "C" counters: cpu_usage, rss_bytes, threads, open_fds
//   other event records  -> "i" instant events on the thread (errors in
//                           category "error"), args: tags
//   first sight of a pid/tid -> "M" process_name / thread_name metadata
//
// Timestamps are microseconds since the Unix epoch.  Streamed: one event
// per output line, nothing kept but the pids and tids already named.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "analysis/trace_reader.hpp"
#include "config/cli.hpp"

namespace lstrace {

class ChromeExporter {
public:
    // Appends the trace events for one record.
    void add(const TraceLine& line, std::vector<nlohmann::json>& out);

private:
    void name_track(long long pid, long long tid, std::vector<nlohmann::json>& out);
    std::set<long long> processes_;
    std::set<std::pair<long long, long long>> threads_;
};

}  // namespace lstrace
