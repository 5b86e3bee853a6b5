#include "record/recorder.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/errors.hpp"
#include "correlate/correlator.hpp"
#include "otlp/otlp_setup.hpp"
#include "output/record_sink.hpp"
#include "output/redactor.hpp"
#include "output/sample_records.hpp"
#include "output/trace_format.hpp"
#include "output/trace_output.hpp"
#include "record/bpf_session.hpp"
#include "record/follower.hpp"
#include "record/privileges.hpp"
#include "record/ring_reader.hpp"
#include "record/target.hpp"
#include "usdt/probe_notes.hpp"

namespace lstrace {
namespace {

// How long a launched command gets to exit after SIGTERM before the
// recorder stops waiting for its last spans.
constexpr int kLaunchedGraceMs = 2000;

// How often the ring buffer is drained when BPF does not wake us.
constexpr int kDrainIntervalMs = 50;

// Records handled per loop turn, so signals, timers and exits are seen
// even while producers outrun the consumer (tens of milliseconds of work).
constexpr std::size_t kRecordsPerDrain = 32768;

// A drain this long (after the first) means the consumer is behind: BPF
// wakes it every eighth of the buffer (~4,500 events of the default 16 MiB),
// so it found about two wake-ups' worth waiting.  The sink then formats and
// writes on threads of their own (RecordSink::go_parallel).
constexpr std::size_t kBehindRecords = 8192;

enum class StopReason { none, signal, duration, hook };

// The stop signals, and with --follow SIGCHLD (ptrace stops to service).
sigset_t handled_signals(bool follow)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (follow)
        sigaddset(&set, SIGCHLD);
    return set;
}

[[noreturn]] void system_error(const char* what)
{
    throw InternalError(std::string(what) + ": " + std::strerror(errno));
}

class EventLoop {
public:
    EventLoop() : epoll_(::epoll_create1(EPOLL_CLOEXEC))
    {
        if (!epoll_.valid())
            system_error("epoll_create1");
    }
    void add(int fd, std::uint64_t tag)
    {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = tag;
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
            system_error("epoll_ctl");
    }
    // Stops watching `fd`: level-triggered sources that stay readable (an
    // exited process's pidfd) must be removed or the loop spins.
    void remove(int fd)
    {
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr) != 0)
            system_error("epoll_ctl");
    }
    // Tags of the ready sources; empty on timeout.
    std::vector<std::uint64_t> wait(int timeout_ms)
    {
        epoll_event evs[16];
        int n = ::epoll_wait(epoll_.get(), evs, 16, timeout_ms);
        if (n < 0 && errno != EINTR)
            system_error("epoll_wait");
        std::vector<std::uint64_t> tags;
        for (int i = 0; i < n; ++i)
            tags.push_back(evs[i].data.u64);
        return tags;
    }

private:
    UniqueFd epoll_;
};

UniqueFd make_duration_timer(double seconds)
{
    UniqueFd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
    if (!fd.valid())
        system_error("timerfd_create");
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(seconds);
    spec.it_value.tv_nsec = static_cast<long>((seconds - std::floor(seconds)) * 1e9);
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0)
        spec.it_value.tv_nsec = 1;
    if (::timerfd_settime(fd.get(), 0, &spec, nullptr) != 0)
        system_error("timerfd_settime");
    return fd;
}

void require_root()
{
    if (::geteuid() != 0)
        throw FatalError(ExitCode::permission,
                         "recording needs root (CAP_BPF and CAP_PERFMON): run it with sudo");
}

constexpr std::uint64_t kTagRing = 1, kTagSignal = 2, kTagTimer = 3, kTagTicker = 4,
                        kTagTargetBase = 100;

// Something done every interval while streaming (process samples).
struct Ticker {
    double interval_ms = 0;  // 0: none
    std::function<void()> tick;
};

UniqueFd make_interval_timer(double ms)
{
    UniqueFd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (!fd.valid())
        system_error("timerfd_create");
    itimerspec spec{};
    spec.it_interval.tv_sec = static_cast<time_t>(ms / 1000);
    spec.it_interval.tv_nsec = static_cast<long>(std::fmod(ms, 1000.0) * 1e6);
    spec.it_value = spec.it_interval;
    if (::timerfd_settime(fd.get(), 0, &spec, nullptr) != 0)
        system_error("timerfd_settime");
    return fd;
}

