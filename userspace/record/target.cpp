#include "record/target.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/errors.hpp"
#include "base/proc_files.hpp"
#include "base/wait_status.hpp"
#include "record/python_extension.hpp"
#include "usdt/probe_notes.hpp"
#include "usdt/probe_objects.hpp"

namespace lstrace {
namespace {

UniqueFd pidfd_open(int pid)
{
    return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

std::string exe_link(int pid)
{
    return proc_dir(pid) + "/exe";
}

std::string join(const std::vector<std::string>& items, const char* sep)
{
    std::string out;
    for (const std::string& s : items)
        out += (out.empty() ? "" : sep) + s;
    return out;
}

}  // namespace

TracedProcess open_existing_process(int pid)
{
    TracedProcess p;
    p.pid = pid;
    p.pidfd = pidfd_open(pid);
    if (!p.pidfd.valid()) {
        if (errno == ESRCH)
            throw FatalError(ExitCode::no_target, "no process with PID " + std::to_string(pid));
        throw FatalError(ExitCode::no_target,
                         "cannot open PID " + std::to_string(pid) + ": " + std::strerror(errno));
    }
    p.binary = exe_link(pid);
    if (::access(p.binary.c_str(), R_OK) != 0) {
        // EACCES/EPERM: it exists, we may not look (no CAP_SYS_PTRACE)
        const bool denied = errno == EACCES || errno == EPERM;
        throw FatalError(denied ? ExitCode::permission : ExitCode::no_target,
                         "cannot read the executable of PID " + std::to_string(pid) + " (" +
                             p.binary + "): " + std::strerror(errno) +
                             (denied ? " (attaching needs CAP_SYS_PTRACE)" : ""));
    }
    return p;
}

TracedProcess launch_stopped(const std::vector<std::string>& command, long ptrace_options)
{
    int err_pipe[2], go_pipe[2];
    if (::pipe2(err_pipe, O_CLOEXEC) != 0 || ::pipe2(go_pipe, O_CLOEXEC) != 0)
        throw InternalError(std::string("pipe2: ") + std::strerror(errno));
    UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
    UniqueFd go_read(go_pipe[0]), go_write(go_pipe[1]);

    std::vector<char*> argv;
    for (const std::string& a : command)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    const pid_t recorder = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0)
        throw InternalError(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        // Never left behind: a recorder that dies, even by SIGKILL, takes
        // the command with it (checked after the prctl: it may have died
        // already).
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != recorder)
            ::_exit(127);
        // The recorder blocks its stop signals for signalfd; the command
        // must start with the default mask.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);  // the recorder ignores it; exec keeps ignored signals
        // Wait until the recorder has seized us, so that the exec stops.
        go_write.reset();
        err_read.reset();
        char go = 0;
        if (::read(go_read.get(), &go, 1) != 1)
            ::_exit(127);
        ::execvp(argv[0], argv.data());
        const int e = errno;
        (void)!::write(err_write.get(), &e, sizeof(e));
        ::_exit(127);
    }
    err_write.reset();
    go_read.reset();
    const auto give_up = [&] {
        ::kill(pid, SIGKILL);
        int ignored = 0;
        ::waitpid(pid, &ignored, __WALL);
    };
    // PTRACE_SEIZE (not TRACEME): its stops are reported to the recorder
    // only, and the options make the exec stop in PTRACE_EVENT_EXEC.
    if (::ptrace(PTRACE_SEIZE, pid, nullptr,
                 reinterpret_cast<void*>(ptrace_options | PTRACE_O_TRACEEXEC)) != 0) {
        const int e = errno;  // e.g. Yama ptrace_scope=3
        give_up();
        throw FatalError(ExitCode::permission, "cannot start '" + command.front() +
                                                   "' stopped for attaching: PTRACE_SEIZE "
                                                   "failed (" +
                                                   std::strerror(e) +
                                                   "); start it yourself and use -p PID");
    }
    const char go = 1;
    if (::write(go_write.get(), &go, 1) != 1) {
        const int e = errno;
        give_up();
        throw InternalError(std::string("write: ") + std::strerror(e));
    }
    go_write.reset();

    // Wait for the exec stop; a signal that reaches the child before it is
    // passed on.
    int status = 0;
    for (;;) {
        if (::waitpid(pid, &status, __WALL) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (!WIFSTOPPED(status) || status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8)))
            break;
        const long sig = status >> 16 == 0 ? WSTOPSIG(status) : 0;
        ::ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(sig));
    }
    if (!WIFSTOPPED(status)) {
        int child_errno = 0;
        const bool got = ::read(err_read.get(), &child_errno, sizeof(child_errno)) ==
                         static_cast<ssize_t>(sizeof(child_errno));
        throw FatalError(ExitCode::no_target,
                         "cannot execute '" + command.front() +
                             "': " + (got ? std::strerror(child_errno) : "it exited at once"));
    }
    TracedProcess p;
    p.pid = pid;
    p.launched = true;
    p.binary = exe_link(pid);
    p.pidfd = pidfd_open(pid);
    if (!p.pidfd.valid()) {
        const int e = errno;
        give_up();
        throw InternalError(std::string("pidfd_open: ") + std::strerror(e));
    }
    return p;
}

