#include "record/bpf_session.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/errors.hpp"
#include "base/log.hpp"
#include "lstrace.skel.h"
#include "record/clock_priming.hpp"
#include "usdt/probe_notes.hpp"

namespace lstrace {
namespace {

constexpr const char* kKernelBtf = "/sys/kernel/btf/vmlinux";

// libbpf gives every distinct argument layout of a probe in an attached file
// one slot of the __bpf_usdt_specs map (usdt.bpf.h's default: 256).  A file
// built with lstrace's header needs about 13, so this serves ~78 distinct
// instrumented files per recording (208 bytes a slot).  When it runs out,
// libbpf 1.1's attach error path frees a link twice, so attach_process()
// refuses before that happens: see spec_slots_needed().
constexpr std::uint32_t kUsdtSpecSlots = 1024;

// The spec slots attaching `probe` of `notes` takes: one per distinct
// argument string (libbpf shares a slot between sites of one attachment
// with the same layout).
std::uint32_t spec_slots_needed(const std::vector<usdt::ProbeNote>& notes, const char* probe)
{
    std::vector<std::string> layouts;
    for (const usdt::ProbeNote& n : notes)
        if (n.provider == usdt::kProvider && n.name == probe &&
            std::find(layouts.begin(), layouts.end(), n.arguments) == layouts.end())
            layouts.push_back(n.arguments);
    return static_cast<std::uint32_t>(layouts.size());
}

// What identifies an attachable file: /proc/PID/exe of two processes
// running one program is one file, attached once.
std::string file_identity(const std::string& path)
{
    struct stat st;
    if (::stat(path.c_str(), &st) != 0)
        throw FatalError(ExitCode::no_target, "cannot stat " + path + ": " + std::strerror(errno));
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

}  // namespace

std::string libbpf_error_text(int err)
{
    char buf[256];
    libbpf_strerror(err, buf, sizeof(buf));
    return buf;
}

void BpfSession::SkeletonDeleter::operator()(lstrace_bpf* skel) const noexcept
{
    lstrace_bpf__destroy(skel);
}

void BpfSession::LinkDeleter::operator()(bpf_link* link) const noexcept
{
    bpf_link__destroy(link);
}

BpfSession::BpfSession(const BpfConfig& config)
{
    // CO-RE needs the kernel's type information: say so plainly if absent.
    const std::string btf = config.btf_path.empty() ? kKernelBtf : config.btf_path;
    if (::access(btf.c_str(), R_OK) != 0)
        throw FatalError(ExitCode::no_btf,
                         "no kernel BTF at " + btf + ": " + std::strerror(errno) +
                             " (the kernel needs CONFIG_DEBUG_INFO_BTF=y, or pass --btf PATH)");
    LIBBPF_OPTS(bpf_object_open_opts, open_opts);
    if (!config.btf_path.empty())
        open_opts.btf_custom_path = config.btf_path.c_str();
    skel_.reset(lstrace_bpf__open_opts(&open_opts));
    if (!skel_)
        throw FatalError(ExitCode::bpf, "cannot open the BPF object: " + libbpf_error_text(-errno));
    skel_->rodata->page_size = static_cast<__u64>(sysconf(_SC_PAGESIZE));
    skel_->rodata->min_duration_ns = config.min_duration_ns;
    skel_->rodata->collect_thread_info = config.thread_info;
    skel_->rodata->collect_stacks = config.stack_traces;
    skel_->rodata->component_filter = !config.enabled_components.empty() ? LSTRACE_COMPONENTS_ALLOW
                                      : !config.disabled_components.empty()
                                          ? LSTRACE_COMPONENTS_DENY
                                          : LSTRACE_COMPONENTS_ALL;
    skel_->rodata->wakeup_bytes = config.wakeup_bytes;
    all_processes_ = config.follow_children || config.any_process;
    skel_->rodata->filter_tgids = all_processes_;
    skel_->rodata->follow_children = config.follow_children;
    skel_->rodata->trace_any_process = config.any_process;
    const int ncpus = libbpf_num_possible_cpus();
    if (ncpus <= 0)
        throw FatalError(ExitCode::bpf,
                         "cannot count the possible CPUs: " + libbpf_error_text(ncpus));
    skel_->rodata->nr_cpus = static_cast<__u32>(ncpus);
    // Test only: the sched_switch program ignores most events, as if they
    // were lost (tests/integration/test_accuracy.cpp; bpf/thread_clock.bpf.h).
    skel_->rodata->lose_sched_events = std::getenv("LSTRACE_TEST_LOSE_SCHED_EVENTS") != nullptr;
    int err = bpf_map__set_max_entries(skel_->maps.events, config.ringbuf_bytes);
    if (err)
        throw FatalError(ExitCode::bpf, "cannot size the ring buffer: " + libbpf_error_text(err));
    err = bpf_map__set_max_entries(skel_->maps.__bpf_usdt_specs, kUsdtSpecSlots);
    if (!err)  // used by libbpf only on kernels without BPF cookies
        err = bpf_map__set_max_entries(skel_->maps.__bpf_usdt_ip_to_spec_id, 4 * kUsdtSpecSlots);
    if (err)
        throw FatalError(ExitCode::bpf,
                         "cannot size the USDT argument tables: " + libbpf_error_text(err));
    // Program variants: only the one that matches this kernel is loaded.
    features_ = probe_kernel_features(config.btf_path);
    const bool group_dead = features_.exit_tracepoint_has_group_dead;
    bpf_program__set_autoload(skel_->progs.on_thread_exit, group_dead);
    bpf_program__set_autoload(skel_->progs.on_thread_exit_task_only, !group_dead);
    take_verifier_rejection();  // only this load's
    err = lstrace_bpf__load(skel_.get());
    if (err) {
        // A program the verifier refused has a log (EACCES is one of its
        // verdicts too); a load refused for lack of privilege has none.
        if (const auto rejection = take_verifier_rejection())
            throw FatalError(ExitCode::bpf,
                             "the kernel's verifier refused BPF program '" + rejection->program +
                                 "' (" + libbpf_error_text(err) + "): " + rejection->last_lines);
        if (err == -EPERM || err == -EACCES)
            throw FatalError(ExitCode::permission,
                             "not permitted to load BPF programs (" + libbpf_error_text(err) +
                                 "): recording needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)");
        throw FatalError(ExitCode::bpf,
                         "the kernel refused the BPF programs: " + libbpf_error_text(err) +
                             " (run with -v for libbpf's log)");
    }
    const auto& names =
        config.enabled_components.empty() ? config.disabled_components : config.enabled_components;
    for (const std::string& name : names)
        add_component_name(name);
}

void BpfSession::add_component_name(const std::string& name)
{
    if (name.empty() || name.size() >= LSTRACE_NAME_LEN)
        throw FatalError(ExitCode::usage, "component name '" + name + "' must be 1 to " +
                                              std::to_string(LSTRACE_NAME_LEN - 1) + " bytes");
    char key[LSTRACE_NAME_LEN] = {};  // struct component_name: NUL padded
    std::memcpy(key, name.data(), name.size());
    const __u64 hits = 0;
    if (bpf_map_update_elem(bpf_map__fd(skel_->maps.component_names), key, &hits, BPF_ANY) != 0)
        throw FatalError(ExitCode::bpf, "cannot add component '" + name +
                                            "' to the filter: " + libbpf_error_text(-errno));
}

BpfSession::~BpfSession() = default;

void BpfSession::attach_scheduler()
{
    bpf_program* thread_exit = features_.exit_tracepoint_has_group_dead
                                   ? skel_->progs.on_thread_exit
                                   : skel_->progs.on_thread_exit_task_only;
    for (bpf_program* prog :
         {skel_->progs.on_sched_switch, thread_exit, skel_->progs.on_fork, skel_->progs.on_exec,
          skel_->progs.on_sys_enter, skel_->progs.on_sys_exit, skel_->progs.on_rss_stat}) {
        bpf_link* link = bpf_program__attach(prog);
        if (!link)
            throw FatalError(ExitCode::bpf, std::string("cannot attach ") +
                                                bpf_program__name(prog) + ": " +
                                                libbpf_error_text(-errno));
        links_.emplace_back(link);
    }
    prime_sched_clock_offsets();
}

void BpfSession::trace_process(int pid)
{
    const __u32 tgid = static_cast<__u32>(pid);
    const __u8 yes = 1;
    if (bpf_map_update_elem(bpf_map__fd(skel_->maps.traced_tgids), &tgid, &yes, BPF_ANY) != 0)
        throw FatalError(ExitCode::bpf, "cannot register PID " + std::to_string(pid) + ": " +
                                            libbpf_error_text(-errno));
}

void BpfSession::attach_process(int pid, const std::string& object)
{
    if (pid > 0)
        trace_process(pid);
    // Every-process mode: one attachment per file serves all processes.
    const int attach_pid = all_processes_ ? -1 : pid;
    const std::string key = std::to_string(attach_pid) + ":" + file_identity(object);
    if (std::find(attached_.begin(), attached_.end(), key) != attached_.end())
        return;
    auto notes = usdt::read_probe_notes(object);
    if (!notes)
        throw FatalError(ExitCode::no_probes, notes.error().message);
    // The component, error and data-flow probes first (an object built
    // with an older header may lack them), then the span probes, the
    // recording gate last.
    const struct {
        bpf_program* prog;
        const char* probe;
        bool required;
    } order[] = {
        {skel_->progs.on_component_init, "component_init", false},
        {skel_->progs.on_state_change, "state_change", false},
        {skel_->progs.on_config_change, "config_change", false},
        {skel_->progs.on_error, "error", false},
        {skel_->progs.on_error_handled, "error_handled", false},
        {skel_->progs.on_error_recovery, "error_recovery", false},
        {skel_->progs.on_error_resolution, "error_resolution", false},
        {skel_->progs.on_data_flow, "data_flow", false},
        {skel_->progs.on_task_resume, "task_resume", false},
        {skel_->progs.on_task_suspend, "task_suspend", false},
        {skel_->progs.on_span_end, usdt::kProbeSpanEnd, true},
        {skel_->progs.on_span_tag, usdt::kProbeSpanTag, true},
        {skel_->progs.on_span_error, usdt::kProbeSpanError, true},
        {skel_->progs.on_span_begin, usdt::kProbeSpanBegin, true},
        {skel_->progs.on_recording_gate, usdt::kProbeRecording, true},
    };
    std::uint32_t slots = 0;
    for (const auto& p : order)
        slots += spec_slots_needed(notes.value(), p.probe);
    if (spec_slots_used_ + slots > kUsdtSpecSlots)
        throw FatalError(ExitCode::bpf, "cannot attach to " + object + " (pid " +
                                            std::to_string(attach_pid) + "): its probes need " +
                                            std::to_string(slots) + " USDT argument slots, " +
                                            std::to_string(kUsdtSpecSlots - spec_slots_used_) +
                                            " of " + std::to_string(kUsdtSpecSlots) + " are left");
    spec_slots_used_ += slots;  // counted before attaching: a failed attach frees none
    for (const auto& p : order) {
        bpf_link* link = bpf_program__attach_usdt(p.prog, attach_pid, object.c_str(),
                                                  usdt::kProvider, p.probe, nullptr);
        if (!link && !p.required && errno == ENOENT) {
            spdlog::debug("{} has no langswarm:{} probe", object, p.probe);
            continue;
        }
        if (!link)
            throw FatalError(ExitCode::bpf, std::string("cannot attach to langswarm:") + p.probe +
                                                " in " + object + " (pid " +
                                                std::to_string(attach_pid) +
                                                "): " + libbpf_error_text(-errno));
        spdlog::debug("attached langswarm:{} in {} (pid {})", p.probe, object, attach_pid);
        links_.emplace_back(link);
    }
    attached_.push_back(key);
}

void BpfSession::detach()
{
    // USDT links first, so no span can begin while the clocks are detached.
    // Each removal of a uprobe waits for RCU grace periods (removals in
    // parallel threads serialize in the kernel all the same), so detaching
    // takes a noticeable time per probe.
    for (auto it = links_.rbegin(); it != links_.rend(); ++it)
        it->reset();
    links_.clear();
    attached_.clear();
    spec_slots_used_ = 0;
}

bool BpfSession::end_was_lost(std::uint32_t tgid, std::uint64_t span_id) const
{
    const lstrace_span_key key{tgid, 0, span_id};
    __u8 value = 0;
    return bpf_map_lookup_elem(bpf_map__fd(skel_->maps.lost_ends), &key, &value) == 0;
}

std::map<std::string, std::uint64_t> BpfSession::component_filter_hits() const
{
    std::map<std::string, std::uint64_t> hits;
    const int fd = bpf_map__fd(skel_->maps.component_names);
    char key[LSTRACE_NAME_LEN] = {}, next[LSTRACE_NAME_LEN];
    const void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, next) == 0) {
        __u64 n = 0;
        if (bpf_map_lookup_elem(fd, next, &n) == 0)
            hits[std::string(next, strnlen(next, sizeof(next)))] = n;
        std::memcpy(key, next, sizeof(key));
        prev = key;
    }
    return hits;
}

bool BpfSession::rss_exact() const
{
    // Before v6.2 the mm's counters are plain atomics (no per-CPU parts);
    // what they lack, other threads' batched counts, is flagged per span.
    return features_.rss_cached_per_task || skel_->bss->percpu_offsets_state == 1;
}

int BpfSession::events_map_fd() const
{
    return bpf_map__fd(skel_->maps.events);
}

std::array<std::uint64_t, LSTRACE_CNT_MAX> BpfSession::counters() const
{
    std::array<std::uint64_t, LSTRACE_CNT_MAX> sums{};
    const int ncpus = libbpf_num_possible_cpus();
    if (ncpus <= 0)
        return sums;
    std::vector<__u64> per_cpu(static_cast<std::size_t>(ncpus));
    const int fd = bpf_map__fd(skel_->maps.counters);
    for (__u32 i = 0; i < LSTRACE_CNT_MAX; ++i) {
        if (bpf_map_lookup_elem(fd, &i, per_cpu.data()) != 0) {
            spdlog::warn("cannot read BPF counter {}: {}", i, libbpf_error_text(-errno));
            continue;
        }
        for (__u64 v : per_cpu)
            sums[i] += v;
    }
    return sums;
}

}  // namespace lstrace
