// Tier 2 (root): bad input gets one clear line on stderr, its documented
// non-zero exit code, no trace file, and no crash.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "checks.hpp"
#include "process_helpers.hpp"

using namespace lstrace::test;

namespace {

// Exit codes documented in the README and `lstrace-bpf --help`.
constexpr int kUsage = 2, kPermission = 3, kNoTarget = 4, kNoProbes = 5, kOutput = 7;

int unused_pid()
{
    for (int pid = 3999999; pid > 1000; --pid)
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return pid;
    return 3999999;
}

bool no_leftovers(const TempDir& tmp)
{
    for (const auto& entry : std::filesystem::directory_iterator(tmp.path("")))
        if (entry.path().filename().string().rfind("trace.jsonl", 0) == 0)
            return false;
    return true;
}

}  // namespace

TEST_CASE("a PID that does not exist", "[root][bad-input]")
{
    TempDir tmp;
    RunResult r = run(
        {LSTRACE_BIN, "record", "-p", std::to_string(unused_pid()), "-o", tmp.path("trace.jsonl")});
    CHECK(r.exit_code == kNoTarget);
    check_one_line_error(r, "no process with PID");
    CHECK(no_leftovers(tmp));
}

TEST_CASE("a running process without langswarm probes", "[root][bad-input]")
{
    TempDir tmp;
    const pid_t pid = spawn({NO_PROBES_BIN});
    usleep(50 * 1000);
    RunResult r =
        run({LSTRACE_BIN, "record", "-p", std::to_string(pid), "-o", tmp.path("trace.jsonl")});
    kill(pid, SIGKILL);
    wait_for(pid, 5);
    CHECK(r.exit_code == kNoProbes);
    check_one_line_error(r, "has no langswarm probes");
    CHECK(no_leftovers(tmp));
}

TEST_CASE("launching a command without langswarm probes", "[root][bad-input]")
{
    TempDir tmp;
    RunResult r =
        run({LSTRACE_BIN, "record", "-o", tmp.path("trace.jsonl"), "--", NO_PROBES_BIN}, 20);
    CHECK(r.exit_code == kNoProbes);  // and quickly: the command was killed, not waited for
    check_one_line_error(r, "has no langswarm probes");
    CHECK(no_leftovers(tmp));
}

TEST_CASE("launching a command that does not exist", "[root][bad-input]")
{
    TempDir tmp;
    RunResult r =
        run({LSTRACE_BIN, "record", "-o", tmp.path("trace.jsonl"), "--", "/nonexistent/command"});
    CHECK(r.exit_code == kNoTarget);
    check_one_line_error(r, "cannot execute '/nonexistent/command'");
    CHECK(no_leftovers(tmp));
}

TEST_CASE("an unknown flag", "[root][bad-input]")
{
    RunResult r = run({LSTRACE_BIN, "record", "--frobnicate", "-p", "1"});
    CHECK(r.exit_code == kUsage);
    check_one_line_error(r, "--frobnicate");
}

TEST_CASE("an output file that cannot be written", "[root][bad-input]")
{
    RunResult r = run({LSTRACE_BIN, "record", "-o", "/nonexistent/dir/trace.jsonl", "--",
                       WORKLOADS_BIN, "threads", "/dev/null"});
    CHECK(r.exit_code == kOutput);
    check_one_line_error(r, "/nonexistent/dir/trace.jsonl");
}

TEST_CASE("not root", "[root][bad-input]")
{
    // A copy the unprivileged user can execute wherever the build tree is.
    TempDir tmp;
    const std::string bin = tmp.path("lstrace-bpf");
    std::filesystem::copy_file(LSTRACE_BIN, bin);
    chmod(bin.c_str(), 0755);
    RunResult r = run({bin, "record", "-p", "1", "-o", tmp.path("trace.jsonl")}, 20, 65534);
    CHECK(r.exit_code == kPermission);
    check_one_line_error(r, "needs root");
    CHECK(no_leftovers(tmp));
}

TEST_CASE("summary of a malformed trace file", "[bad-input]")
{
    TempDir tmp;
    const std::string path = tmp.path("bad.jsonl");
    write_text(path, "{\"component\":\"a\",\"operation\":\"b\",\"duration_ms\":1}\nnot json\n");
    RunResult r = run({LSTRACE_BIN, "summary", path});
    CHECK(r.exit_code == 8);
    check_one_line_error(r, "line 2: invalid JSON");
    RunResult missing = run({LSTRACE_BIN, "summary", tmp.path("missing.jsonl")});
    CHECK(missing.exit_code == kNoTarget);
    check_one_line_error(missing, "cannot open");
}

