// SPDX-License-Identifier: MIT
//
// span_bench - per-span cost of the lstrace probe API.
//
// Times a tight loop of N spans, each one
//
//     auto span = tracer.trace_operation("bench", "op", "benchmark span");
//     span.set_tag("i", i);      // --tags 1, the default; --tags 0: none;
//                                // --tags 4: also a string, a double, a bool
//
// with CLOCK_MONOTONIC around the loop, R times, and prints one JSON line per
// mode to stdout with the median (and every run's) ns per span.  The
// thread's CPU time (CLOCK_THREAD_CPUTIME_ID, which includes the kernel time
// of uprobe hits) is reported alongside: when the recorder shares the CPU
// with the benchmark, wall time also counts the time the recorder ran.
// Modes:
//
//   baseline  the same loop with the probe code compiled out (a span type
//             with the same shape that does nothing): the no-probes floor
//   detached  the real <lstrace/lstrace.hpp>, no recorder attached
//   detached-c  the C API of <lstrace/lstrace.h> (begin/tag_int/end) in the
//             same RAII shape, no recorder attached: the C++ Span minus its
//             std::uncaught_exceptions() bookkeeping
//   attached  the real header with a recorder attached; waits (polling
//             lstrace::enabled()) until one is, e.g. run it under
//             `lstrace-bpf record -o FILE -- span_bench attached`
//   rusage    an in-process alternative: getrusage(RUSAGE_THREAD) at span
//             begin and end (timing spans in-process with CPU time and
//             page-fault counts)
//   stream    the real header, recorder or not (one may attach or detach at
//             any time): with --duration, for attach-latency measurements
//   floor     no lstrace code: two bare USDT sites per span, begin and end
//             (provider lstrace_bench), for bench/usdt_floor's count-only
//             program: the least a kernel-measured span can cost
//
// With --depth D the measured spans are nested D deep (D - 1 outer spans
// stay open around them).  With --duration SECONDS a mode runs spans back
// to back for that long on --threads THREADS threads (instead of -n spans, -r times) and prints the
// spans produced and spans per second: the producer sweep and zero-loss runs
// of bench/run.sh, whose recorder summary must then account for every span.
//
// Every mode runs the same compiler barrier per iteration, so the loop is
// never optimised away and the difference between modes is the span code.
//
// Usage: span_bench MODE... [-n SPANS] [-r RUNS] [--warmup SPANS]
//                           [--pause-ms MS] [--wait SECONDS] [--cpu CPU]
//                           [--duration SECONDS [--threads THREADS]]
//                           [--tags 0|1|4] [--depth D]
//
//   -n SPANS     spans per timed run; default 2,000,000 for baseline,
//                detached and detached-c, 200,000 for rusage, 50,000 for
//                attached (a recorded span is ~1 KiB of ring-buffer events:
//                keep a run within the recorder's buffer, see --pause-ms)
//   -r RUNS      timed runs (default 5); the median is reported
//   --warmup N   untimed spans first (default min(SPANS/10, 100000))
//   --pause-ms   sleep before each timed run (default 500 for attached, 0
//                otherwise), so the recorder drains the previous run's
//                events and every run starts with an empty ring buffer: the
//                figure is the traced thread's cost while the recorder keeps
//                up (if it does not, the BPF programs drop events, which is
//                cheaper and would flatter the figure)
//   --wait S     attached: how long to wait for a recorder (default 10)
//   --cpu CPU    pin the benchmark to one CPU
//
// Exit status: 0 ok, 2 usage error, 3 attached mode found no
// recorder (or lost it while running), or detached mode found one.
#include <lstrace/lstrace.hpp>

#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

// Keeps `v` (and everything before it) alive; costs no instruction.
template <typename T>
inline void keep(const T& v)
{
    __asm__ __volatile__("" : : "r"(v) : "memory");
}

// --- baseline: the probes compiled out ------------------------------------
struct NullSpan {
    template <typename V>
    NullSpan& set_tag(const char*, V) noexcept
    {
        return *this;
    }
};
struct NullTracer {
    NullSpan trace_operation(const char*, const char*, const char* = "") const noexcept
    {
        return NullSpan{};
    }
};

// --- detached-c: the C API (lstrace.h) under the same RAII shape -----------
// The C++ Span minus its exception tracking, to attribute the detached cost.
class CSpan {
public:
    CSpan(const char* tracer, const char* component, const char* operation,
          const char* description) noexcept
    {
        lstrace_span_begin_traced(&raw_, tracer, component, operation, description);
    }
    ~CSpan() { lstrace_span_end(&raw_); }
    CSpan(const CSpan&) = delete;
    CSpan& operator=(const CSpan&) = delete;

