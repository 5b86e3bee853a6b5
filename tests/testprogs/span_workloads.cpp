// Test program for the integration tests: runs known workloads inside
// spans and writes, as JSON, the ground truth it measured itself with
// in-process clocks and counters, so the tests can compare the recorder's
// kernel-side figures against it.
//
//   span_workloads all TRUTH.json      cpu, sleep, write, read, memory,
//                                      nested, error and exception spans
//   span_workloads threads TRUTH.json  4 threads x 1000 spans
//   span_workloads secrets TRUTH.json  a span with credentials in tags and messages
//   span_workloads family TRUTH.json EXEC  fork a child with a span, and a
//                                      child that execs EXEC (--follow)
//   span_workloads spawn TRUTH.json EXEC N  N children (4 at a time) that exec
//                                      EXEC; counts the stops waitpid(WUNTRACED)
//                                      shows (none may be seen); N=0: children
//                                      until $SOAK_SECONDS (default 60) pass or
//                                      SIGTERM
//   span_workloads pid-reuse TRUTH.json  a child's PID given to a second child
//   span_workloads soak TRUTH.json     8 threads of checkable spans for
//                                      $SOAK_SECONDS (default 60)
//   span_workloads burst TRUTH.json    2 threads x 2 s of back-to-back spans
//   span_workloads abort-exit|abort-kill|abort-thread TRUTH.json
//                                      dies (or loses a thread) with spans open
//   span_workloads loop TRUTH.json     numbered spans every ~2 ms until
//                                      SIGTERM/SIGINT; the truth file lists
//                                      the seq of every span begun while a
//                                      recorder was attached
//   span_workloads slow TRUTH.json     the same with 200 ms spans
//   span_workloads mix TRUTH.json [heavy]  60 rounds of three operations:
//                                      mix.parse (0.5 ms of CPU), mix.compute
//                                      (1 ms of CPU; with "heavy" 1.5 ms, 50%
//                                      more) and mix.format (0.25 ms), at
//                                      nice -20
//   span_workloads rate TRUTH.json SECONDS [PAUSE_US]
//                                      spans for SECONDS, PAUSE_US apart (0:
//                                      back to back); the truth has the count
//                                      and the rate per second of wall time
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <lstrace/lstrace.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using nlohmann::json;

const lstrace::Tracer tracer = lstrace::get_tracer("tests.workloads");

