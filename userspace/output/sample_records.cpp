#include "output/sample_records.hpp"

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
        r.tags = sample_tags(*now, d);
        out.push_back(std::move(r));
        it->second = *now;
        ++it;
    }
    return out;
}

}  // namespace lstrace
