// /proc parsing, process-wide samples and environment info, on this test
// process itself (no root needed).
#include <catch2/catch.hpp>

#include <algorithm>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/proc_files.hpp"
#include "base/unique_fd.hpp"
#include "config/tracing_config.hpp"
#include "output/environment_info.hpp"
#include "output/process_sampler.hpp"
#include "output/redactor.hpp"

using namespace lstrace;

namespace {

double thread_cpu_ms()
{
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

void burn_cpu_ms(double ms)
{
    const double until = thread_cpu_ms() + ms;
    volatile unsigned long x = 0;
    while (thread_cpu_ms() < until)
        for (int i = 0; i < 10000; ++i)
            x = x + static_cast<unsigned long>(i);
}

// A pid that existed and is gone (reaped).
int vanished_pid()
{
    const pid_t child = ::fork();
    if (child == 0)
        ::_exit(0);
    int status = 0;
    ::waitpid(child, &status, 0);
    return child;
}

}  // namespace

TEST_CASE("stat lines split at the last ')' whatever the comm holds", "[procinfo]")
{
    auto s = StatLine::parse(
        "42 (my (odd)) name)) S 1 42 42 0 -1 4194560 100 0 7 0 250 30 0 0 20 0 3 0\n");
    REQUIRE(s);
    CHECK(s->comm() == "my (odd)) name)");
    CHECK(s->state() == 'S');
    CHECK(s->number(10) == 100u);  // minflt
    CHECK(s->number(12) == 7u);    // majflt
    CHECK(s->number(14) == 250u);  // utime
    CHECK(s->number(15) == 30u);   // stime
    CHECK(s->number(20) == 3u);    // num_threads
    CHECK_FALSE(s->number(8));     // tpgid -1: not an unsigned field
    CHECK_FALSE(s->number(39));    // beyond the line
    CHECK_FALSE(s->number(2));
    CHECK_FALSE(StatLine::parse("42 no parens S 1"));
    CHECK_FALSE(StatLine::parse("42 (x)"));
    CHECK_FALSE(StatLine::parse(""));
}

TEST_CASE("NUL-separated lists and status values", "[procinfo]")
{
    CHECK(split_nul(std::string("a\0b c\0\0d\0", 9)) ==
          std::vector<std::string>{"a", "b c", "", "d"});
    CHECK(split_nul(std::string("truncated", 9)) == std::vector<std::string>{"truncated"});
    CHECK(split_nul("").empty());
    const std::string status = "Name:\tx y\nThreads:\t4\nvoluntary_ctxt_switches:\t12  \n";
    CHECK(status_value(status, "Threads") == std::string("4"));
    CHECK(status_value(status, "Name") == std::string("x y"));
    CHECK(status_value(status, "voluntary_ctxt_switches") == std::string("12"));
    CHECK_FALSE(status_value(status, "Thread"));
}

TEST_CASE("maps lines: files, anonymous memory, and lines that do not parse", "[procinfo]")
{
    const auto maps = parse_maps("7f00-7f80 r-xp 00001000 08:01 1234  /usr/lib/libx.so\n"
                                 "7f80-7fa0 rw-p 00000000 00:00 0 \n"
                                 "zz-7fa0 r--p 0 00:00 0 [heap]\n"  // bad start address
                                 "1000-2000 r--p 0x10 00:00 0\n"    // bad offset
                                 "garbage\n"
                                 "\n"
                                 "ffff-1ffff r--p 00000000 00:00 0  [vdso]");
    REQUIRE(maps.size() == 3);
    CHECK(maps[0].start == 0x7f00);
    CHECK(maps[0].end == 0x7f80);
    CHECK(maps[0].offset == 0x1000);
    CHECK(maps[0].path == "/usr/lib/libx.so");
    CHECK(maps[0].file_backed);
    CHECK(maps[1].path.empty());
    CHECK_FALSE(maps[1].file_backed);
    CHECK(maps[2].path == "[vdso]");
    CHECK_FALSE(maps[2].file_backed);
    const auto self = read_maps(static_cast<int>(::getpid()));
    REQUIRE(self);
    CHECK_FALSE(self.value().empty());
    CHECK_FALSE(read_maps(-1));
}

TEST_CASE("a process sample of this process sees CPU, memory, fds and threads", "[procinfo]")
{
    const int pid = static_cast<int>(::getpid());
    const auto before = sample_process(pid);
    REQUIRE(before);
    CHECK(before->pid == pid);
    CHECK(before->threads >= 1);
    CHECK(before->rss_bytes > 0);
    REQUIRE(before->open_fds);  // our own fd directory is always readable
    CHECK(*before->open_fds >= 3);

    // 300 ms of CPU, 64 MiB touched, 10 more fds, one more thread
    burn_cpu_ms(300);
    constexpr std::size_t kBytes = 64u << 20;
    std::vector<char> memory(kBytes);
    for (std::size_t i = 0; i < kBytes; i += 4096)
        memory[i] = 1;
    std::vector<UniqueFd> fds;
    for (int i = 0; i < 10; ++i)
        fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    std::mutex m;
    std::condition_variable cv;
    bool release = false;
    std::thread extra([&] {
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return release; });
    });
    for (int i = 0; i < 5; ++i)  // voluntary switches
        std::this_thread::sleep_for(std::chrono::milliseconds(2));

    const auto after = sample_process(pid);
    {
        std::lock_guard<std::mutex> lock(m);
        release = true;
    }
    cv.notify_all();
    extra.join();
    REQUIRE(after);

    const SampleDelta d = sample_delta(*before, *after);
    INFO("cpu " << d.cpu_time_ms << " ms in " << d.interval_ms << " ms, rss +" << d.rss_delta_bytes
                << ", fds " << before->open_fds.value_or(0) << " -> "
                << after->open_fds.value_or(0));
    CHECK(d.cpu_time_ms >= 250);  // 300 ms, to a 10 ms tick, minus scheduling noise
    CHECK(d.cpu_time_ms <= 2000);
    CHECK(d.interval_ms >= d.cpu_time_ms * 0.9);
    CHECK(d.cpu_usage_percent > 20);
    CHECK(d.rss_delta_bytes >= static_cast<std::int64_t>(kBytes * 3 / 4));
    CHECK(*after->open_fds >= *before->open_fds + 10);
    CHECK(after->threads == before->threads + 1);
    CHECK(d.voluntary_ctxt_switches >= 5);
    CHECK(d.minor_faults >= kBytes / 4096 / 2);
    const auto tags = sample_tags(*after, d);
    const auto has = [&](const char* key) {
        return std::any_of(tags.begin(), tags.end(), [&](const Tag& t) { return t.key == key; });
    };
    CHECK(has("memory_usage"));
    CHECK(has("cpu_usage"));
    CHECK(memory[4096] == 1);
}

