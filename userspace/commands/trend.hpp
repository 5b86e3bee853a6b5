// `lstrace-bpf trend T1.jsonl T2.jsonl ... | DIR [--json]`.
#pragma once

#include "config/cli.hpp"

namespace lstrace {

int run_trend(const TrendOptions& options);

}  // namespace lstrace
