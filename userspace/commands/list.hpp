// `lstrace-bpf list`: the USDT probes of a binary or a process.
#pragma once

#include "config/cli.hpp"

namespace lstrace {

int run_list(const ListOptions& options);

}  // namespace lstrace
