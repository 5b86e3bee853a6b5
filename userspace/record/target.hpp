// The processes being traced: an existing one (-p) or a command we launch.
//
// A launched command is seized with ptrace before its execve, so the kernel
// stops it right after: its executable is mapped, none of its code has
// run, and the probes can be attached before its first span.  Then it is
// released with PTRACE_DETACH and runs untraced by ptrace (or, with
// --follow, stays traced: see record/exec_hold.hpp).  It dies with the
// recorder (PR_SET_PDEATHSIG), so even a SIGKILLed recorder leaves nothing
// behind.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"

namespace lstrace {

struct TracedProcess {
    int pid = -1;
    std::string binary;  // what libbpf attaches to: /proc/PID/exe
    UniqueFd pidfd;      // readable once the process has exited
    bool launched = false;
    // A launched command reaped by the --follow ptrace loop: its waitpid status.
    std::optional<int> reaped_status;
    // The files whose langswarm probes get attached: the executable and/or
    // shared libraries (filled by find_probe_objects)
    std::vector<std::string> probe_objects;
};

// Throws FatalError(no_target) when the PID does not exist.
TracedProcess open_existing_process(int pid);

// Starts `command` (PATH is searched) stopped after exec, seized by the
// calling thread with `ptrace_options` (plus PTRACE_O_TRACEEXEC).  Throws
// FatalError(no_target) when it cannot be executed.
TracedProcess launch_stopped(const std::vector<std::string>& command, long ptrace_options);

// Lets a launched process run, no longer traced by ptrace.
void resume_launched(const TracedProcess& process);

// Finds the langswarm probes of the process: in its executable and in the
// shared libraries it maps (or, launched, is about to load).  Throws
// FatalError(no_probes), listing the probes the executable does have, when
// there are none, or when a file carries an incompatible set.
// `stopped_at_exec`: the process is stopped right after execve (launched,
// or followed), so its libraries are the ones its loader will map.
void find_probe_objects(TracedProcess& process, bool stopped_at_exec);

// Reaps a launched child that has exited; returns "exit status N" or
// "killed by signal SIGNAME" (describe_wait_status).
std::string reap_launched(const TracedProcess& process);

bool process_exited(const TracedProcess& process);

}  // namespace lstrace
