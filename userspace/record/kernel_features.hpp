// What the running kernel offers that the BPF programs depend on, read
// from its BTF before loading (no version numbers: features backported or
// configured out are seen as they are).
#pragma once

#include <string>

namespace lstrace {

struct KernelFeatures {
    // sched_process_exit passes group_dead (6.18 does; 6.1 passes the task only).
    bool exit_tracepoint_has_group_dead = true;
    // task_struct.rss_stat: each thread batches its RSS changes before they
    // reach the mm (kernels before v6.2, SPLIT_RSS_COUNTING).
    bool rss_cached_per_task = false;
};

// Reads the features from the BTF at `btf_path` (empty: the running
// kernel's).  Throws FatalError(ExitCode::no_btf) when it cannot be parsed.
KernelFeatures probe_kernel_features(const std::string& btf_path);

}  // namespace lstrace
