#include "record/follower.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "base/errors.hpp"
#include "lstrace_abi.h"

namespace lstrace {

Follower::Follower(BpfSession& bpf, std::vector<TracedProcess>& targets)
    : bpf_(bpf),
      targets_(targets),
      hold_([this](int pid) { attach_image(pid); },
            [this](int pid, int status) { on_exit(pid, status); })
{}

bool Follower::consume(const void* data, std::size_t size)
{
    lstrace_process_event e;
    if (size < sizeof(lstrace_event_header))
        return false;
    std::memcpy(&e.hdr, data, sizeof(e.hdr));
    if (e.hdr.type != LSTRACE_EV_PROCESS_FORK && e.hdr.type != LSTRACE_EV_PROCESS_EXEC)
        return false;
    if (size < sizeof(e))
        return e.hdr.type == LSTRACE_EV_PROCESS_FORK;  // malformed: the correlator counts an exec
    std::memcpy(&e, data, sizeof(e));
    if (e.hdr.type == LSTRACE_EV_PROCESS_FORK) {
        on_fork(static_cast<int>(e.hdr.tgid));
        return true;
    }
    on_exec_event(static_cast<int>(e.hdr.tgid));
    return false;  // the correlator ends the old image's open spans
}

void Follower::hold_execs_of(int pid)
{
    if (!hold_.seize_process(pid))
        spdlog::warn("cannot hold PID {} at exec ({}): a program it execs is attached only once "
                     "it runs, and may miss its first spans",
                     pid, std::strerror(errno));
}

void Follower::on_fork(int child)
{
    try {
        targets_.push_back(open_existing_process(child));
        spdlog::debug("following child process {}", child);
    } catch (const FatalError& e) {
        // gone already: its spans (if any) were still recorded through BPF
        spdlog::debug("child {} exited before it could be followed: {}", child, e.what());
    }
}

void Follower::on_exec_event(int pid)
{
    const bool known = std::any_of(targets_.begin(), targets_.end(),
                                   [&](const TracedProcess& t) { return t.pid == pid; });
    if (!known)
        on_fork(pid);
    // A process ptrace holds is attached at its exec stop; one that could
    // not be held (under a debugger) is attached now, late.
    if (!hold_.holds(pid))
        attach_image(pid);
}

void Follower::attach_image(int pid)
{
    try {
        TracedProcess image = open_existing_process(pid);
        find_probe_objects(image, /*stopped_at_exec=*/true);
        for (const std::string& object : image.probe_objects)
            bpf_.attach_process(pid, object);
        spdlog::debug("process {} exec'd; {} probe objects attached", pid,
                      image.probe_objects.size());
    } catch (const FatalError& e) {
        if (e.code() == ExitCode::no_probes || e.code() == ExitCode::no_target) {
            // a new image without langswarm probes, or a process gone already
            spdlog::debug("process {} exec'd: {}", pid, e.what());
            return;
        }
        ++failed_attaches_;
        spdlog::warn("process {} exec'd but is not traced: {}", pid, e.what());
    }
}

void Follower::on_exit(int pid, int status)
{
    for (TracedProcess& t : targets_)
        if (t.pid == pid && t.launched)
            t.reaped_status = status;
}

}  // namespace lstrace
