// The fatal error types, caught in main, and the documented exit codes
// (README "Exit codes" lists the same table).
#pragma once

#include <stdexcept>
#include <string>

namespace lstrace {

enum class ExitCode : int {
    ok = 0,
    internal = 1,     // unexpected failure (a bug, or the system ran out of something)
    usage = 2,        // bad command line
    permission = 3,   // not root / missing capabilities
    no_target = 4,    // PID does not exist, command cannot be executed
    no_probes = 5,    // the target has no langswarm probes
    bpf = 6,          // BPF object could not be loaded or attached
    output = 7,       // the output file cannot be written
    bad_input = 8,    // an input file (trace) is malformed
    no_btf = 9,       // the kernel exposes no BTF (and no --btf was given)
    regression = 10,  // compare --fail-on: an operation got slower past the threshold
};

// A user error (bad input, missing target, no permission, ...): one line and
// its exit code.
class FatalError : public std::runtime_error {
public:
    FatalError(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code)
    {}
    ExitCode code() const noexcept { return code_; }

private:
    ExitCode code_;
};

// A failure that is not the user's (a bug, or the system out of a resource):
// main reports it as an internal error, exit code 1.
class InternalError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace lstrace