BpfConfig bpf_config_for(const RecordOptions& options)
{
    const TracingConfig& tc = options.config;
    BpfConfig c;
    c.ringbuf_bytes = options.buffer_mib << 20;
    // wake the consumer when an eighth of the buffer is used; otherwise it
    // drains every kDrainIntervalMs
    c.wakeup_bytes = (options.buffer_mib << 20) / 8;
    c.btf_path = options.btf_path;
    c.follow_children = options.follow;
    c.any_process = !options.binary.empty();
    // BPF filters with one list: an allow-list minus the disabled names,
    // or a deny-list
    for (const std::string& name : tc.enabled_components)
        if (tc.component_enabled(name))
            c.enabled_components.push_back(name);
    if (tc.enabled_components.empty())
        c.disabled_components = tc.disabled_components;
    else if (c.enabled_components.empty())
        throw FatalError(ExitCode::usage, "the component filter disables every enabled component");
    c.min_duration_ns = static_cast<std::uint64_t>(tc.min_duration_ms * 1e6);
    c.thread_info = tc.include_thread_info;
    c.stack_traces = tc.include_stack_trace;
    return c;
}

// Streams events until a stop condition, then (for a launched command) asks
// it to exit and keeps reading for a grace period so its last spans land.
void stream_until_stopped(RingReader& ring, int sigfd, std::vector<TracedProcess>& targets,
                          std::optional<double> duration_s, const Ticker& ticker,
                          const std::function<void(std::size_t drained)>& after_drain,
                          const std::function<void()>& on_sigchld, const RecordHooks& hooks)
{
    const auto tick = std::chrono::milliseconds(hooks.tick_ms);
    auto next_tick = std::chrono::steady_clock::now() + tick;
    EventLoop loop;
    loop.add(ring.epoll_fd(), kTagRing);
    loop.add(sigfd, kTagSignal);
    UniqueFd tick_timer;
    if (ticker.interval_ms > 0) {
        tick_timer = make_interval_timer(ticker.interval_ms);
        loop.add(tick_timer.get(), kTagTicker);
    }
    UniqueFd timer;
    if (duration_s) {
        timer = make_duration_timer(*duration_s);
        loop.add(timer.get(), kTagTimer);
    }
    // Targets can be added while streaming (--follow adopts children).
    std::size_t running = 0;
    std::vector<bool> exited;
    const auto watch_new_targets = [&] {
        for (std::size_t i = exited.size(); i < targets.size(); ++i) {
            loop.add(targets[i].pidfd.get(), kTagTargetBase + i);
            exited.push_back(false);
            ++running;
        }
    };
    watch_new_targets();
    // --binary has no targets of its own: it runs until stopped
    const bool until_stopped = targets.empty();
    StopReason reason = StopReason::none;
    std::optional<std::chrono::steady_clock::time_point> grace_deadline;
    while (running > 0 || until_stopped) {
        if (grace_deadline && std::chrono::steady_clock::now() >= *grace_deadline)
            break;
        const auto ready = loop.wait(kDrainIntervalMs);
        // woken by BPF (a backlog) or by the timer
        after_drain(ring.drain(kRecordsPerDrain));
        watch_new_targets();
        if (hooks.on_tick && std::chrono::steady_clock::now() >= next_tick) {
            next_tick += tick;
            if (!hooks.on_tick() && reason == StopReason::none)
                reason = StopReason::hook;
        }
        for (std::uint64_t tag : ready) {
            if (tag == kTagSignal) {
                signalfd_siginfo si;
                if (::read(sigfd, &si, sizeof(si)) != sizeof(si))
                    continue;
                if (si.ssi_signo == SIGCHLD) {
                    on_sigchld();
                    continue;
                }
                spdlog::info("received {}, stopping", sigabbrev_np(si.ssi_signo));
                if (reason == StopReason::none)
                    reason = StopReason::signal;
            } else if (tag == kTagTicker) {
                std::uint64_t expirations = 0;
                if (::read(tick_timer.get(), &expirations, sizeof(expirations)) > 0)
                    ticker.tick();
            } else if (tag == kTagTimer) {
                loop.remove(timer.get());
                if (reason == StopReason::none)
                    reason = StopReason::duration;
            } else if (tag >= kTagTargetBase && !exited[tag - kTagTargetBase]) {
                TracedProcess& gone = targets[tag - kTagTargetBase];
                exited[tag - kTagTargetBase] = true;
                loop.remove(gone.pidfd.get());
                // --follow may see thousands of children come and go: keep
                // descriptors only for the launched command (reaped at the end)
                if (!gone.launched)
                    gone.pidfd.reset();
                --running;
            }
        }
        if (reason != StopReason::none && !grace_deadline) {
            bool waiting = false;
            for (std::size_t i = 0; i < targets.size(); ++i) {
                if (targets[i].launched && !exited[i]) {
                    ::kill(targets[i].pid, SIGTERM);
                    waiting = true;
                }
            }
            if (!waiting)
                break;
            grace_deadline =
                std::chrono::steady_clock::now() + std::chrono::milliseconds(kLaunchedGraceMs);
        }
    }
}