TEST_CASE("a vanished pid gives no sample and no exception", "[procinfo]")
{
    const int pid = vanished_pid();
    CHECK_FALSE(sample_process(pid));
    CHECK_FALSE(sample_process(0));
    CHECK_FALSE(sample_process(-1));
    CHECK_FALSE(read_command_line(pid));
    CHECK_FALSE(read_environment(pid, {"PATH"}));
    const auto j = environment_json(pid, {"PATH"});
    CHECK_FALSE(j.contains("command_line"));
    CHECK(j.contains("kernel_release"));
}

TEST_CASE("a zombie is gone for sampling", "[procinfo]")
{
    const pid_t child = ::fork();
    if (child == 0)
        ::_exit(0);
    // wait until it has exited, without reaping it
    siginfo_t info{};
    REQUIRE(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT) == 0);
    CHECK_FALSE(sample_process(child));
    int status = 0;
    ::waitpid(child, &status, 0);
}

TEST_CASE("the command line of this process", "[procinfo]")
{
    const auto argv = read_command_line(static_cast<int>(::getpid()));
    REQUIRE(argv);
    REQUIRE_FALSE(argv->empty());
    CHECK(argv->front().find("unit_tests") != std::string::npos);
}

TEST_CASE("only allow-listed environment variables are read", "[procinfo]")
{
    CHECK(environment_name_allowed("LC_TIME", {"LC_*"}));
    CHECK_FALSE(environment_name_allowed("LANG", {"LC_*"}));
    CHECK(environment_name_allowed("LANG", {"PATH", "LANG"}));
    CHECK_FALSE(environment_name_allowed("LANGUAGE", {"LANG"}));
    CHECK_FALSE(environment_name_allowed("X", {"*"}));  // refused by the config too

    const int self = static_cast<int>(::getpid());
    const char* path = std::getenv("PATH");
    const auto vars = read_environment(self, {"PATH", "NO_SUCH_VARIABLE_LSTRACE"});
    REQUIRE(vars);
    if (path) {
        REQUIRE(vars->size() == 1);
        CHECK(vars->front().first == "PATH");
    }
    for (const auto& [name, value] : *vars)
        CHECK(name == "PATH");
    const auto j = environment_json(self, {"PATH"});
    CHECK(j["command_line"].is_array());
    CHECK(j["environment"].is_object());
    CHECK(j["environment"].size() <= 1);
    CHECK_FALSE(j["hostname"].get<std::string>().empty());

    // no default name is one the redactor would hide: they would be useless
    const Redactor redactor;
    for (const auto& name : default_environment_allowlist())
        CHECK_FALSE(redactor.key_is_secret(name));
    CHECK(j["kernel_release"] == kernel_release());
}