    template <typename V>
    CSpan& set_tag(const char* key, V value) noexcept
    {
        if constexpr (std::is_same_v<V, bool>)
            lstrace_tag_bool(&raw_, key, value);
        else if constexpr (std::is_floating_point_v<V>)
            lstrace_tag_double(&raw_, key, value);
        else if constexpr (std::is_integral_v<V>)
            lstrace_tag_int(&raw_, key, static_cast<std::int64_t>(value));
        else
            lstrace_tag_str(&raw_, key, value);
        return *this;
    }

private:
    lstrace_span raw_;  // as lstrace::Span: begin sets what is read
};
struct CTracer {
    CSpan trace_operation(const char* component, const char* operation,
                          const char* description = "") const noexcept
    {
        return CSpan("span_bench", component, operation, description);
    }
};

// --- rusage: in-process CPU time and fault accounting ----------------------
volatile std::int64_t g_rusage_sink;

class RusageSpan {
public:
    RusageSpan() noexcept { ::getrusage(RUSAGE_THREAD, &begin_); }
    ~RusageSpan()
    {
        struct rusage end;
        ::getrusage(RUSAGE_THREAD, &end);
        const std::int64_t cpu_us = (end.ru_utime.tv_sec - begin_.ru_utime.tv_sec +
                                     end.ru_stime.tv_sec - begin_.ru_stime.tv_sec) *
                                        1000000LL +
                                    (end.ru_utime.tv_usec - begin_.ru_utime.tv_usec) +
                                    (end.ru_stime.tv_usec - begin_.ru_stime.tv_usec);
        const std::int64_t faults =
            (end.ru_minflt - begin_.ru_minflt) + (end.ru_majflt - begin_.ru_majflt);
        g_rusage_sink = cpu_us + faults + tag_;
    }
    RusageSpan(const RusageSpan&) = delete;
    RusageSpan& operator=(const RusageSpan&) = delete;

    template <typename V>
    RusageSpan& set_tag(const char*, V v) noexcept
    {
        if constexpr (std::is_arithmetic_v<V>)
            tag_ += static_cast<std::int64_t>(v);
        else
            tag_ += v[0];
        return *this;
    }

private:
    struct rusage begin_;
    std::int64_t tag_ = 0;
};
struct RusageTracer {
    RusageSpan trace_operation(const char*, const char*, const char* = "") const noexcept
    {
        return RusageSpan{};  // guaranteed copy elision (C++17)
    }
};

// Workaround: `lstrace-bpf record` refuses a binary that lacks any of the
// five langswarm probe sites, and the header's probe functions are inline,
// so a site is emitted only if the program uses it: this benchmark never
// records an error, so without this (never called) function it would have no
// langswarm:span_error site and could not be recorded.
__attribute__((used)) void keep_span_error_probe(lstrace::Span& span)
{
    span.record_error("unused", "keeps the span_error probe site");
}

// --- floor: two bare probe sites --------------------------------------------
// The least any kernel-measured span can pay: a begin and an end site, each
// a bare USDT nop with one argument, no enabled check, no ids, no strings.
// bench/usdt_floor attaches a count-only BPF program to both.  (lstrace.h
// turned semaphores on for this file, so the probes need theirs.)
extern "C" {
__attribute__((used, section(".probes"))) volatile unsigned short lstrace_bench_begin_semaphore;
__attribute__((used, section(".probes"))) volatile unsigned short lstrace_bench_end_semaphore;
}
struct FloorSpan {
    explicit FloorSpan(std::uint64_t id) noexcept : id_(id)
    {
        STAP_PROBE1(lstrace_bench, begin, id_);
    }
    ~FloorSpan() { STAP_PROBE1(lstrace_bench, end, id_); }
    FloorSpan(const FloorSpan&) = delete;
    FloorSpan& operator=(const FloorSpan&) = delete;
    template <typename V>
    FloorSpan& set_tag(const char*, V) noexcept
    {
        return *this;
    }

private:
    std::uint64_t id_;
};
struct FloorTracer {
    FloorSpan trace_operation(const char*, const char*, const char* = "") const noexcept
    {
        static thread_local std::uint64_t next = 0;
        return FloorSpan(++next);
    }
};

