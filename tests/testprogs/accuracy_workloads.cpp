// Test program for the accuracy tests (tests/integration/test_accuracy.cpp):
// spans of known shapes, each with the ground truth measured in the program
// around its two probes, so the tests can hold every kernel figure of the
// record to the precision docs/records.md states.
//
//   accuracy_workloads cpu TRUTH.json THREADS SPANS MAX_MS
//       SPANS spans on each of THREADS threads, each burning CPU for 1, 3,
//       10, 30, 100, 300 or 1000 ms in turn (capped at MAX_MS)
//   accuracy_workloads sleepy TRUTH.json THREADS SPANS ITERATIONS
//       spans of ITERATIONS x (20 us of CPU + a 100 us sleep)
//   accuracy_workloads sockets TRUTH.json
//       one span per way of moving bytes through a socket or pipe: send/recv,
//       sendto/recvfrom, sendmsg/recvmsg, sendmmsg/recvmmsg, splice, sendfile
//   accuracy_workloads rss-other TRUTH.json
//       spans during which another thread of the process allocates and frees
//       memory, and spans during which no other thread changes the RSS
//   accuracy_workloads spin
//       a busy loop until killed (contention the test starts itself)
//
// Ground truth of a span, in nanoseconds: the thread's CPU clock
// (CLOCK_THREAD_CPUTIME_ID) and CLOCK_MONOTONIC read just outside its two
// probes (`outer`: before span_begin, after span_end) and just inside them
// (`inner`: after span_begin, before span_end).  The recorder's probes run
// between the two, so a figure is right when it lies between inner and outer.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <lstrace/lstrace.h>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

using nlohmann::json;

constexpr const char* kTracer = "tests.accuracy";

std::int64_t clock_ns(clockid_t id)
{
    timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

std::int64_t thread_cpu_ns()
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

void die(const char* what)
{
    std::perror(what);
    std::exit(1);
}

// Burns `ns` of this thread's CPU time.
void burn(std::int64_t ns)
{
    const std::int64_t until = thread_cpu_ns() + ns;
    volatile std::uint64_t x = 0;
    while (thread_cpu_ns() < until)
        for (int i = 0; i < 200; ++i)
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
}

// The clocks around a span's probes; `work` runs inside it.
template <typename Work>
json measured_span(const char* operation, const std::string& description, Work&& work)
{
    lstrace_span span{};
    const std::int64_t wall_out0 = clock_ns(CLOCK_MONOTONIC);
    const std::int64_t cpu_out0 = thread_cpu_ns();
    lstrace_span_begin_traced(&span, kTracer, "accuracy", operation, description.c_str());
    const std::int64_t cpu_in0 = thread_cpu_ns();
    const std::int64_t wall_in0 = clock_ns(CLOCK_MONOTONIC);
    json extra = work();
    const std::int64_t wall_in1 = clock_ns(CLOCK_MONOTONIC);
    const std::int64_t cpu_in1 = thread_cpu_ns();
    lstrace_span_end(&span);
    const std::int64_t cpu_out1 = thread_cpu_ns();
    const std::int64_t wall_out1 = clock_ns(CLOCK_MONOTONIC);
    json t = {{"description", description},
              {"cpu_inner_ns", cpu_in1 - cpu_in0},
              {"cpu_outer_ns", cpu_out1 - cpu_out0},
              {"wall_inner_ns", wall_in1 - wall_in0},
              {"wall_outer_ns", wall_out1 - wall_out0}};
    if (!extra.is_null())
        t["work"] = extra;
    return t;
}

// Runs `per_thread(thread_index, spans_out)` on `threads` threads and
// collects the spans' truth.
template <typename PerThread>
json on_threads(int threads, PerThread&& per_thread)
{
    std::mutex mu;
    json spans = json::array();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            json mine = json::array();
            per_thread(t, mine);
            std::lock_guard<std::mutex> lock(mu);
            for (json& s : mine)
                spans.push_back(std::move(s));
        });
    for (auto& w : workers)
        w.join();
    return spans;
}

json run_cpu(int threads, int spans, std::int64_t max_ms)
{
    std::vector<std::int64_t> lengths_ms;
    for (std::int64_t ms : {1, 3, 10, 30, 100, 300, 1000})
        if (ms <= max_ms)
            lengths_ms.push_back(ms);
    return on_threads(threads, [&](int t, json& out) {
        for (int i = 0; i < spans; ++i) {
            const std::int64_t ms = lengths_ms[i % lengths_ms.size()];
            const std::string desc = "t" + std::to_string(t) + " s" + std::to_string(i);
            out.push_back(measured_span("cpu", desc, [&] {
                burn(ms * 1000000);
                return json();
            }));
        }
    });
}

json run_sleepy(int threads, int spans, int iterations)
{
    return on_threads(threads, [&](int t, json& out) {
        for (int i = 0; i < spans; ++i) {
            const std::string desc = "t" + std::to_string(t) + " s" + std::to_string(i);
            out.push_back(measured_span("sleepy", desc, [&] {
                const timespec nap = {0, 100000};
                for (int n = 0; n < iterations; ++n) {
                    burn(20000);
                    nanosleep(&nap, nullptr);
                }
                return json();
            }));
        }
    });
}