TEST_CASE("a full disk mid-recording: exit 7, the launched command killed", "[root][bad-input]")
{
    TempDir tmp;
    const std::string dir = tmp.path("full");
    REQUIRE(mkdir(dir.c_str(), 0755) == 0);
    REQUIRE(mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=64k") == 0);
    const std::string marker = tmp.path("still-running-marker");
    RunResult r = run(
        {LSTRACE_BIN, "record", "-o", dir + "/trace.jsonl", "--", WORKLOADS_BIN, "loop", marker});
    // the loop never ends by itself: only the recorder's cleanup can stop it
    const bool orphan_left = wait_for_file(marker + ".ready", 0) &&
                             std::system(("pgrep -f '" + marker + "' >/dev/null").c_str()) == 0;
    std::system(("pkill -KILL -f '" + marker + "'").c_str());
    const bool final_absent = !std::filesystem::exists(dir + "/trace.jsonl");
    umount2(dir.c_str(), MNT_DETACH);
    CHECK(r.exit_code == kOutput);
    check_one_line_error(r, "No space left on device");
    CHECK_FALSE(orphan_left);
    CHECK(final_absent);  // what was written is kept as NAME.PID.partial: test_output_files.cpp
}

TEST_CASE("an existing trace file is not replaced without --force", "[root][bad-input]")
{
    TempDir tmp;
    const std::string path = tmp.path("trace.jsonl");
    write_text(path, "precious\n");
    RunResult r = run({LSTRACE_BIN, "record", "-o", path, "--", C_SPANS_BIN});
    CHECK(r.exit_code == kOutput);
    check_one_line_error(r, "exists (use --force");
    CHECK(read_text(path) == "precious\n");

    RunResult forced = run({LSTRACE_BIN, "record", "--force", "-o", path, "--", C_SPANS_BIN});
    CHECK(forced.exit_code == 0);
    CHECK(read_spans(path).size() == 2);
}

TEST_CASE("a kernel without BTF is a clear error", "[root][bad-input]")
{
    TempDir tmp;
    RunResult r = run({LSTRACE_BIN, "record", "--btf", "/nonexistent/vmlinux", "-o",
                       tmp.path("trace.jsonl"), "--", C_SPANS_BIN});
    CHECK(r.exit_code == 9);
    check_one_line_error(r, "no kernel BTF at /nonexistent/vmlinux");
    CHECK(no_leftovers(tmp));
}

TEST_CASE("root without CAP_BPF and CAP_PERFMON", "[root][bad-input]")
{
    TempDir tmp;
    RunResult r = run({"/usr/bin/setpriv", "--bounding-set", "-bpf,-perfmon,-sys_admin",
                       "--inh-caps", "-bpf,-perfmon,-sys_admin", LSTRACE_BIN, "record", "-o",
                       tmp.path("trace.jsonl"), "--", C_SPANS_BIN});
    CHECK(r.exit_code == kPermission);
    check_one_line_error(r, "needs CAP_BPF and CAP_PERFMON");
    CHECK(no_leftovers(tmp));
}

TEST_CASE("a process root may not look into is not permitted (3), not missing (4)",
          "[root][bad-input]")
{
    TempDir tmp;
    // without CAP_SYS_PTRACE, /proc/1/exe of init (whose capabilities are not
    // a subset of ours) is EACCES
    RunResult r =
        run({"/usr/bin/setpriv", "--bounding-set", "-sys_ptrace", "--inh-caps", "-sys_ptrace",
             LSTRACE_BIN, "record", "-p", "1", "-o", tmp.path("trace.jsonl")});
    CHECK(r.exit_code == kPermission);
    check_one_line_error(r, "CAP_SYS_PTRACE");
    CHECK(no_leftovers(tmp));
}

TEST_CASE("bad config and trace files: missing, unreadable, endless", "[bad-input]")
{
    TempDir tmp;
    RunResult missing = run({LSTRACE_BIN, "record", "--config", tmp.path("none.json"), "-p", "1"});
    CHECK(missing.exit_code == kNoTarget);
    check_one_line_error(missing, "No such file or directory");
    // /dev/zero has no end and no newline: refused within bounded memory
    RunResult zero_config = run({"/usr/bin/prlimit", "--as=1073741824", LSTRACE_BIN, "record",
                                 "--config", "/dev/zero", "-p", "1"});
    CHECK(zero_config.exit_code == kUsage);
    check_one_line_error(zero_config, "larger than 1024 KiB");
    RunResult zero_trace =
        run({"/usr/bin/prlimit", "--as=1073741824", LSTRACE_BIN, "summary", "/dev/zero"});
    CHECK(zero_trace.exit_code == 8);
    check_one_line_error(zero_trace, "line 1 is longer than 16 MiB");
    RunResult zero_analyze =
        run({"/usr/bin/prlimit", "--as=1073741824", LSTRACE_BIN, "analyze", "/dev/zero"});
    CHECK(zero_analyze.exit_code == 8);
    check_one_line_error(zero_analyze, "line 1 is longer than 16 MiB");
    RunResult no_such = run({LSTRACE_BIN, "summary", tmp.path("none.jsonl")});
    CHECK(no_such.exit_code == kNoTarget);
    check_one_line_error(no_such, "cannot open " + tmp.path("none.jsonl") + ": No such file");
    // unreadable: the reason is in the message
    const std::string bin = tmp.path("lstrace-bpf");
    std::filesystem::copy_file(LSTRACE_BIN, bin);
    chmod(bin.c_str(), 0755);
    const std::string secret = tmp.path("root-only.jsonl");
    write_text(secret, "{}\n");
    chmod(secret.c_str(), 0600);
    RunResult denied = run({bin, "summary", secret}, 20, 65534);
    CHECK(denied.exit_code == kNoTarget);
    check_one_line_error(denied, "cannot open " + secret + ": Permission denied");
}