// --- the measured loop --------------------------------------------------------
// Tags per span (--tags): 0, 1 (the integer "i", the default) or 4 (one of
// each type: integer, string, double, bool).
template <int Tags, typename TracerT>
__attribute__((noinline)) void span_loop_tags(const TracerT& tracer, std::uint64_t n)
{
    for (std::uint64_t i = 0; i < n; ++i) {
        auto span = tracer.trace_operation("bench", "op", "benchmark span");
        if constexpr (Tags >= 1)
            span.set_tag("i", i);
        if constexpr (Tags >= 4) {
            span.set_tag("model", "small");
            span.set_tag("temperature", 0.5);
            span.set_tag("stream", true);
        }
        keep(i);
    }
}

int g_tags = 1;  // --tags

template <typename TracerT>
void span_loop(const TracerT& tracer, std::uint64_t n)
{
    if (g_tags == 0)
        span_loop_tags<0>(tracer, n);
    else if (g_tags == 4)
        span_loop_tags<4>(tracer, n);
    else
        span_loop_tags<1>(tracer, n);
}

double now_ns(clockid_t clock = CLOCK_MONOTONIC)
{
    struct timespec ts;
    ::clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct Options {
    std::vector<std::string> modes;
    std::uint64_t spans = 0;            // 0: the mode's default
    std::uint64_t warmup = UINT64_MAX;  // UINT64_MAX: min(spans / 10, 100000)
    unsigned runs = 5;
    double wait_s = 10.0;
    long pause_ms = -1;  // -1: the mode's default
    int cpu = -1;
    double duration_s = 0;  // > 0: rate mode (spans back to back for this long)
    unsigned threads = 1;
    int tags = 1;
    unsigned depth = 1;  // the measured spans' nesting depth (outer spans stay open)
};

// --depth D: D - 1 spans of the real header opened before the measured ones
// and closed after them, innermost first, so each measured span is a child
// at depth D (only lstrace modes nest; the others ignore it).
class Nest {
public:
    Nest(unsigned depth, bool real)
    {
        for (unsigned d = 1; real && d < depth; ++d)
            outer_.push_back(std::make_unique<lstrace::Span>("span_bench", "bench", "outer", ""));
    }
    ~Nest()
    {
        while (!outer_.empty())
            outer_.pop_back();
    }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;

private:
    std::vector<std::unique_ptr<lstrace::Span>> outer_;
};

template <typename TracerT>
constexpr bool kRealTracer = std::is_same_v<TracerT, lstrace::Tracer>;

[[noreturn]] void usage(const char* msg)
{
    if (msg)
        std::fprintf(stderr, "span_bench: %s\n", msg);
    std::fprintf(stderr,
                 "usage: span_bench MODE... [-n SPANS] [-r RUNS] [--warmup SPANS]\n"
                 "                  [--pause-ms MS] [--wait SECONDS] [--cpu CPU]\n"
                 "                  [--duration SECONDS [--threads THREADS]] [--tags 0|1|4]\n"
                 "MODE: baseline | detached | detached-c | attached | rusage | stream | floor\n");
    std::exit(msg ? 2 : 0);
}

std::uint64_t parse_u64(const char* opt, const char* s)
{
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s, &end, 10);
    if (!*s || *s == '-' || errno || *end) {
        std::string m = std::string("invalid value for ") + opt + ": '" + s + "'";
        usage(m.c_str());
    }
    return v;
}

Options parse(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc)
                usage((a + " needs a value").c_str());
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            usage(nullptr);
        } else if (a == "-n" || a == "--spans") {
            o.spans = parse_u64(a.c_str(), value());
            if (o.spans == 0)
                usage("-n must be > 0");
        } else if (a == "-r" || a == "--runs") {
            const std::uint64_t r = parse_u64(a.c_str(), value());
            if (r == 0 || r > 1000)
                usage("-r must be 1..1000");
            o.runs = static_cast<unsigned>(r);
        } else if (a == "--warmup") {
            o.warmup = parse_u64(a.c_str(), value());
        } else if (a == "--wait") {
            o.wait_s = static_cast<double>(parse_u64(a.c_str(), value()));
        } else if (a == "--pause-ms") {
            o.pause_ms = static_cast<long>(parse_u64(a.c_str(), value()));
        } else if (a == "--cpu") {
            o.cpu = static_cast<int>(parse_u64(a.c_str(), value()));
        } else if (a == "--duration") {
            o.duration_s = static_cast<double>(parse_u64(a.c_str(), value()));
            if (o.duration_s <= 0)
                usage("--duration must be > 0");
        } else if (a == "--threads") {
            const std::uint64_t t = parse_u64(a.c_str(), value());
            if (t == 0 || t > 1024)
                usage("--threads must be 1..1024");
            o.threads = static_cast<unsigned>(t);
        } else if (a == "--depth") {
            const std::uint64_t d = parse_u64(a.c_str(), value());
            if (d == 0 || d > 1024)
                usage("--depth must be 1..1024");
            o.depth = static_cast<unsigned>(d);
        } else if (a == "--tags") {
            const std::uint64_t t = parse_u64(a.c_str(), value());
            if (t != 0 && t != 1 && t != 4)
                usage("--tags must be 0, 1 or 4");
            o.tags = static_cast<int>(t);
        } else if (a == "baseline" || a == "detached" || a == "detached-c" || a == "attached" ||
                   a == "rusage" || a == "stream" || a == "floor") {
            o.modes.push_back(a);
        } else {
            usage(("unknown argument '" + a + "'").c_str());
        }
    }
    if (o.modes.empty())
        usage("no MODE given");
    return o;
}