// Kills and reaps every launched command still running when it goes out of
// scope: whatever fails after the launch, a failed record leaves nothing
// running.  finish() is the orderly path and reports how each one ended.
class LaunchedCommands {
public:
    explicit LaunchedCommands(std::vector<TracedProcess>& targets) : targets_(targets) {}
    ~LaunchedCommands() { finish(); }
    LaunchedCommands(const LaunchedCommands&) = delete;
    LaunchedCommands& operator=(const LaunchedCommands&) = delete;

    // "; command exit status N" (empty when nothing was launched).
    std::string finish()
    {
        std::string status;
        for (TracedProcess& t : targets_) {
            if (!t.launched)
                continue;
            if (!process_exited(t))
                ::kill(t.pid, SIGKILL);
            status = "; command " + reap_launched(t);
            t.launched = false;
        }
        return status;
    }

private:
    std::vector<TracedProcess>& targets_;
};

// Starts the command stopped after exec, attaches, lets it run (with
// --follow, still traced by ptrace so that its execs are held).
void launch_and_attach(const std::vector<std::string>& command, BpfSession& bpf,
                       std::vector<TracedProcess>& targets, Follower* follower)
{
    targets.push_back(launch_stopped(command, follower ? ExecHold::options() : 0));
    TracedProcess& child = targets.back();
    find_probe_objects(child, /*stopped_at_exec=*/true);
    for (const std::string& object : child.probe_objects)
        bpf.attach_process(child.pid, object);
    if (follower)
        follower->hold().adopt_held(child.pid);
    else
        resume_launched(child);
}

// -p: attaches to each running target (with --follow, holding its execs).
void attach_existing(const std::vector<TracedProcess>& targets, BpfSession& bpf, Follower* follower)
{
    for (const TracedProcess& t : targets) {
        try {
            for (const std::string& object : t.probe_objects)
                bpf.attach_process(t.pid, object);
        } catch (const FatalError&) {
            // A target that exited while it was being attached is gone, not
            // a failure: the others are recorded, and its exit is seen
            // through its pidfd like any other.
            if (!process_exited(t))
                throw;
            spdlog::warn("process {} exited while it was being attached", t.pid);
            continue;
        }
        if (follower)
            follower->hold_execs_of(t.pid);
    }
}

// --binary: the file's probes, for every process that maps it.
void attach_binary(const std::string& path, BpfSession& bpf)
{
    auto notes = usdt::read_probe_notes(path);
    if (!notes)
        throw FatalError(ExitCode::no_target, notes.error().message);
    if (usdt::probe_names(notes.value(), usdt::kProvider).empty())
        throw FatalError(ExitCode::no_probes, path + " has no langswarm probes");
    bpf.attach_process(0, path);
}

