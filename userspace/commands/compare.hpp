// `lstrace-bpf compare BASE.jsonl NEW.jsonl [--json] [--fail-on PCT]`.
#pragma once

#include "config/cli.hpp"

namespace lstrace {

// 0, or ExitCode::regression (10) when --fail-on finds an operation slower
// than the threshold.
int run_compare(const CompareOptions& options);

}  // namespace lstrace