void resume_launched(const TracedProcess& process)
{
    if (::ptrace(PTRACE_DETACH, process.pid, nullptr, nullptr) != 0)
        throw InternalError(std::string("cannot resume the launched command: ") +
                            std::strerror(errno));
}

namespace {

// Whether `path` carries langswarm probes; throws when it carries an
// incompatible set (missing probes, no semaphores) that could never record.
bool has_usable_probes(const std::string& path, const std::vector<usdt::ProbeNote>& notes, int pid)
{
    const auto langswarm = usdt::probe_names(notes, usdt::kProvider);
    if (langswarm.empty())
        return false;
    std::vector<std::string> missing;
    for (const char* probe : usdt::kRequiredProbes)
        if (!std::binary_search(langswarm.begin(), langswarm.end(),
                                std::string(usdt::kProvider) + ":" + probe))
            missing.push_back(std::string(usdt::kProvider) + ":" + probe);
    if (!missing.empty())
        throw FatalError(ExitCode::no_probes, path + " (PID " + std::to_string(pid) + ") lacks " +
                                                  join(missing, ", ") +
                                                  ": it was built with an incompatible lstrace "
                                                  "header");
    const bool all_have_semaphores = std::all_of(
        notes.begin(), notes.end(),
        [](const usdt::ProbeNote& n) { return n.provider != usdt::kProvider || n.semaphore != 0; });
    if (!all_have_semaphores)
        throw FatalError(ExitCode::no_probes,
                         path + " (PID " + std::to_string(pid) +
                             ") has langswarm probes without USDT semaphores: it included "
                             "<sys/sdt.h> before <lstrace/lstrace.h>, so recording could never "
                             "be enabled");
    return true;
}

std::string real_path(const std::string& link)
{
    char target[4096];
    const ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
    return n > 0 ? std::string(target, static_cast<std::size_t>(n)) : link;
}

}  // namespace

void find_probe_objects(TracedProcess& process, bool stopped_at_exec)
{
    auto exe_notes = usdt::read_probe_notes(process.binary);
    if (!exe_notes)
        throw FatalError(ExitCode::no_probes, "cannot read probes of PID " +
                                                  std::to_string(process.pid) + ": " +
                                                  exe_notes.error().message);
    const std::string exe_path = real_path(process.binary);
    process.probe_objects.clear();
    if (has_usable_probes(exe_path, exe_notes.value(), process.pid))
        process.probe_objects.push_back(process.binary);

    // Shared libraries: those mapped now, or, for a command stopped right
    // after exec, those its loader is about to map (uprobes on a file take
    // effect when it is mapped).
    auto libs =
        stopped_at_exec ? usdt::needed_libraries(exe_path) : usdt::mapped_files(process.pid);
    std::size_t lib_count = 0;
    if (libs) {
        for (const std::string& lib : libs.value()) {
            if (lib == exe_path)
                continue;
            ++lib_count;
            auto notes = usdt::read_probe_notes(lib);
            if (notes && has_usable_probes(lib, notes.value(), process.pid))
                process.probe_objects.push_back(lib);
        }
    } else {
        spdlog::warn("cannot list the libraries of PID {}: {}", process.pid, libs.error().message);
    }
    // A Python program's probes arrive with the lstrace extension, which it
    // dlopen()s only when it imports lstrace (record/python_extension.hpp).
    const bool python = is_python_interpreter(exe_path);
    if (python && stopped_at_exec) {
        for (const std::string& ext : python_extension_candidates(process.pid, exe_path)) {
            auto notes = usdt::read_probe_notes(ext);
            if (notes && has_usable_probes(ext, notes.value(), process.pid)) {
                spdlog::debug("PID {}: probes of the Python extension {}", process.pid, ext);
                process.probe_objects.push_back(ext);
            }
        }
    }
    if (!process.probe_objects.empty())
        return;
    const auto others = usdt::probe_names(exe_notes.value());
    throw FatalError(ExitCode::no_probes,
                     exe_path + " (PID " + std::to_string(process.pid) +
                         ") has no langswarm probes, nor do its " + std::to_string(lib_count) +
                         " libraries; " +
                         (others.empty() ? std::string("it has no USDT probes at all")
                                         : "its USDT probes are: " + join(others, ", ")) +
                         (python ? std::string("; a Python program gets them from the lstrace "
                                               "package, which was not found on its path (or, "
                                               "attached with -p, it has not imported it yet): "
                                               "see docs/python.md")
                                 : std::string()));
}

bool process_exited(const TracedProcess& process)
{
    pollfd pfd{process.pidfd.get(), POLLIN, 0};
    return ::poll(&pfd, 1, 0) > 0;
}

std::string reap_launched(const TracedProcess& process)
{
    int status = process.reaped_status.value_or(0);
    if (!process.reaped_status && ::waitpid(process.pid, &status, 0) != process.pid)
        return "status unknown";
    return describe_wait_status(status);
}

}  // namespace lstrace