// Receives `n` bytes (at most buf.size()) from socket `fd`.
void recv_exactly(int fd, std::size_t n, std::vector<char>& buf)
{
    for (std::size_t got = 0; got < n;) {
        const ssize_t r = recv(fd, buf.data(), n - got, 0);
        if (r <= 0)
            die("recv");
        got += r;
    }
}

// Moves `n` bytes from a to b with the given send and receive calls.
template <typename Send, typename Recv>
json transfer(int a, int b, std::size_t n, Send&& send_some, Recv&& recv_some)
{
    std::vector<char> buf(n, 'x'), in(n);
    std::size_t sent = 0, got = 0;
    while (got < n) {
        if (sent < n) {
            const ssize_t k = send_some(a, buf.data() + sent, n - sent);
            if (k < 0)
                die("send");
            sent += k;
        }
        const ssize_t k = recv_some(b, in.data() + got, n - got);
        if (k < 0)
            die("recv");
        got += k;
    }
    return {{"sent", sent}, {"received", got}};
}

void run_sockets(json& spans, int round)
{
    constexpr std::size_t kBytes = 1u << 20;
    constexpr std::size_t kChunk = 64u << 10;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        die("socketpair");
    // big enough buffers for one chunk at a time without blocking
    const int size = 4 * kChunk;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    const auto cap = [](std::size_t n) { return n < kChunk ? n : kChunk; };
    const std::string r = " r" + std::to_string(round);

    spans.push_back(measured_span("send_recv", "send/recv" + r, [&] {
        return transfer(
            sv[0], sv[1], kBytes,
            [&](int fd, char* p, std::size_t n) { return send(fd, p, cap(n), 0); },
            [&](int fd, char* p, std::size_t n) { return recv(fd, p, cap(n), 0); });
    }));
    spans.push_back(measured_span("sendto_recvfrom", "sendto/recvfrom" + r, [&] {
        return transfer(
            sv[0], sv[1], kBytes,
            [&](int fd, char* p, std::size_t n) { return sendto(fd, p, cap(n), 0, nullptr, 0); },
            [&](int fd, char* p, std::size_t n) {
                return recvfrom(fd, p, cap(n), 0, nullptr, nullptr);
            });
    }));
    spans.push_back(measured_span("sendmsg_recvmsg", "sendmsg/recvmsg" + r, [&] {
        const auto msg_call = [&](bool out, int fd, char* p, std::size_t n) {
            iovec iov = {p, cap(n)};
            msghdr m{};
            m.msg_iov = &iov;
            m.msg_iovlen = 1;
            return out ? sendmsg(fd, &m, 0) : recvmsg(fd, &m, 0);
        };
        return transfer(
            sv[0], sv[1], kBytes,
            [&](int fd, char* p, std::size_t n) { return msg_call(true, fd, p, n); },
            [&](int fd, char* p, std::size_t n) { return msg_call(false, fd, p, n); });
    }));
    spans.push_back(measured_span("sendmmsg_recvmmsg", "sendmmsg/recvmmsg" + r, [&] {
        // two messages a call, of half a chunk each
        const auto mmsg_call = [&](bool out, int fd, char* p, std::size_t n) -> ssize_t {
            const std::size_t half = cap(n) / 2 ? cap(n) / 2 : cap(n);
            iovec iov[2] = {{p, half}, {p + half, cap(n) - half}};
            mmsghdr m[2]{};
            m[0].msg_hdr.msg_iov = &iov[0];
            m[0].msg_hdr.msg_iovlen = 1;
            m[1].msg_hdr.msg_iov = &iov[1];
            m[1].msg_hdr.msg_iovlen = 1;
            const unsigned count = cap(n) - half ? 2 : 1;
            const int r =
                out ? sendmmsg(fd, m, count, 0) : recvmmsg(fd, m, count, MSG_DONTWAIT, nullptr);
            if (r < 0)
                return (!out && errno == EAGAIN) ? 0 : -1;
            ssize_t bytes = 0;
            for (int i = 0; i < r; ++i)
                bytes += m[i].msg_len;
            return bytes;
        };
        return transfer(
            sv[0], sv[1], kBytes,
            [&](int fd, char* p, std::size_t n) { return mmsg_call(true, fd, p, n); },
            [&](int fd, char* p, std::size_t n) { return mmsg_call(false, fd, p, n); });
    }));
    // splice: socket -> pipe -> socket; sendfile: file -> socket
    spans.push_back(measured_span("splice", "splice socket to pipe to socket" + r, [&] {
        int pipefd[2];
        if (pipe(pipefd))
            die("pipe");
        std::vector<char> buf(kChunk, 'y'), in(kChunk);
        std::size_t spliced = 0, received = 0;
        while (spliced < kBytes) {
            if (send(sv[0], buf.data(), kChunk, 0) != static_cast<ssize_t>(kChunk))
                die("send");
            std::size_t moved = 0;
            while (moved < kChunk) {  // socket -> pipe, then pipe -> socket
                const ssize_t k = splice(sv[1], nullptr, pipefd[1], nullptr, kChunk - moved, 0);
                if (k <= 0)
                    die("splice in");
                ssize_t left = k;
                while (left > 0) {
                    const ssize_t o = splice(pipefd[0], nullptr, sv[1], nullptr, left, 0);
                    if (o <= 0)
                        die("splice out");
                    left -= o;
                }
                moved += k;
                recv_exactly(sv[0], k, in);  // what came back to sv[0]
                received += k;
            }
            spliced += moved;
        }
        close(pipefd[0]);
        close(pipefd[1]);
        // per direction: each byte was spliced into the pipe and out of it
        return json{{"spliced", spliced}, {"sent", kBytes}, {"received", received}};
    }));
    char path[] = "/tmp/lstrace-accuracy-XXXXXX";
    const int file = mkstemp(path);
    if (file < 0)
        die("mkstemp");
    unlink(path);
    std::vector<char> data(kChunk, 'z');
    for (std::size_t done = 0; done < kBytes; done += kChunk)
        if (write(file, data.data(), kChunk) != static_cast<ssize_t>(kChunk))
            die("write");
    spans.push_back(measured_span("sendfile", "sendfile file to socket" + r, [&] {
        off_t off = 0;
        std::vector<char> in(kChunk);
        std::size_t sent = 0, got = 0;
        while (sent < kBytes) {
            const ssize_t k = sendfile(sv[0], file, &off, kChunk);
            if (k <= 0)
                die("sendfile");
            sent += k;
            recv_exactly(sv[1], k, in);
            got += k;
        }
        return json{{"sent", sent}, {"received", got}};
    }));
    close(file);
    close(sv[0]);
    close(sv[1]);
}