TEST_CASE("secret-looking allow-listed variables and arguments are redacted", "[procinfo]")
{
    // a shell exec'd with a known environment and command line; it waits
    // for its stdin to close
    int ready[2], hold[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(hold) == 0);
    const pid_t child = ::fork();
    if (child == 0) {
        ::dup2(ready[1], 1);
        ::dup2(hold[0], 0);
        ::close(hold[1]);
        char* const argv[] = {const_cast<char*>("/bin/sh"),
                              const_cast<char*>("-c"),
                              const_cast<char*>("echo ok; read x"),
                              const_cast<char*>("sh"),
                              const_cast<char*>("--api_key=hunter2"),
                              const_cast<char*>("--token"),
                              const_cast<char*>("t0psecret"),
                              const_cast<char*>("-v"),
                              nullptr};
        char* const envp[] = {const_cast<char*>("OPENAI_API_KEY=sk-123"),
                              const_cast<char*>("LANG=C.UTF-8"),
                              const_cast<char*>("SECRET_STUFF=x"), nullptr};
        ::execve("/bin/sh", argv, envp);
        ::_exit(127);
    }
    ::close(ready[1]);
    ::close(hold[0]);
    char buf[8] = {};
    REQUIRE(::read(ready[0], buf, sizeof(buf)) >
            0);  // the shell runs: its cmdline and environ are final
    ::close(ready[0]);

    const Redactor redactor;
    const auto j = environment_json(static_cast<int>(child), {"OPENAI_API_KEY", "LANG"}, &redactor);
    const auto raw = environment_json(static_cast<int>(child), {"OPENAI_API_KEY", "LANG"});
    ::close(hold[1]);  // the shell's read ends
    int status = 0;
    ::waitpid(child, &status, 0);

    INFO(j.dump());
    CHECK(j["environment"]["LANG"] == "C.UTF-8");
    CHECK(j["environment"]["OPENAI_API_KEY"] == kRedacted);
    CHECK_FALSE(j["environment"].contains("SECRET_STUFF"));  // not allow-listed
    CHECK(raw["environment"]["OPENAI_API_KEY"] == "sk-123");
    CHECK(j["command_line"] == nlohmann::json{"/bin/sh", "-c", "echo ok; read x", "sh",
                                              "--api_key=[REDACTED]", "--token", "[REDACTED]",
                                              "-v"});
    CHECK(raw["command_line"][6] == "t0psecret");
    CHECK(raw.dump().find("hunter2") != std::string::npos);
}
