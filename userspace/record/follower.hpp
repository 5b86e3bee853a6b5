// --follow: the children of traced processes are traced too.
//
// BPF adds a traced process's new child to its filter at fork (before the
// child runs) and reports it; the probes are attached once per file for
// every process, so a child running its parent's code is covered at once.
// A traced process that execs is held by ptrace before its first user
// instruction (record/exec_hold.hpp: a hold that the program's parent
// cannot see and that a dying recorder cannot leave behind); the follower
// attaches to the probes of its new image and libraries, then lets it run.
// A new image that cannot be attached is a counted warning, never a stop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "record/bpf_session.hpp"
#include "record/exec_hold.hpp"
#include "record/target.hpp"

namespace lstrace {

class Follower {
public:
    Follower(BpfSession& bpf, std::vector<TracedProcess>& targets);

    // Handles BPF's fork and exec events; false for any other event and for
    // exec (which the correlator needs too).
    bool consume(const void* data, std::size_t size);

    // Holds the execs of `pid` and of its descendants from now on.
    void hold_execs_of(int pid);

    // The ptrace side: launch_stopped() options, adopting the launched
    // command, SIGCHLD servicing, and letting everything go at the end.
    ExecHold& hold() { return hold_; }

    // New images whose probes could not be attached.
    std::uint64_t failed_attaches() const { return failed_attaches_; }

private:
    void on_fork(int child);
    void on_exec_event(int pid);
    void attach_image(int pid);
    void on_exit(int pid, int status);

    BpfSession& bpf_;
    std::vector<TracedProcess>& targets_;
    ExecHold hold_;
    std::uint64_t failed_attaches_ = 0;
};

}  // namespace lstrace