void print_summary(const Correlator& correlator,
                   const std::array<std::uint64_t, LSTRACE_CNT_MAX>& lost,
                   std::uint64_t events_written, const std::string& output, double seconds,
                   const std::string& otlp_status, const std::string& target_status)
{
    const auto& st = correlator.stats();
    const std::uint64_t spans_lost = lost[LSTRACE_CNT_LOST_BEGIN] + lost[LSTRACE_CNT_LOST_END];
    const std::uint64_t other_lost = lost[LSTRACE_CNT_LOST_TAG] + lost[LSTRACE_CNT_LOST_ERROR];
    // (spans whose end event was lost were discarded: they count as lost)
    const std::uint64_t still_open = correlator.open_spans();
    std::fprintf(stderr,
                 "lstrace-bpf: %llu spans recorded to %s in %.1f s, %llu spans lost, %llu still "
                 "open, %llu aborted by an exit, %llu ended without a recorded begin, %llu "
                 "tags/errors lost, %llu events recorded%s%s\n",
                 static_cast<unsigned long long>(st.spans_recorded), output.c_str(), seconds,
                 static_cast<unsigned long long>(spans_lost),
                 static_cast<unsigned long long>(still_open),
                 static_cast<unsigned long long>(st.spans_aborted),
                 static_cast<unsigned long long>(st.ends_without_begin),
                 static_cast<unsigned long long>(other_lost),
                 static_cast<unsigned long long>(events_written), otlp_status.c_str(),
                 target_status.c_str());
    if (lost[LSTRACE_CNT_SPAN_MAP_FULL] || lost[LSTRACE_CNT_THREAD_MAP_FULL])
        spdlog::warn("BPF tables were full: {} spans without figures, {} threads without state "
                     "(no CPU time, I/O split or peak RSS)",
                     lost[LSTRACE_CNT_SPAN_MAP_FULL], lost[LSTRACE_CNT_THREAD_MAP_FULL]);
    if (lost[LSTRACE_CNT_LOST_EXIT] || lost[LSTRACE_CNT_LOST_PROCESS])
        spdlog::warn("ring buffer full: {} thread exits and {} fork/exec events lost (spans of "
                     "those threads may show as still open; children may be untraced)",
                     lost[LSTRACE_CNT_LOST_EXIT], lost[LSTRACE_CNT_LOST_PROCESS]);
    if (lost[LSTRACE_CNT_LOST_POINT])
        spdlog::warn("ring buffer full: {} component/error/data-flow events lost",
                     lost[LSTRACE_CNT_LOST_POINT]);
    if (lost[LSTRACE_CNT_FILTERED] || st.spans_dropped_short || lost[LSTRACE_CNT_DROP_UNSENT])
        spdlog::info("filtered as configured: {} spans of excluded components (in BPF), {} "
                     "spans shorter than min_duration_ms",
                     lost[LSTRACE_CNT_FILTERED],
                     st.spans_dropped_short + lost[LSTRACE_CNT_DROP_UNSENT]);
    if (st.spans_evicted)
        spdlog::warn("{} open spans were forgotten to stay within max_trace_size (their ends "
                     "count as without a recorded begin)",
                     st.spans_evicted);
    if (st.malformed_events)
        spdlog::warn("{} malformed events ignored", st.malformed_events);
}

}  // namespace

