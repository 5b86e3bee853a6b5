// `lstrace-bpf summary TRACE.jsonl`.
#pragma once

#include <string>

namespace lstrace {

int run_summary(const std::string& path);

}  // namespace lstrace
