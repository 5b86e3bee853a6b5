// `lstrace-bpf summary TRACE.jsonl`: the per-operation table (TraceSummary).
#include "commands/summary.hpp"

#include <cstdio>
#include <string>

#include "analysis/trace_reader.hpp"
#include "analysis/trace_summary.hpp"
#include "base/errors.hpp"
#include "base/terminal_text.hpp"

namespace lstrace {

int run_summary(const std::string& path)
{
    TraceSummary summary;
    read_trace_file(
        path, [&summary](const TraceLine& line) { summary.add(line.json); }, ExitCode::no_target);
    std::fputs(terminal_text(summary.table()).c_str(), stdout);
    std::printf("%llu spans, %zu operations\n", static_cast<unsigned long long>(summary.records()),
                summary.operations().size());
    if (!summary.events().empty()) {
        std::string line;
        for (const auto& [type, n] : summary.events())
            line += (line.empty() ? "" : ", ") + std::to_string(n) + " " + type;
        std::printf("events: %s\n", printable(line).c_str());
    }
    return 0;
}

}  // namespace lstrace