// Waits until a recorder has armed this process's probes.
bool wait_for_recorder(double timeout_s)
{
    const double deadline = now_ns() + timeout_s * 1e9;
    while (!lstrace::enabled()) {
        if (now_ns() >= deadline)
            return false;
        ::usleep(1000);
    }
    return true;
}

void pause_ms(long ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

// Rate mode: every thread runs spans back to back until the deadline;
// prints the spans produced (exactly: each thread counts its own) and the
// aggregate rate.
template <typename TracerT>
int bench_rate(const std::string& mode, const TracerT& tracer, const Options& o,
               bool needs_recorder, bool forbids_recorder)
{
    if (needs_recorder && !wait_for_recorder(o.wait_s)) {
        std::fprintf(stderr, "span_bench: %s: no recorder attached after %.0f s\n", mode.c_str(),
                     o.wait_s);
        return 3;
    }
    if (forbids_recorder && lstrace::enabled()) {
        std::fprintf(stderr, "span_bench: %s: a recorder is attached; not measuring\n",
                     mode.c_str());
        return 3;
    }
    constexpr std::uint64_t kChunk = 1024;  // spans between two clock reads
    std::vector<std::uint64_t> produced(o.threads, 0);
    std::vector<double> cpu_ns(o.threads, 0);
    // context switches of each thread during its loop (voluntary,
    // involuntary): what a scheduler-event program runs per span
    std::vector<long> vcsw(o.threads, 0), ivcsw(o.threads, 0);
    std::atomic<unsigned> ready{0};
    std::atomic<bool> go{false};
    double deadline = 0;
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < o.threads; ++t) {
        workers.emplace_back([&, t] {
            ready.fetch_add(1);
            while (!go.load(std::memory_order_acquire)) {
            }
            const Nest nest(o.depth, kRealTracer<TracerT>);
            struct rusage r0, r1;
            ::getrusage(RUSAGE_THREAD, &r0);
            const double c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
            std::uint64_t n = 0;
            do {
                span_loop(tracer, kChunk);
                n += kChunk;
            } while (now_ns() < deadline);
            cpu_ns[t] = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
            ::getrusage(RUSAGE_THREAD, &r1);
            vcsw[t] = r1.ru_nvcsw - r0.ru_nvcsw;
            ivcsw[t] = r1.ru_nivcsw - r0.ru_nivcsw;
            produced[t] = n;
        });
    }
    while (ready.load() < o.threads)
        std::this_thread::yield();
    const double t0 = now_ns();
    deadline = t0 + o.duration_s * 1e9;
    go.store(true, std::memory_order_release);
    for (std::thread& w : workers)
        w.join();
    const double elapsed = now_ns() - t0;
    std::uint64_t total = 0;
    double cpu = 0;
    long vol = 0, invol = 0;
    for (unsigned t = 0; t < o.threads; ++t) {
        total += produced[t];
        cpu += cpu_ns[t];
        vol += vcsw[t];
        invol += ivcsw[t];
    }
    if (needs_recorder && !lstrace::enabled()) {
        std::fprintf(stderr, "span_bench: %s: the recorder detached during the run\n",
                     mode.c_str());
        return 3;
    }
    std::printf("{\"mode\":\"%s\",\"threads\":%u,\"duration_s\":%.3f,\"total_spans\":%" PRIu64
                ",\"spans_per_s\":%.0f,\"cpu_ns_per_span\":%.3f"
                ",\"voluntary_switches\":%ld,\"involuntary_switches\":%ld}\n",
                mode.c_str(), o.threads, elapsed / 1e9, total,
                static_cast<double>(total) / (elapsed / 1e9),
                total ? cpu / static_cast<double>(total) : 0.0, vol, invol);
    std::fflush(stdout);
    return 0;
}

