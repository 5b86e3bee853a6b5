// --follow: holding a followed process at exec until its new image is
// attached, in a way that can never leave it stopped.
//
// The followed processes are traced with ptrace (PTRACE_SEIZE, with
// TRACEFORK/VFORK/CLONE so that every new thread and child process is
// traced from birth, and TRACEEXEC).  An exec then stops the process in a
// ptrace event stop, after its new image is mapped and before its first
// instruction; the recorder attaches to the new image and continues it.
//
// Why ptrace and not SIGSTOP/SIGCONT (what BPF did before): a SIGSTOP is a
// group stop, which persists if the recorder dies before its SIGCONT (the
// program hangs for good) and which the program's parent sees through
// waitpid(WUNTRACED).  A ptrace stop is reported to the tracer only, and
// when the tracer exits, by any path including SIGKILL, the kernel detaches
// every tracee and wakes those in a ptrace stop (exit_ptrace() ->
// __ptrace_detach(); PTRACE_O_EXITKILL, which kills them instead, is
// deliberately not set).  A signal the tracee was about to receive is
// delivered after such a detach, not lost.
//
// The costs, documented in the README: while followed, every signal a
// process receives and every thread or process it creates passes through
// the recorder (a round trip of microseconds; the event loop services them
// on SIGCHLD); a process already under a debugger cannot be held (it is
// followed without the hold, with a warning); and a program of the family
// cannot itself ptrace its descendants while it is recorded.
//
// All ptrace requests come from the thread that seized the tracees (the
// kernel's rule): the recorder's main thread.
#pragma once

#include <functional>
#include <set>

namespace lstrace {

class ExecHold {
public:
    // `on_exec(pid)`: the process has exec'd and is held; return to let it
    // run.  `on_exit(pid, status)`: a tracee was reaped (status as from
    // waitpid); the recorder's own launched command is reaped here too.
    ExecHold(std::function<void(int)> on_exec, std::function<void(int, int)> on_exit);
    // Detaches from every tracee: each one runs on.
    ~ExecHold();
    ExecHold(const ExecHold&) = delete;
    ExecHold& operator=(const ExecHold&) = delete;

    // The ptrace options of a followed process (for launch_stopped()).
    static long options();

    // Follows an existing process: seizes each of its threads.  False (and
    // errno set) when the kernel refuses, e.g. it is under a debugger.
    bool seize_process(int pid);

    // A tracee this thread seized elsewhere (a launched command, held at its
    // first exec): continues it and follows it from now on.
    void adopt_held(int pid);

    // Handles every pending ptrace stop and exit; call on SIGCHLD.
    void service();

    // Detaches from every tracee now (the end of a recording).
    void release_all() noexcept;

    // Whether `pid`'s main thread is traced (its exec will be held).
    bool holds(int pid) const { return tracees_.count(pid) > 0; }

private:
    void resume(int tid, int status);

    std::function<void(int)> on_exec_;
    std::function<void(int, int)> on_exit_;
    std::set<int> tracees_;  // thread ids
};

}  // namespace lstrace
