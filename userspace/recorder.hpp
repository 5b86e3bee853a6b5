// `lstrace-bpf record`: attach, stream records to the trace file, stop,
// flush, summarize.
#pragma once

#include "cli.hpp"

namespace lstrace {

// Returns the process exit code; throws FatalError for user errors.
int run_record(const RecordOptions& options);

}  // namespace lstrace