template <typename TracerT>
int bench(const std::string& mode, const TracerT& tracer, const Options& o,
          std::uint64_t default_spans, bool needs_recorder, bool forbids_recorder)
{
    if (o.duration_s > 0)
        return bench_rate(mode, tracer, o, needs_recorder, forbids_recorder);
    const std::uint64_t n = o.spans ? o.spans : default_spans;
    const long pause = o.pause_ms >= 0 ? o.pause_ms : needs_recorder ? 500 : 0;
    const std::uint64_t warmup =
        o.warmup == UINT64_MAX ? std::min<std::uint64_t>(n / 10, 100000) : o.warmup;
    if (needs_recorder && !wait_for_recorder(o.wait_s)) {
        std::fprintf(stderr,
                     "span_bench: %s: no recorder attached after %.0f s (run it under "
                     "'lstrace-bpf record -- span_bench attached')\n",
                     mode.c_str(), o.wait_s);
        return 3;
    }
    if (forbids_recorder && lstrace::enabled()) {
        std::fprintf(stderr, "span_bench: %s: a recorder is attached; not measuring\n",
                     mode.c_str());
        return 3;
    }

    const Nest nest(o.depth, kRealTracer<TracerT>);
    span_loop(tracer, warmup);
    std::vector<double> per_span, cpu_per_span;
    for (unsigned r = 0; r < o.runs; ++r) {
        pause_ms(pause);
        const double c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
        const double t0 = now_ns();
        span_loop(tracer, n);
        const double t1 = now_ns();
        const double c1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
        per_span.push_back((t1 - t0) / static_cast<double>(n));
        cpu_per_span.push_back((c1 - c0) / static_cast<double>(n));
    }
    // Each timed span must have seen the same state as the first one.
    if (needs_recorder && !lstrace::enabled()) {
        std::fprintf(stderr, "span_bench: %s: the recorder detached during the run\n",
                     mode.c_str());
        return 3;
    }
    if (forbids_recorder && lstrace::enabled()) {
        std::fprintf(stderr, "span_bench: %s: a recorder attached during the run\n", mode.c_str());
        return 3;
    }

    auto median_of = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        const std::size_t m = v.size();
        return m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
    };
    const double median = median_of(per_span);
    const double cpu_median = median_of(cpu_per_span);
    const double min = *std::min_element(per_span.begin(), per_span.end());

    std::printf("{\"mode\":\"%s\",\"spans\":%" PRIu64 ",\"runs\":%u,\"warmup_spans\":%" PRIu64
                ",\"tags\":%d,\"total_spans\":%" PRIu64 ",\"median_ns_per_span\":%.3f"
                ",\"min_ns_per_span\":%.3f,\"median_cpu_ns_per_span\":%.3f"
                ",\"all_ns_per_span\":[",
                mode.c_str(), n, o.runs, warmup, g_tags, warmup + n * o.runs, median, min,
                cpu_median);
    for (std::size_t i = 0; i < per_span.size(); ++i)
        std::printf("%s%.3f", i ? "," : "", per_span[i]);
    std::printf("],\"all_cpu_ns_per_span\":[");
    for (std::size_t i = 0; i < cpu_per_span.size(); ++i)
        std::printf("%s%.3f", i ? "," : "", cpu_per_span[i]);
    std::printf("]}\n");
    std::fflush(stdout);
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    const Options o = parse(argc, argv);
    if (o.cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(o.cpu, &set);
        if (::sched_setaffinity(0, sizeof(set), &set) != 0) {
            std::fprintf(stderr, "span_bench: cannot pin to CPU %d: %s\n", o.cpu,
                         std::strerror(errno));
            return 2;
        }
    }

    g_tags = o.tags;
    const auto tracer = lstrace::get_tracer("span_bench");
    int rc = 0;
    for (const std::string& mode : o.modes) {
        int r = 0;
        if (mode == "baseline")
            r = bench(mode, NullTracer{}, o, 2000000, false, false);
        else if (mode == "detached")
            r = bench(mode, tracer, o, 2000000, false, true);
        else if (mode == "detached-c")
            r = bench(mode, CTracer{}, o, 2000000, false, true);
        else if (mode == "attached")
            r = bench(mode, tracer, o, 50000, true, false);
        else if (mode == "stream")
            r = bench(mode, tracer, o, 2000000, false, false);
        else if (mode == "floor")
            r = bench(mode, FloorTracer{}, o, 50000, false, false);
        else
            r = bench(mode, RusageTracer{}, o, 200000, false, false);
        if (r)
            rc = r;
    }
    return rc;
}
