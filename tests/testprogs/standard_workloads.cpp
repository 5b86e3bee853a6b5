// Test program for the tracing standard's component, error, performance,
// data-flow and context tracing (issue 3).  Each mode writes, as JSON, the
// ground truth it measured or computed itself, so the integration tests can
// compare the records against it.
//
//   standard_workloads component TRUTH.json   LSTRACE_TRACE_METHOD, init, state, config
//   standard_workloads errors TRUTH.json      error, handled, recovery, resolution, propagation
//   standard_workloads resources TRUTH.json   file/socket/pipe I/O, blocked time, fds,
//                                             migrations, peak RSS
//   standard_workloads dataflow TRUTH.json    input, output, transformation
//   standard_workloads context TRUTH.json     a worker thread and a child process
//                                             (this program, via TRACEPARENT) join the trace
//   standard_workloads child TRUTH.json       the child half of "context"
//   standard_workloads filters TRUTH.json     spans of components a/b/c, short and long
//   standard_workloads stack TRUTH.json       an error three noinline calls down
//                                             (built twice: with and without frame pointers)
//   standard_workloads limits TRUTH.json      strings longer than the probe buffers,
//                                             invalid UTF-8 and binary bytes
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <lstrace/lstrace.hpp>

namespace {

using nlohmann::json;

const lstrace::Tracer tracer = lstrace::get_tracer("tests.standard");

[[noreturn]] void die(const char* what)
{
    std::perror(what);
    std::exit(1);
}

double clock_ms(clockid_t clock)
{
    timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double now_ms()
{
    return clock_ms(CLOCK_MONOTONIC);
}

// --- component tracing ------------------------------------------------------

class MemoryStore {
public:
    explicit MemoryStore(const std::map<std::string, std::string>& config) : tracer_("MemoryStore")
    {
        std::vector<std::string> keys;
        std::size_t size = 0;
        for (const auto& [k, v] : config) {
            keys.push_back(k);
            size += k.size() + v.size();
        }
        tracer_.trace_initialization(keys, static_cast<std::int64_t>(size));
        set_state("ready", "configured");
    }

    int store(const std::string& key, const std::string& value, int ttl)
    {
        LSTRACE_TRACE_METHOD();
        rows_ += 1;
        return static_cast<int>(key.size() + value.size()) + ttl;
    }

    void resize(int capacity)
    {
        LSTRACE_TRACE_METHOD();
        tracer_.trace_config_change("capacity", std::to_string(capacity_),
                                    std::to_string(capacity));
        capacity_ = capacity;
    }

    std::string trace_state() const { return state_ + "/" + std::to_string(rows_) + " rows"; }

    void set_state(const std::string& to, const std::string& reason)
    {
        tracer_.trace_state_change(state_, to, reason);
        state_ = to;
    }

private:
    lstrace::ComponentTracer tracer_;
    std::string state_ = "created";
    int rows_ = 0;
    int capacity_ = 16;
};

void run_component(json& truth)
{
    auto span = tracer.trace_operation("workflow", "setup", "set up the memory store");
    MemoryStore store({{"backend", "sqlite"}, {"path", "/tmp/x.db"}, {"max_rows", "100"}});
    store.store("k1", "v1", 30);
    store.resize(64);
    store.set_state("closed", "");
    truth["config_keys"] = "backend,max_rows,path";
    truth["config_size"] = std::string("backendsqlitemax_rows100path/tmp/x.db").size();
    truth["component_state_at_resize"] = "ready/1 rows";
}

// --- error tracing -----------------------------------------------------------

struct RateLimitError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void call_llm(int attempt)
{
    auto span = tracer.trace_operation("llm", "generate", "call the model");
    if (attempt == 1) {
        span.record_error("RateLimitError", "429: 60 requests/min exceeded");
        throw RateLimitError("429: 60 requests/min exceeded");
    }
}

void run_errors(json& truth)
{
    auto span = tracer.trace_operation("agent", "answer", "answer with retries");
    lstrace::ErrorId first = 0;
    for (int attempt = 1; attempt <= 2; ++attempt) {
        try {
            call_llm(attempt);
            lstrace::trace_error_recovery(first, "RateLimitError", "retry_with_backoff", true);
            lstrace::trace_error_resolved(first, "succeeded on attempt 2");
        } catch (const RateLimitError& e) {
            first = lstrace::trace_error(e, "warning", "network",
                                         {{"model", "claude-3-haiku"}, {"attempt", "1"}});
            lstrace::trace_error_handled(first, "Agent.answer");
            lstrace::trace_error_recovery(first, "RateLimitError", "wait_for_quota", false);
        }
    }
    // a second error, escalated
    const lstrace::ErrorId fatal = lstrace::trace_error({"ConfigurationError",
                                                         "missing api key",
                                                         "langswarm.config",
                                                         "critical",
                                                         "configuration",
                                                         {{"file", "agents.yaml"}}});
    lstrace::trace_error_escalated(fatal, "no fallback configured");
    truth["first_error_id"] = first;
    truth["fatal_error_id"] = fatal;
    truth["exception_type"] = lstrace::exception_type_name(RateLimitError("x"));
}

// --- performance tracing -----------------------------------------------------

void write_all(int fd, const char* data, std::size_t n)
{
    while (n > 0) {
        const ssize_t w = write(fd, data, n);
        if (w <= 0)
            die("write");
        data += w;
        n -= static_cast<std::size_t>(w);
    }
}

std::size_t read_all(int fd, char* buf, std::size_t n)
{
    std::size_t got = 0;
    while (got < n) {
        const ssize_t r = read(fd, buf + got, n - got);
        if (r < 0)
            die("read");
        if (r == 0)
            break;
        got += static_cast<std::size_t>(r);
    }
    return got;
}

void run_resources(json& truth, const std::string& dir)
{
    constexpr std::size_t kFile = 1u << 20, kNet = 300000, kPipe = 70000;
    std::vector<char> buf(kFile, 'f');
    std::vector<char> in(kFile);

    // Set up outside the measured span: a listening socket and a pipe whose
    // writer sleeps 150 ms first (a blocking read the span waits on).
    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listener, 1) != 0 ||
        getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        die("listen");
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        die("pipe");
    std::thread pipe_writer([&] {
        usleep(150 * 1000);
        std::vector<char> p(kPipe, 'p');
        write_all(pipefd[1], p.data(), p.size());
        close(pipefd[1]);
    });

    {
        auto span = tracer.trace_operation("tool", "io_mix", "file, socket and pipe I/O");
        const double t0 = now_ms();
        // files: open 3, close 2 (the third stays open past the span)
        const int f1 = open((dir + "/a.bin").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        const int f2 = open((dir + "/b.bin").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        const int f3 = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (f1 < 0 || f2 < 0 || f3 < 0)
            die("open");
        write_all(f1, buf.data(), kFile);
        if (pread(f1, in.data(), kFile, 0) != static_cast<ssize_t>(kFile))
            die("pread");
        close(f1);
        close(f2);
        // sockets: connect and accept on loopback, send kNet bytes through
        const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (client < 0 || connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
            die("connect");
        const int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (server < 0)
            die("accept");
        std::thread sender([&] {
            write_all(client, buf.data(), kNet);
            shutdown(client, SHUT_WR);
        });
        const std::size_t net_in = read_all(server, in.data(), kNet);
        sender.join();
        // the pipe: blocks until the writer thread wakes up
        const double pipe_t0 = now_ms(), pipe_cpu0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
        const std::size_t pipe_in = read_all(pipefd[0], in.data(), kPipe);
        // how long the reads waited off-CPU: up to 150 ms, less when the
        // work before them was slow (an emulated CPU)
        truth["pipe_blocked_ms"] =
            (now_ms() - pipe_t0) - (clock_ms(CLOCK_THREAD_CPUTIME_ID) - pipe_cpu0);
        const double wall = now_ms() - t0;
        truth["file_write_bytes"] = kFile;
        truth["file_read_bytes"] = kFile;
        truth["net_read_bytes"] = net_in;
        truth["other_read_bytes"] = pipe_in;
        truth["files_opened"] = 3;
        truth["fds_closed"] = 2;
        truth["sockets_connected"] = 1;
        truth["sockets_accepted"] = 1;
        truth["wall_ms"] = wall;
        truth["third_fd"] = f3;
        truth["server_fd"] = server;
        truth["client_fd"] = client;
    }
    pipe_writer.join();

    {
        // peak RSS: 48 MiB touched and unmapped inside the span
        auto span = tracer.trace_operation("memory", "scratch", "48 MiB of scratch space");
        constexpr std::size_t kScratch = 48u << 20;
        char* p = static_cast<char*>(
            mmap(nullptr, kScratch, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        if (p == MAP_FAILED)
            die("mmap");
        for (std::size_t i = 0; i < kScratch; i += 4096)
            p[i] = 1;
        munmap(p, kScratch);
        truth["scratch_bytes"] = kScratch;
    }

    {
        // CPU migrations: hop between CPU 0 and CPU 1
        auto span = tracer.trace_operation("compute", "hop", "move between CPUs");
        int hops = 0;
        if (std::thread::hardware_concurrency() >= 2) {
            for (int i = 0; i < 6; ++i) {
                cpu_set_t set;
                CPU_ZERO(&set);
                CPU_SET(i % 2, &set);
                if (sched_setaffinity(0, sizeof(set), &set) == 0)
                    ++hops;
            }
            cpu_set_t all;
            CPU_ZERO(&all);
            for (unsigned c = 0; c < std::thread::hardware_concurrency(); ++c)
                CPU_SET(c, &all);
            sched_setaffinity(0, sizeof(all), &all);
        }
        truth["affinity_changes"] = hops;
    }
}

// --- data flow ---------------------------------------------------------------

void run_dataflow(json& truth)
{
    const std::string prompt = "Summarize the quarterly report in three bullet points.";
    const std::map<std::string, int> usage = {{"prompt_tokens", 12}, {"completion_tokens", 40}};
    std::string long_text(150, 'x');
    long_text += "\xc3\xa9";  // é: previews must not cut it
    const std::vector<std::string> chunks = {"Summarize the quarterly report",
                                             "in three bullet points."};
    {
        auto span = tracer.trace_operation("llm", "generate", "data in and out");
        lstrace::data_input(prompt);
        lstrace::data_output(usage);
        lstrace::data_transformation(prompt, chunks);
    }
    lstrace::DataFlowTracer flow(lstrace::get_tracer("tests.flow"));
    flow.trace_data_input("memory", "store", long_text);

    const auto d = [](const lstrace::DataInfo& i) {
        return json{{"type", i.type}, {"size_bytes", i.size_bytes}, {"length", i.length},
                    {"keys", i.keys}, {"preview", i.preview},       {"fingerprint", i.fingerprint}};
    };
    truth["prompt"] = d(lstrace::describe(prompt));
    truth["usage"] = d(lstrace::describe(usage));
    truth["chunks"] = d(lstrace::describe(chunks));
    truth["long_text"] = d(lstrace::describe(long_text));
}

// --- trace context -----------------------------------------------------------

void run_context(json& truth, const std::string& self, const std::string& truth_path)
{
    auto span = tracer.trace_operation("pipeline", "run", "fan out to a thread and a process");
    const lstrace::Context ctx = lstrace::Context::current();
    std::thread worker([ctx] {
        lstrace::ContextScope joined(ctx);
        auto child = tracer.trace_operation("worker", "task", "runs on another thread");
    });
    worker.join();
    const std::string traceparent = ctx.traceparent();
    const pid_t pid = fork();
    if (pid == 0) {
        setenv("TRACEPARENT", traceparent.c_str(), 1);
        const std::string child_truth = truth_path + ".child";
        // CONTEXT_CHILD_PYTHON and _SCRIPT: the child half is that Python
        // program (tests/python: a Python child joining a C++ trace)
        if (const char* python = std::getenv("CONTEXT_CHILD_PYTHON")) {
            const char* script = std::getenv("CONTEXT_CHILD_SCRIPT");
            execl(python, python, script ? script : "", "child", child_truth.c_str(),
                  static_cast<char*>(nullptr));
            _exit(127);
        }
        execl(self.c_str(), self.c_str(), "child", child_truth.c_str(),
              static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    truth["traceparent"] = traceparent;
    truth["child_pid"] = pid;
    truth["child_ok"] = WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void run_child(json& truth)
{
    lstrace::ContextScope joined(lstrace::Context::from_environment());
    auto span = tracer.trace_operation("stage2", "consume", "child process stage");
    truth["pid"] = getpid();
}

// --- filters -------------------------------------------------------------------

void run_filters(json& truth)
{
    int n = 0;
    for (const char* component : {"alpha", "beta", "gamma"}) {
        for (int i = 0; i < 3; ++i) {
            auto span = tracer.trace_operation(component, "short", "under 1 ms");
            span.set_tag("i", i);
            ++n;
        }
        auto span = tracer.trace_operation(component, "long", "about 60 ms");
        usleep(60 * 1000);
        ++n;
        auto failed = tracer.trace_operation(component, "short_failure", "fails fast");
        failed.record_error("Boom", "short but failed");
        ++n;
    }
    truth["spans"] = n;
}

// --- stack traces ------------------------------------------------------------

__attribute__((noinline)) void stack_inner(json& truth)
{
    truth["error_id"] = lstrace::trace_error({"StackError", "deep failure", "", "error", "", {}});
    __asm__ __volatile__("" ::: "memory");  // not a tail call
}

__attribute__((noinline)) void stack_middle(json& truth)
{
    stack_inner(truth);
    __asm__ __volatile__("" ::: "memory");
}

__attribute__((noinline)) void stack_outer(json& truth)
{
    stack_middle(truth);
    __asm__ __volatile__("" ::: "memory");
}

void run_stack(json& truth)
{
    auto span = tracer.trace_operation("tool", "deep_call", "an error three calls down");
    stack_outer(truth);
#if defined(__OPTIMIZE__) && !defined(LSTRACE_TEST_FRAME_POINTERS)
    truth["frame_pointers"] = false;
#else
    truth["frame_pointers"] = true;
#endif
}

// --- limits --------------------------------------------------------------------

void run_limits(json& truth)
{
    const std::string long_component(100, 'c');
    const std::string long_value(1000, 'v');
    const std::string bad_utf8 = std::string("ok \xff\xfe end") + std::string(1, '\x01');
    {
        auto span = tracer.trace_operation(long_component, "op", "a 100-byte component name");
        span.set_tag("long", long_value);
        span.set_tag("binary", bad_utf8);
        lstrace::ComponentTracer(long_component).trace_state_change(long_value, "b", bad_utf8);
    }
    truth["long_value_bytes"] = long_value.size();
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODE TRUTH.json\n", argv[0]);
        return 2;
    }
    const std::string mode = argv[1], truth_path = argv[2];
    json truth;
    truth["pid"] = getpid();
    truth["tid"] = gettid();
    if (mode == "component") {
        run_component(truth);
    } else if (mode == "errors") {
        run_errors(truth);
    } else if (mode == "resources") {
        const std::string dir = truth_path.substr(0, truth_path.rfind('/'));
        run_resources(truth, dir.empty() ? "." : dir);
    } else if (mode == "dataflow") {
        run_dataflow(truth);
    } else if (mode == "context") {
        run_context(truth, argv[0], truth_path);
    } else if (mode == "child") {
        run_child(truth);
    } else if (mode == "filters") {
        run_filters(truth);
    } else if (mode == "stack") {
        run_stack(truth);
    } else if (mode == "limits") {
        run_limits(truth);
    } else {
        std::fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    std::ofstream(truth_path) << truth.dump(2) << "\n";
    return 0;
}
