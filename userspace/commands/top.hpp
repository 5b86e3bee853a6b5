// `lstrace-bpf top`.
#pragma once

#include "config/cli.hpp"

namespace lstrace {

// Records the processes and refreshes the view every interval (root).
int run_top(const TopOptions& options);

}  // namespace lstrace
