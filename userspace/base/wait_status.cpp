#include "base/wait_status.hpp"

#include <sys/wait.h>

#include <cstring>

namespace lstrace {

std::string describe_wait_status(int status)
{
    if (WIFEXITED(status))
        return "exit status " + std::to_string(WEXITSTATUS(status));
    const int signal = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(signal);
    std::string text =
        "killed by signal " + (abbrev ? "SIG" + std::string(abbrev) : std::to_string(signal));
    if (WCOREDUMP(status))
        text += " (core dumped)";
    return text;
}

}  // namespace lstrace
