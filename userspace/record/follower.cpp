#include "record/follower.hpp"

#include <signal.h>

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "base/errors.hpp"
#include "lstrace_abi.h"

namespace lstrace {

bool Follower::consume(const void* data, std::size_t size)
{
    lstrace_process_event e;
    if (size < sizeof(lstrace_event_header))
        return false;
    std::memcpy(&e.hdr, data, sizeof(e.hdr));
    if (e.hdr.type != LSTRACE_EV_PROCESS_FORK && e.hdr.type != LSTRACE_EV_PROCESS_EXEC)
        return false;
    if (size < sizeof(e))
        return true;  // malformed: ours to drop, not the correlator's
    std::memcpy(&e, data, sizeof(e));
    if (e.hdr.type == LSTRACE_EV_PROCESS_FORK)
        on_fork(static_cast<int>(e.hdr.tgid));
    else
        on_exec(static_cast<int>(e.hdr.tgid));
    return true;
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

void Follower::on_exec(int pid)
{
    try {
        TracedProcess image = open_existing_process(pid);
        find_probe_objects(image, /*stopped_at_exec=*/true);
        for (const std::string& object : image.probe_objects)
            bpf_.attach_process(pid, object);
        spdlog::debug("process {} exec'd; {} probe objects attached", pid,
                      image.probe_objects.size());
        const bool known = std::any_of(targets_.begin(), targets_.end(),
                                       [&](const TracedProcess& t) { return t.pid == pid; });
        if (!known)
            targets_.push_back(std::move(image));
    } catch (const FatalError& e) {
        // a new image without langswarm probes: nothing to attach
        spdlog::debug("process {} exec'd: {}", pid, e.what());
    }
    ::kill(pid, SIGCONT);
}

}  // namespace lstrace
