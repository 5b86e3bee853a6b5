// `lstrace-bpf analyze TRACE.jsonl [--json] [--component NAME]`.
#pragma once

#include "config/cli.hpp"

namespace lstrace {

int run_analyze(const AnalyzeOptions& options);

}  // namespace lstrace
