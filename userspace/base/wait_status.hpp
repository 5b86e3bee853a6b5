// A wait(2) status in words, one spelling for every message and record.
#pragma once

#include <string>

namespace lstrace {

// "exit status 3", "killed by signal SIGSEGV (core dumped)".
std::string describe_wait_status(int status);

}  // namespace lstrace
