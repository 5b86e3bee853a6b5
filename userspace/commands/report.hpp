// `lstrace-bpf report`.
#pragma once

#include "config/cli.hpp"

namespace lstrace {

int run_report(const ReportOptions& options);

}  // namespace lstrace
