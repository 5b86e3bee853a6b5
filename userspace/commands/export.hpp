// `lstrace-bpf export`.
#pragma once

#include "config/cli.hpp"

namespace lstrace {

int run_export(const ExportOptions& options);

}  // namespace lstrace
