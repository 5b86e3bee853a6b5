#include "sample_records.hpp"

namespace lstrace {

void ProcessSamples::watch(int pid)
{
    if (last_.count(pid))
        return;
    if (auto s = sample_process(pid))
        last_.emplace(pid, *s);
}

std::vector<EventRecord> ProcessSamples::take()
{
    std::vector<EventRecord> out;
    for (auto it = last_.begin(); it != last_.end();) {
        const auto now = sample_process(it->first);
        if (!now) {
            it = last_.erase(it);
            continue;
        }
        const SampleDelta d = sample_delta(it->second, *now);
        EventRecord r;
        r.record_type = "process_sample";
        r.tgid = static_cast<std::uint32_t>(it->first);
        r.ts_ns = now->taken_at_ns;
        r.description = "Process " + std::to_string(it->first) + " over the last interval";
        const auto num = [&](const char* key, std::int64_t v) { r.tags.push_back({key, v}); };
        r.tags.push_back({"interval_ms", d.interval_ms});
        r.tags.push_back({"cpu_time_ms", d.cpu_time_ms});
        r.tags.push_back({"cpu_usage", d.cpu_usage_percent});
        num("memory_usage", static_cast<std::int64_t>(now->rss_bytes));
        num("rss_delta_bytes", d.rss_delta_bytes);
        num("threads", now->threads);
        if (now->open_fds)
            num("open_fds", *now->open_fds);
        num("voluntary_ctx_switches", d.voluntary_ctxt_switches);
        num("involuntary_ctx_switches", d.involuntary_ctxt_switches);
        num("minor_faults", static_cast<std::int64_t>(d.minor_faults));
        num("major_faults", static_cast<std::int64_t>(d.major_faults));
        out.push_back(std::move(r));
        it->second = *now;
        ++it;
    }
    return out;
}

}  // namespace lstrace