int run_record(const RecordOptions& options, const RecordHooks& hooks)
{
    require_root();
    // A closed stdout (-o - | head) must be a write error, not a silent death.
    ::signal(SIGPIPE, SIG_IGN);

    // Stop signals are read from a signalfd; block them first so that a
    // Ctrl-C during setup still ends in an orderly shutdown.
    const sigset_t signals = handled_signals(options.follow);
    if (::sigprocmask(SIG_BLOCK, &signals, nullptr) != 0)
        system_error("sigprocmask");
    UniqueFd sigfd(::signalfd(-1, &signals, SFD_CLOEXEC));
    if (!sigfd.valid())
        system_error("signalfd");

    // Everything that can be checked is checked before BPF is loaded.
    // OTLP settings (flags, OTEL_* variables) first: a bad one leaves no
    // file behind.  The exporter's worker starts once capabilities are dropped.
    const std::unique_ptr<otlp::Exporter> exporter = otlp::make_record_exporter(options);
    std::optional<TraceOutput> output;
    if (!options.output.empty())
        output.emplace(options.output, options.force, /*recording=*/true);
    const std::string output_name = output     ? output->path()
                                    : exporter ? exporter->destination()
                                               : "the live view (no file)";
    std::vector<TracedProcess> targets;
    for (int pid : options.pids) {
        targets.push_back(open_existing_process(pid));
        find_probe_objects(targets.back(), /*stopped_at_exec=*/false);
    }

    // Wake the consumer when an eighth of the buffer is used; otherwise it
    // drains every kDrainIntervalMs.
    BpfSession bpf(bpf_config_for(options));
    bpf.attach_scheduler();

    const std::int64_t realtime_offset = monotonic_to_realtime_offset_ns();
    RecordSink sink(options, output ? &*output : nullptr, realtime_offset);
    sink.set_tap(exporter.get());
    if (hooks.on_span)
        sink.keep_tags();  // the hook reads each span after the sink
    ProcessSamples samples;
    const auto seen = [&](std::uint32_t tgid) {
        sink.process_seen(tgid);
        if (options.config.sample_interval_ms > 0)
            samples.watch(static_cast<int>(tgid));
    };
    Correlator correlator(
        [&](SpanRecord& r) {
            seen(r.tgid);
            sink.write_span(r);  // redacts
            if (hooks.on_span)
                hooks.on_span(r, realtime_offset);
        },
        [&](std::uint32_t tgid, std::uint64_t span_id) { return bpf.end_was_lost(tgid, span_id); },
        [&](EventRecord& e) {
            seen(e.tgid);
            sink.write_event(e);
        });
    correlator.set_max_open(static_cast<std::size_t>(options.config.max_trace_size));
    Follower follower(bpf, targets);
    RingReader ring(bpf.events_map_fd(), [&](const void* data, std::size_t size) {
        if (!options.follow || !follower.consume(data, size))
            correlator.consume(data, size);
    });

    LaunchedCommands launched(targets);
    Follower* const holding = options.follow ? &follower : nullptr;
    if (!options.command.empty())
        launch_and_attach(options.command, bpf, targets, holding);
    else if (!options.binary.empty())
        attach_binary(options.binary, bpf);
    else
        attach_existing(targets, bpf, holding);
    // Process maps (stacks), environments and samples of the targets are
    // read now, while any process's /proc files are readable.
    for (const TracedProcess& t : targets)
        seen(static_cast<std::uint32_t>(t.pid));
    // Loaded, attached, buffers mapped: nothing left that needs root's power
    // (but reading /proc of processes found later, if the config asks).
    const TracingConfig& tc = options.config;
    drop_capabilities(/*keep_attach=*/options.follow,
                      /*keep_proc_access=*/tc.include_stack_trace || tc.include_environment ||
                          tc.sample_interval_ms > 0);
    if (exporter)
        exporter->start();  // after the drop: capabilities are per thread
    const auto attached_at = std::chrono::steady_clock::now();
    spdlog::info("recording {} process(es) to {}", targets.size(), output_name);

    Ticker sampler;
    if (tc.sample_interval_ms > 0)
        sampler = Ticker{tc.sample_interval_ms, [&] {
                             for (EventRecord& e : samples.take())
                                 sink.write_event(e);
                         }};
    stream_until_stopped(
        ring, sigfd.get(), targets, options.duration_s, sampler,
        [&, drains = 0](std::size_t drained) mutable {
            // (the first drain takes what came during the attach: not a
            // sign of falling behind)
            if (++drains > 1 && drained >= kBehindRecords && sink.go_parallel())
                spdlog::debug("{} records in one drain: formatting and writing on threads of "
                              "their own from now on",
                              drained);
            sink.hand_over();
        },
        [&] { follower.hold().service(); }, hooks);
    // Every held or traced process runs on untraced before the (slow)
    // removal of the probes.
    follower.hold().release_all();

    bpf.detach();
    ring.drain();
    correlator.discard_lost_ends();
    const auto lost = bpf.counters();
    sink.finish(bpf.component_filter_hits());
    if (output)
        output->commit();

    const std::string target_status = launched.finish();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - attached_at).count();
    std::string otlp_status;
    if (exporter) {
        exporter->finish();  // up to the OTLP timeout for what is left
        otlp_status = "; " + exporter->summary();
    }
    print_summary(correlator, lost, sink.events_written(), output_name, seconds, otlp_status,
                  target_status);
    if (exporter)
        otlp::warn_unexported_events(*exporter);
    if (follower.failed_attaches())
        spdlog::warn("{} followed processes exec'd a program whose probes could not be "
                     "attached (their spans are missing; see the warnings above)",
                     follower.failed_attaches());
    if (correlator.stats().spans_recorded && !bpf.rss_exact())
        spdlog::warn("rss_delta_bytes and memory_usage are approximate on this kernel "
                     "(per-CPU counter parts could not be read)");
    return static_cast<int>(ExitCode::ok);
}

}  // namespace lstrace
