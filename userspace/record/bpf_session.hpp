// Owns the loaded BPF object and its attachments.
//
// Steps are separate, as libbpf intends: open (configure rodata and map
// sizes) -> load (verifier) -> attach.  Everything is RAII: links are
// destroyed before the skeleton, and destroying a USDT link lowers the
// target's semaphores again, so a recorder that exits (by any path) leaves
// the traced process as it found it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lstrace_abi.h"
#include "record/kernel_features.hpp"

struct lstrace_bpf;
struct bpf_link;

namespace lstrace {

struct BpfConfig {
    std::uint32_t ringbuf_bytes = 16u << 20;
    // BPF wakes the consumer once this much is waiting (see wakeup_bytes in
    // bpf/lstrace.bpf.c); below it the consumer drains on its timer.
    std::uint32_t wakeup_bytes = 2u << 20;
    // BTF for CO-RE; empty: the running kernel's /sys/kernel/btf/vmlinux
    std::string btf_path;
    // --follow: children of traced processes are traced, across exec
    bool follow_children = false;
    // --binary: every process that runs or maps the attached files
    bool any_process = false;
    // The component filter, applied in BPF: spans of a filtered component
    // send nothing.  At most one of the two lists is non-empty.
    std::vector<std::string> enabled_components;
    std::vector<std::string> disabled_components;
    // Spans that end successfully sooner are dropped in BPF (0: keep all).
    std::uint64_t min_duration_ns = 0;
    // Thread name and CPU in span events (include_thread_info).
    bool thread_info = false;
    // User stacks at the error probe (include_stack_trace).
    bool stack_traces = false;
};

class BpfSession {
public:
    // Opens, configures and loads; throws FatalError(ExitCode::bpf).
    explicit BpfSession(const BpfConfig& config);
    ~BpfSession();
    BpfSession(const BpfSession&) = delete;
    BpfSession& operator=(const BpfSession&) = delete;

    // The scheduler tracepoints that keep per-thread CPU clocks.
    void attach_scheduler();

    // All langswarm probes of `object` (an executable or shared library) for
    // process `pid` (per PID; or, with follow_children / any_process, once
    // per file for every process, filtered in BPF; pid <= 0 registers none).
    // langswarm:recording is attached last: its semaphore is what the
    // application checks before starting a span, so once it is set every
    // other probe is live.  A uprobe raises its semaphore before its program
    // is connected, so no probe can be its own gate.
    void attach_process(int pid, const std::string& object);

    // Registers a process as traced (the BPF programs' filter).
    void trace_process(int pid);

    // Detaches every probe (the application sees enabled() turn false).
    void detach();

    int events_map_fd() const;

    // True once BPF has summed per-CPU RSS counter parts, or where the
    // kernel has none (before v6.2); false before the first span or when it
    // could not (RSS figures then are the kernel's fast, approximate
    // counts: see bpf/mm_rss.bpf.h).
    bool rss_exact() const;

    // True when BPF lost the end event of this span (bpf `lost_ends`).
    bool end_was_lost(std::uint32_t tgid, std::uint64_t span_id) const;

    // Spans BPF saw per name of the component filter.
    std::map<std::string, std::uint64_t> component_filter_hits() const;

    // LSTRACE_CNT_* summed over CPUs.
    std::array<std::uint64_t, LSTRACE_CNT_MAX> counters() const;

private:
    void add_component_name(const std::string& name);

    struct SkeletonDeleter {
        void operator()(lstrace_bpf* skel) const noexcept;
    };
    struct LinkDeleter {
        void operator()(bpf_link* link) const noexcept;
    };
    using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;

    std::unique_ptr<lstrace_bpf, SkeletonDeleter> skel_;
    std::vector<LinkPtr> links_;         // after skel_: destroyed first
    std::vector<std::string> attached_;  // "pid:dev:inode" already attached
    std::uint32_t spec_slots_used_ = 0;  // of libbpf's USDT argument specs
    KernelFeatures features_;
    bool all_processes_ = false;
};

// libbpf's text for a negative error code.
std::string libbpf_error_text(int err);

}  // namespace lstrace