json run_sockets()
{
    json spans = json::array();
    for (int round = 0; round < 4; ++round)
        run_sockets(spans, round);
    return spans;
}

// Spans on the main thread while a second thread maps, touches and unmaps
// 8 MiB (RSS up and down), and spans while the second thread only waits.
json run_rss_other()
{
    constexpr std::size_t kBytes = 8u << 20;
    std::atomic<int> phase{0};  // 1: allocate and free; 2: stop
    std::atomic<int> rounds{0};
    std::atomic<bool> idle{false};  // the other thread saw phase 0 and waits
    std::thread other([&] {
        while (phase.load() != 2) {
            if (phase.load() != 1) {
                idle.store(true);
                std::this_thread::sleep_for(std::chrono::microseconds(200));
                continue;
            }
            idle.store(false);
            void* p =
                mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED)
                die("mmap");
            std::memset(p, 1, kBytes);
            munmap(p, kBytes);
            rounds.fetch_add(1);
        }
    });
    json spans = json::array();
    for (int i = 0; i < 20; ++i) {
        const bool busy_other = i % 2 == 0;
        if (!busy_other)  // the other thread has finished its round and waits
            while (!idle.load())
                std::this_thread::sleep_for(std::chrono::microseconds(100));
        phase.store(busy_other ? 1 : 0);
        const int rounds0 = rounds.load();
        // the other thread must have finished a round inside the span
        json t = measured_span(
            "rss", std::string(busy_other ? "other" : "quiet") + " s" + std::to_string(i), [&] {
                if (busy_other)
                    while (rounds.load() < rounds0 + 2)
                        std::this_thread::sleep_for(std::chrono::microseconds(500));
                else
                    std::this_thread::sleep_for(std::chrono::milliseconds(5));
                return json();
            });
        t["other_thread_changed_rss"] = busy_other;
        spans.push_back(t);
        phase.store(0);
    }
    phase.store(2);
    other.join();
    return spans;
}

[[noreturn]] void spin()
{
    volatile std::uint64_t x = 0;
    for (;;)
        x = x + 1;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc >= 2 && std::string(argv[1]) == "spin")
        spin();
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODE TRUTH.json [ARG...]\n", argv[0]);
        return 2;
    }
    const std::string mode = argv[1];
    const auto arg = [&](int i) { return i < argc ? std::atol(argv[i]) : -1L; };
    json truth;
    if (mode == "cpu" && argc == 6)
        truth["spans"] = run_cpu(arg(3), arg(4), arg(5));
    else if (mode == "sleepy" && argc == 6)
        truth["spans"] = run_sleepy(arg(3), arg(4), arg(5));
    else if (mode == "sockets")
        truth["spans"] = run_sockets();
    else if (mode == "rss-other")
        truth["spans"] = run_rss_other();
    else {
        std::fprintf(stderr, "%s: unknown mode or wrong arguments: %s\n", argv[0], argv[1]);
        return 2;
    }
    std::ofstream(argv[2]) << truth.dump(1) << "\n";
    return 0;
}