double clock_ms(clockid_t id)
{
    timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

rusage thread_usage()
{
    rusage ru{};
    getrusage(RUSAGE_THREAD, &ru);
    return ru;
}

long rss_bytes()
{
    long pages_total = 0, pages_resident = 0;
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (f) {
        if (std::fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2)
            pages_resident = 0;
        std::fclose(f);
    }
    return pages_resident * sysconf(_SC_PAGESIZE);
}

void die(const char* what)
{
    std::perror(what);
    std::exit(1);
}

json cpu_span()
{
    auto span = tracer.trace_operation("test", "cpu_burn", "burn ~300 ms of CPU");
    const double cpu0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
    volatile std::uint64_t x = 0;
    while (clock_ms(CLOCK_THREAD_CPUTIME_ID) - cpu0 < 300.0)
        for (int i = 0; i < 10000; ++i)
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const double cpu_ms = clock_ms(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    return {{"cpu_ms", cpu_ms}};
}

json sleep_span()
{
    auto span = tracer.trace_operation("test", "sleep", "sleep 200 ms");
    const double wall0 = clock_ms(CLOCK_MONOTONIC);
    const double cpu0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
    usleep(200 * 1000);
    return {{"wall_ms", clock_ms(CLOCK_MONOTONIC) - wall0},
            {"cpu_ms", clock_ms(CLOCK_THREAD_CPUTIME_ID) - cpu0}};
}

constexpr std::size_t kFileBytes = 8u << 20;
constexpr std::size_t kChunk = 64u << 10;

json write_span(const std::string& path)
{
    auto span = tracer.trace_operation("test", "file_write", "write 8 MiB");
    std::vector<char> buf(kChunk, 'w');
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        die("open for write");
    std::size_t written = 0, calls = 0;
    while (written < kFileBytes) {
        ssize_t n = write(fd, buf.data(), kChunk);
        if (n <= 0)
            die("write");
        written += static_cast<std::size_t>(n);
        ++calls;
    }
    close(fd);
    span.set_tag("bytes", static_cast<std::int64_t>(written));
    return {{"bytes", written}, {"syscalls", calls}};
}

json read_span(const std::string& path)
{
    auto span = tracer.trace_operation("test", "file_read", "read 8 MiB back");
    std::vector<char> buf(kChunk);
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("open for read");
    std::size_t total = 0, calls = 0;
    for (;;) {
        ssize_t n = read(fd, buf.data(), kChunk);
        ++calls;
        if (n < 0)
            die("read");
        if (n == 0)
            break;
        total += static_cast<std::size_t>(n);
    }
    close(fd);
    return {{"bytes", total}, {"syscalls", calls}};
}

json memory_span()
{
    constexpr std::size_t kBytes = 64u << 20;
    auto span = tracer.trace_operation("test", "touch_memory", "touch 64 MiB of fresh memory");
    const rusage ru0 = thread_usage();
    const long rss0 = rss_bytes();
    void* p = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap");
    const long page = sysconf(_SC_PAGESIZE);
    for (std::size_t off = 0; off < kBytes; off += static_cast<std::size_t>(page))
        static_cast<volatile char*>(p)[off] = 1;
    const rusage ru1 = thread_usage();
    const long rss1 = rss_bytes();
    // the mapping stays: the RSS it added must be visible at span end
    return {{"bytes", kBytes},
            {"minor_faults", ru1.ru_minflt - ru0.ru_minflt},
            {"rss_delta", rss1 - rss0}};
}

// A few fresh anonymous pages: small enough that the kernel's per-CPU RSS
// counters have not folded them into the global count yet.
json small_memory_span()
{
    constexpr std::size_t kPages = 3;
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    void* p =
        mmap(nullptr, kPages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap");
    auto span = tracer.trace_operation("test", "touch_pages", "touch 3 fresh pages");
    const rusage ru0 = thread_usage();
    for (std::size_t i = 0; i < kPages; ++i)
        static_cast<volatile char*>(p)[i * page] = 1;
    const rusage ru1 = thread_usage();
    return {{"bytes", kPages * page}, {"minor_faults", ru1.ru_minflt - ru0.ru_minflt}};
}

// Names at the probe buffers' edge: 63 bytes fit (with the NUL), 64 do not.
json name_length_spans()
{
    const std::string fits(63, 'f'), cut(64, 'c');
    {
        auto span = tracer.trace_operation(fits.c_str(), "fits", "63-byte component");
    }
    {
        auto span = tracer.trace_operation(cut.c_str(), "cut", "64-byte component");
    }
    return {{"fits", fits}, {"cut_prefix", cut.substr(0, 63)}};
}

json nested_spans()
{
    auto outer = tracer.trace_operation("orchestrator", "run", "outer span");
    outer.set_tag("steps", 2);
    {
        auto child = tracer.trace_operation("agent", "step", "first child");
        child.set_tag("model", "small").set_tag("tokens", 128).set_tag("temperature", 0.25);
        child.set_tag("streaming", true);
        auto grandchild = tracer.trace_operation("llm", "generate", "grandchild");
        grandchild.set_tag("attempt", 1);
    }
    {
        auto child = tracer.trace_operation("agent", "step", "second child");
        child.record_error("ConfigurationError", "Invalid configuration format");
    }
    try {
        auto child = tracer.trace_operation("agent", "throwing", "ends by exception");
        throw std::runtime_error("boom");
    } catch (const std::exception&) {
    }
    return {{"outer", "orchestrator.run"}};
}

void run_all(json& truth)
{
    const std::string path = "/tmp/lstrace-workload-" + std::to_string(getpid()) + ".bin";
    truth["pid"] = getpid();
    truth["tid"] = gettid();
    truth["cpu"] = cpu_span();
    truth["sleep"] = sleep_span();
    truth["write"] = write_span(path);
    truth["read"] = read_span(path);
    unlink(path.c_str());
    truth["memory"] = memory_span();
    truth["small_memory"] = small_memory_span();
    truth["names"] = name_length_spans();
    truth["nested"] = nested_spans();
}

void run_threads(json& truth)
{
    constexpr int kThreads = 4, kSpans = 1000;
    std::vector<std::thread> workers;
    std::atomic<int> recorded{0};
    for (int t = 0; t < kThreads; ++t) {
        workers.emplace_back([t, &recorded] {
            for (int i = 0; i < kSpans; ++i) {
                auto span = tracer.trace_operation("worker", "task", "short task");
                span.set_tag("thread", t).set_tag("seq", i);
                if (span.recording())
                    recorded.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    for (auto& w : workers)
        w.join();
    truth["spans"] = kThreads * kSpans;
    truth["recorded_by_app"] = recorded.load();
}

// Spans back to back from `threads` threads for `seconds`: more than the
// recorder can drain through a small buffer.  Counts the spans that were
// recorded-enabled at begin, so losses can be checked to the span.
void run_burst(json& truth, int threads, double seconds)
{
    // Outrun the consumer: the highest priority (per thread on Linux; the
    // workers inherit it).  Works when started by root, harmless otherwise.
    (void)setpriority(PRIO_PROCESS, 0, -20);
    std::atomic<std::int64_t> produced{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            std::int64_t mine = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                auto span = tracer.trace_operation("burst", "span", "back to back");
                span.set_tag("n", mine);
                if (span.raw()->span_id != 0)
                    ++mine;
            }
            produced.fetch_add(mine);
        });
    }
    usleep(static_cast<useconds_t>(seconds * 1e6));
    stop = true;
    for (auto& w : workers)
        w.join();
    truth["spans"] = produced.load();
}

// Leaves spans open and dies: the recorder must write them as aborted.
//   exit: two nested spans open, then _exit(3)
//   kill: one span open, then SIGKILL to itself
//   thread: a thread returns with a span open (C API, no RAII), while the
//           main thread finishes a span normally
[[noreturn]] void run_abort(const std::string& how, const std::string& truth_path)
{
    std::ofstream(truth_path) << json{{"pid", getpid()}}.dump() << "\n";
    if (how == "thread") {
        std::thread leaker([] {
            static lstrace_span leaked;  // outlives the thread: never ended
            lstrace_span_begin(&leaked, "abort", "leaked", "left open by its thread");
        });
        leaker.join();
        {
            auto done = tracer.trace_operation("abort", "completed", "ends normally");
        }
        std::exit(0);
    }
    auto outer = tracer.trace_operation("abort", "outer", "open at death");
    auto inner = tracer.trace_operation("abort", "inner", "open at death");
    if (how == "kill")
        kill(getpid(), SIGKILL);
    _exit(3);
}

// Credentials where LLM applications put them: tags, headers, messages.
void run_secrets(json& truth)
{
    auto span = tracer.trace_operation("llm", "call", "POST /v1/chat with api_key=sk-test-123");
    span.set_tag("api_key", "sk-test-123");
    span.set_tag("headers", "Authorization: Bearer tok-456");
    span.set_tag("customer_id", "cust-789");
    span.set_tag("prompt_tokens", 42);
    span.record_error("AuthError", "login failed: password=hunter2");
    truth["secrets"] = {"sk-test-123", "tok-456", "hunter2"};
}

// 8 threads doing checkable work inside spans for `seconds`, while a test
// attaches and detaches recorders over and over.  Each span folds its
// index into a per-thread hash; the same fold without spans must agree.
void run_soak(json& truth, double seconds)
{
    constexpr int kThreads = 8;
    const auto fold = [](std::uint64_t h, std::uint64_t i) {
        return (h ^ (i * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
    };
    std::atomic<bool> stop{false};
    std::vector<std::uint64_t> hashes(kThreads), counts(kThreads);
    std::vector<std::thread> workers;
    for (int t = 0; t < kThreads; ++t) {
        workers.emplace_back([&, t] {
            std::uint64_t h = static_cast<std::uint64_t>(t), i = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                auto outer = tracer.trace_operation("soak", "outer", "soak span");
                outer.set_tag("i", static_cast<std::int64_t>(i));
                {
                    auto inner = tracer.trace_operation("soak", "inner", "nested soak span");
                    h = fold(h, i++);
                    if (i % 97 == 0)
                        inner.record_error("SoakError", "every 97th span fails");
                }
                if (i % 64 == 0)
                    usleep(100);  // let recorders in and out mid-span
            }
            hashes[t] = h;
            counts[t] = i;
        });
    }
    usleep(static_cast<useconds_t>(seconds * 1e6));
    stop = true;
    for (auto& w : workers)
        w.join();
    bool same = true;
    std::uint64_t total = 0;
    for (int t = 0; t < kThreads; ++t) {
        std::uint64_t h = static_cast<std::uint64_t>(t);
        for (std::uint64_t i = 0; i < counts[t]; ++i)
            h = fold(h, i);
        same = same && h == hashes[t];
        total += counts[t];
    }
    truth["results_unchanged"] = same;
    truth["spans"] = total;
}

// A process family for --follow: a span in the parent around a forked child
// with a span of its own, and a child that execs another instrumented
// program (`exec_path`, given its own truth file).
void run_family(json& truth, const std::string& truth_path, const std::string& exec_path)
{
    auto parent = tracer.trace_operation("family", "parent", "around the children");
    truth["parent_pid"] = getpid();
    const pid_t forked = fork();
    if (forked == 0) {
        {
            auto span = tracer.trace_operation("family", "forked", "in a forked child");
        }
        _exit(0);
    }
    const pid_t execd = fork();
    if (execd == 0) {
        const std::string child_truth = truth_path + ".exec.json";
        execl(exec_path.c_str(), exec_path.c_str(), child_truth.c_str(), nullptr);
        _exit(127);
    }
    int s1 = 0, s2 = 0;
    waitpid(forked, &s1, 0);
    waitpid(execd, &s2, 0);
    truth["forked_pid"] = forked;
    truth["execd_pid"] = execd;
    truth["children_ok"] =
        WIFEXITED(s1) && WEXITSTATUS(s1) == 0 && WIFEXITED(s2) && WEXITSTATUS(s2) == 0;
}

// Set by SIGTERM/SIGINT in the modes that run until told to stop.
std::atomic<bool> stop_requested{false};

// --follow under load: children that exec an instrumented program, four at
// a time; the parent waits for them with WUNTRACED as a shell does, so a
// stop that --follow imposes would show.  Stopped children are continued
// (and counted) so that a broken hold cannot hang the test itself.  With
// N=0, SIGTERM ends the soak early (the running children are still waited
// for): a test can soak for as long as a slow recorder needs, no longer.
void run_spawn(json& truth, const std::string& truth_path, const std::string& exec_path, int count,
               double seconds)
{
    struct sigaction sa {};
    sa.sa_handler = [](int) { stop_requested = true; };
    sa.sa_flags = SA_RESTART;  // waitpid() goes on waiting for the children
    sigaction(SIGTERM, &sa, nullptr);
    auto span = tracer.trace_operation("spawner", "spawn", "children that exec");
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    const auto more = [&](int started) {
        return count > 0 ? started < count
                         : !stop_requested && std::chrono::steady_clock::now() < until;
    };
    const std::string child_truth = truth_path + ".child.json";
    int started = 0, running = 0, ok = 0, stops = 0;
    while (more(started) || running > 0) {
        while (running < 4 && more(started)) {
            const pid_t pid = fork();
            if (pid == 0) {
                execl(exec_path.c_str(), exec_path.c_str(), child_truth.c_str(), nullptr);
                _exit(127);
            }
            if (pid < 0)
                break;
            ++started;
            ++running;
        }
        int status = 0;
        const pid_t pid = waitpid(-1, &status, WUNTRACED);
        if (pid < 0)
            break;
        if (WIFSTOPPED(status)) {
            ++stops;
            kill(pid, SIGCONT);
            continue;
        }
        --running;
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    truth["started"] = started;
    truth["children_ok"] = ok;
    truth["stops_seen"] = stops;
}

// PID reuse under --follow: child A runs spans and exits with one left
// open; then child B is given A's PID (through /proc/sys/kernel/ns_last_pid)
// and runs spans of its own.  Nothing of A may be attributed to B.
void run_pid_reuse(json& truth)
{
    const auto child = [](const char* name, int spans, bool leave_open) {
        for (int i = 0; i < spans; ++i) {
            auto span = tracer.trace_operation("reuse", name, "in a child");
            span.set_tag("i", i);
        }
        if (leave_open) {
            static lstrace_span open_span;
            lstrace_span_begin(&open_span, "reuse", "left_open", "open at exit");
        }
        _exit(0);
    };
    const pid_t a = fork();
    if (a == 0)
        child("a", 3, true);
    waitpid(a, nullptr, 0);
    pid_t b = -1;
    for (int attempt = 0; attempt < 20 && b != a; ++attempt) {
        if (b > 0)
            waitpid(b, nullptr, 0);
        std::ofstream("/proc/sys/kernel/ns_last_pid") << a - 1;
        b = fork();
        if (b == 0) {
            if (getpid() == a)
                child("b", 5, false);
            _exit(0);
        }
    }
    waitpid(b, nullptr, 0);
    truth["a"] = a;
    truth["reused"] = b == a;
}

// Burns `ms` of this thread's CPU time.
double burn_cpu_ms(double ms)
{
    const double cpu0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
    volatile std::uint64_t x = 0;
    while (clock_ms(CLOCK_THREAD_CPUTIME_ID) - cpu0 < ms)
        for (int i = 0; i < 1000; ++i)
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return clock_ms(CLOCK_THREAD_CPUTIME_ID) - cpu0;
}

// The same program twice, once with one operation made heavier: what
// `compare` must tell apart.  The spans only compute, for less than a
// scheduler time slice, so that on a busy machine most of them run without
// preemption; a span that sleeps could wake up late, by a slice or more, in
// one recording and not in the other.
void run_mix(json& truth, bool heavy)
{
    // Ahead of other work on a busy machine (when started by root; harmless
    // otherwise): the spans' wall time then follows their own CPU time.
    (void)setpriority(PRIO_PROCESS, 0, -20);
    constexpr int kRounds = 60;
    const double compute_ms = heavy ? 1.5 : 1.0;
    double parse_cpu = 0, compute_cpu = 0;
    for (int i = 0; i < kRounds; ++i) {
        {
            auto span = tracer.trace_operation("mix", "parse", "0.5 ms of CPU");
            parse_cpu += burn_cpu_ms(0.5);
        }
        {
            auto span = tracer.trace_operation("mix", "compute", "1 ms of CPU (heavy: 1.5)");
            compute_cpu += burn_cpu_ms(compute_ms);
        }
        {
            auto span = tracer.trace_operation("mix", "format", "0.25 ms of CPU");
            burn_cpu_ms(0.25);
        }
    }
    truth["rounds"] = kRounds;
    truth["parse_cpu_ms_mean"] = parse_cpu / kRounds;
    truth["compute_cpu_ms_mean"] = compute_cpu / kRounds;
}

void run_loop(json& truth, const std::string& truth_path, bool slow)
{
    struct sigaction sa {};
    sa.sa_handler = [](int) { stop_requested = true; };
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::vector<std::int64_t> traced;
    std::ofstream(truth_path + ".ready") << getpid() << "\n";
    for (std::int64_t seq = 0; !stop_requested; ++seq) {
        {
            auto span = tracer.trace_operation("loop", "tick", "numbered span");
            span.set_tag("seq", seq);
            if (span.raw()->span_id != 0)  // began with a recorder attached
                traced.push_back(seq);
            if (slow)
                usleep(200 * 1000);  // mostly inside a span: attach lands mid-span
        }
        usleep(2000);
    }
    truth["traced_seqs"] = traced;
}

// Spans at a steady pace (or as fast as the thread can) for a fixed time:
// the rate a recorder lets the program reach.
void run_rate(json& truth, double seconds, long pause_us)
{
    const double start = clock_ms(CLOCK_MONOTONIC);
    const double end = start + seconds * 1e3;
    std::int64_t spans = 0;
    double now = start;
    while (now < end) {
        for (int i = 0; i < 64; ++i) {
            auto span = tracer.trace_operation("rate", "tick", "paced span");
            span.set_tag("seq", spans++);
        }
        if (pause_us > 0)
            usleep(static_cast<useconds_t>(pause_us));
        now = clock_ms(CLOCK_MONOTONIC);
    }
    truth["spans"] = spans;
    truth["seconds"] = (now - start) / 1e3;
    truth["rate"] = static_cast<double>(spans) / ((now - start) / 1e3);
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODE TRUTH.json [ARG]\n", argv[0]);
        return 2;
    }
    const std::string mode = argv[1];
    json truth;
    if (mode == "all")
        run_all(truth);
    else if (mode == "threads")
        run_threads(truth);
    else if (mode == "loop" || mode == "slow")
        run_loop(truth, argv[2], mode == "slow");
    else if (mode == "soak")
        run_soak(truth,
                 std::getenv("SOAK_SECONDS") ? std::atof(std::getenv("SOAK_SECONDS")) : 60.0);
    else if (mode == "family" && argc == 4)
        run_family(truth, argv[2], argv[3]);
    else if (mode == "spawn" && argc == 5)
        run_spawn(truth, argv[2], argv[3], std::atoi(argv[4]),
                  std::getenv("SOAK_SECONDS") ? std::atof(std::getenv("SOAK_SECONDS")) : 60.0);
    else if (mode == "pid-reuse")
        run_pid_reuse(truth);
    else if (mode == "secrets")
        run_secrets(truth);
    else if (mode == "mix")
        run_mix(truth, argc == 4 && std::string(argv[3]) == "heavy");
    else if (mode == "rate" && argc >= 4)
        run_rate(truth, std::atof(argv[3]), argc >= 5 ? std::atol(argv[4]) : 0);
    else if (mode == "burst")
        run_burst(truth, 2, 2.0);
    else if (mode.rfind("abort-", 0) == 0)
        run_abort(mode.substr(6), argv[2]);
    else {
        std::fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    std::ofstream(argv[2]) << truth.dump(2) << "\n";
    return 0;
}
