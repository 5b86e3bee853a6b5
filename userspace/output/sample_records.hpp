// Process-wide resource samples (TracingConfig sample_interval_ms): every
// interval, each traced process's CPU time, RSS, threads and descriptors
// over that interval, as process_sample event records - so a slow span
// can be seen against what the whole process was doing.
#pragma once

#include <map>
#include <vector>

#include "correlate/span_record.hpp"
#include "output/process_sampler.hpp"

namespace lstrace {

class ProcessSamples {
public:
    // Starts sampling `pid` (its first sample is the baseline).
    void watch(int pid);

    // One record per watched process for the interval since the last call;
    // processes that are gone are dropped.
    std::vector<EventRecord> take();

private:
    std::map<int, ProcessSample> last_;
};

}  // namespace lstrace
