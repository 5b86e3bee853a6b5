#include "record/exec_hold.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "base/proc_files.hpp"

namespace lstrace {
namespace {

int ptrace_event(int status)
{
    return status >> 16;
}

bool is_group_stop(int status)
{
    const int sig = WSTOPSIG(status);
    return ptrace_event(status) == PTRACE_EVENT_STOP &&
           (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU);
}

// The signal a stop was about to deliver (0 for event stops).
long pending_signal(int status)
{
    return ptrace_event(status) == 0 ? WSTOPSIG(status) : 0;
}

bool creates_tracee(int status)
{
    const int event = ptrace_event(status);
    return event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE;
}

}  // namespace

ExecHold::ExecHold(std::function<void(int)> on_exec, std::function<void(int, int)> on_exit)
    : on_exec_(std::move(on_exec)), on_exit_(std::move(on_exit))
{}

ExecHold::~ExecHold()
{
    release_all();
}

long ExecHold::options()
{
    return PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC;
}

bool ExecHold::seize_process(int pid)
{
    // Threads started by a seized thread are traced from birth; threads
    // started meanwhile by one not yet seized turn up in the next pass.
    for (bool found_new = true; found_new;) {
        found_new = false;
        const auto tasks = list_proc_dir(proc_dir(pid) + "/task");
        if (!tasks)
            return false;
        for (const std::string& name : *tasks) {
            const int tid = std::atoi(name.c_str());
            if (tid <= 0 || tracees_.count(tid))
                continue;
            if (::ptrace(PTRACE_SEIZE, tid, nullptr, reinterpret_cast<void*>(options())) == 0) {
                tracees_.insert(tid);
                found_new = true;
            } else if (tid == pid) {
                return false;
            }
            // else: the thread exited, or was traced from birth already
        }
    }
    return true;
}

void ExecHold::adopt_held(int pid)
{
    tracees_.insert(pid);
    if (::ptrace(PTRACE_CONT, pid, nullptr, nullptr) != 0)
        spdlog::warn("cannot continue PID {}: {}", pid, std::strerror(errno));
}

void ExecHold::resume(int tid, int status)
{
    if (ptrace_event(status) == PTRACE_EVENT_EXEC) {
        try {
            on_exec_(tid);  // after exec the thread id is the process id
        } catch (const std::exception& e) {
            spdlog::warn("PID {} exec'd: {}", tid, e.what());
        }
    } else if (creates_tracee(status)) {
        unsigned long child = 0;
        if (::ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &child) == 0 && child > 0)
            tracees_.insert(static_cast<int>(child));
    } else if (is_group_stop(status)) {
        // The program's own job-control stop: it stays stopped until its
        // SIGCONT, as it would untraced, but ptrace still reports events.
        ::ptrace(PTRACE_LISTEN, tid, nullptr, nullptr);
        return;
    }
    // A new tracee's first stop, an event stop, or a signal to deliver.
    if (::ptrace(PTRACE_CONT, tid, nullptr, reinterpret_cast<void*>(pending_signal(status))) != 0 &&
        errno != ESRCH)
        spdlog::warn("cannot continue thread {}: {}", tid, std::strerror(errno));
}

void ExecHold::service()
{
    for (;;) {
        int status = 0;
        const pid_t tid = ::waitpid(-1, &status, WNOHANG | __WALL);
        if (tid <= 0)
            return;  // nothing pending (0) or no tracees left (ECHILD)
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            tracees_.erase(tid);
            on_exit_(tid, status);
        } else if (WIFSTOPPED(status)) {
            tracees_.insert(tid);
            resume(tid, status);
        }
    }
}

void ExecHold::release_all() noexcept
{
    // PTRACE_DETACH needs a stopped tracee: interrupt each, then detach it
    // at the stop it reports, delivering the signal it was stopped for.
    for (auto it = tracees_.begin(); it != tracees_.end();) {
        if (::ptrace(PTRACE_INTERRUPT, *it, nullptr, nullptr) != 0 && errno == ESRCH)
            it = tracees_.erase(it);
        else
            ++it;
    }
    // A tracee in uninterruptible sleep may not stop soon: what is left when
    // the deadline passes is detached by the kernel when the recorder exits.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!tracees_.empty() && std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        const pid_t tid = ::waitpid(-1, &status, WNOHANG | __WALL);
        if (tid < 0)
            break;
        if (tid == 0) {
            ::usleep(1000);
            continue;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            tracees_.erase(tid);
            on_exit_(tid, status);
            continue;
        }
        if (!WIFSTOPPED(status))
            continue;
        if (creates_tracee(status)) {
            unsigned long child = 0;
            if (::ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &child) == 0 && child > 0)
                tracees_.insert(static_cast<int>(child));
        }
        ::ptrace(PTRACE_DETACH, tid, nullptr, reinterpret_cast<void*>(pending_signal(status)));
        tracees_.erase(tid);
    }
    if (!tracees_.empty())
        spdlog::debug("{} threads still traced at the end; the kernel detaches them at exit",
                      tracees_.size());
    tracees_.clear();
}

}  // namespace lstrace
