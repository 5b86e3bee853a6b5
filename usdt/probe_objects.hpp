// Where a process's langswarm probes live: its executable and the shared
// libraries it maps (a LangSwarm framework library may carry the probes
// while the executable has none).
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"

namespace lstrace::usdt {

// The distinct files mapped into `pid` (from /proc/PID/maps), in map order.
Result<std::vector<std::string>> mapped_files(int pid);

// The shared libraries `executable` will load, resolved the way its dynamic
// loader resolves them (the loader's --list mode, as ldd does: the program
// itself does not run).  Empty for a static executable.
Result<std::vector<std::string>> needed_libraries(const std::string& executable);

}  // namespace lstrace::usdt
