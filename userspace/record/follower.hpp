// --follow: the children of traced processes are traced too.
//
// BPF adds a traced process's new child to its filter at fork (before the
// child runs) and reports it; the probes are attached once per file for
// every process, so a child running its parent's code is covered at once.
// A traced process that execs is stopped by BPF (SIGSTOP, before its first
// user instruction); the follower attaches to the probes of its new image
// and libraries, then lets it continue with SIGCONT.
#pragma once

#include <cstddef>
#include <vector>

#include "record/bpf_session.hpp"
#include "record/target.hpp"

namespace lstrace {

class Follower {
public:
    Follower(BpfSession& bpf, std::vector<TracedProcess>& targets)
        : bpf_(bpf), targets_(targets)
    {
    }

    // Handles fork and exec events; false for any other event.
    bool consume(const void* data, std::size_t size);

private:
    void on_fork(int child);
    void on_exec(int pid);

    BpfSession& bpf_;
    std::vector<TracedProcess>& targets_;
};

}  // namespace lstrace
